// Package notify turns the body of one SQS message into the list of S3
// objects it announces.
//
// The queue the plugin polls can be fed in several ways, and an operator may
// change the wiring without telling the plugin, so the shape is detected per
// message rather than configured:
//
//   - S3 event notifications sent straight to SQS ({"Records":[...]}), with
//     form-encoded object keys;
//   - the same notifications published to SNS and delivered to SQS inside an
//     SNS envelope ({"Type":"Notification","Message":"<JSON text>"}), or
//     delivered raw (raw message delivery sends the inner JSON unchanged);
//   - S3 events routed through Amazon EventBridge ({"detail-type":"Object
//     Created","source":"aws.s3","detail":{...}}), whose keys are not encoded;
//   - CloudTrail's own SNS delivery notice ({"s3Bucket":..,"s3ObjectKey":[..]}),
//     whose keys are not encoded either;
//   - the s3:TestEvent S3 sends when a notification configuration is saved.
//
// Bodies come from whoever can send to the queue, so Parse treats them as
// hostile: it never panics, bounds nesting depth and the number of entries,
// validates every field's type, and quotes at most a short prefix of the body
// in its errors.
package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits applied to every message. They are far above anything AWS sends and
// exist so a hostile or corrupted body costs bounded time and memory.
const (
	// MaxObjects bounds the number of entries (S3 records, EventBridge
	// events or CloudTrail keys, whether they produce objects or are
	// ignored) in one message. CloudTrail notices can list thousands of
	// keys, but a 1 MiB SQS message cannot hold much more than 10,000.
	MaxObjects = 10000

	// MaxDepth bounds JSON nesting (objects and arrays), counted separately
	// for the SNS envelope and for the message it carries. Real shapes
	// nest at most about six levels.
	MaxDepth = 32

	// MaxBodyBytes is the largest body accepted: the SQS message size
	// limit (1 MiB since 2025; it was 256 KiB before).
	MaxBodyBytes = 1 << 20

	// maxKeyBytes and maxBucketBytes are S3's own limits (1024 bytes of
	// UTF-8 for a key; 255 characters for legacy us-east-1 bucket names).
	// A longer value cannot name a real object, so it is rejected here
	// rather than failing later as a confusing GetObject error.
	maxKeyBytes    = 1024
	maxBucketBytes = 255

	// snippetBytes is how much of a body an error may quote.
	snippetBytes = 160

	// valueBytes is how much of a single string value (an event name, a
	// type) an error or an Ignored reason may quote.
	valueBytes = 64
)

// Format names reported in Result.Format. A message wrapped in an SNS
// envelope reports the inner format prefixed with "sns+", for example
// "sns+s3" or "sns+cloudtrail".
const (
	FormatS3          = "s3"            // S3 event notification
	FormatEventBridge = "eventbridge"   // S3 event routed through EventBridge
	FormatCloudTrail  = "cloudtrail"    // CloudTrail's log delivery notice
	FormatS3TestEvent = "s3-test-event" // s3:TestEvent
	FormatSNSControl  = "sns-control"   // SNS subscription (un)confirmation
	formatSNSPrefix   = "sns+"          // prefix for SNS-wrapped messages
)

// Fixed Ignored.Reason values, and the path component that marks digests.
const (
	reasonTestEvent    = "s3:TestEvent"  // Ignored.Reason of a test event
	reasonDigest       = "digest file"   // Ignored.Reason of a CloudTrail digest
	reasonFolderMarker = "folder marker" // Ignored.Reason of a key ending in "/"
	digestMarker       = "CloudTrail-Digest"
)

// ReasonDigest is the Ignored.Reason of a CloudTrail digest file: a caller
// that checks log file integrity (package integrity) reads these instead of
// skipping them.
const ReasonDigest = reasonDigest

// ErrMalformed is matched (with errors.Is) by every error Parse returns. The
// same body always fails the same way, so a caller should not retry it; it
// belongs in a dead-letter queue.
var ErrMalformed = errors.New("malformed notification")

// ErrTooManyObjects is matched, in addition to ErrMalformed, when a message
// lists more than MaxObjects entries.
var ErrTooManyObjects = errors.New("too many objects in one notification")

// Object is one S3 object a notification names.
type Object struct {
	Bucket string
	// Key is the object key exactly as S3 stores it (already decoded when
	// the notification form-encodes it).
	Key string
	// Size is the object size in bytes, or 0 if the notification does not
	// say (CloudTrail notices never do).
	Size int64
	// ETag and VersionID are empty when the notification does not carry
	// them. ETag is as given, usually without quotes.
	ETag      string
	VersionID string
}

// Ignored is an entry of a message that was consumed without producing an
// object. It is reported so that skipping work is visible in logs and
// metrics rather than silent.
type Ignored struct {
	// Reason says why, for example "s3:TestEvent", "digest file",
	// "folder marker" or "event ObjectRemoved:Delete".
	Reason string
	// Bucket and Key name the entry when the message says; both may be
	// empty (a test event has no key).
	Bucket, Key string
}

// Result is what one message announces.
type Result struct {
	// Objects are the objects to download, in message order. Duplicates
	// are kept: the caller decides how to deduplicate.
	Objects []Object
	// Ignored are entries consumed without producing objects.
	Ignored []Ignored
	// Format names the detected shape, for logs and metrics only; see the
	// Format constants.
	Format string
}

// Parse parses the body of one SQS message. It returns the objects to fetch
// and the entries it skipped on purpose, or an error matching ErrMalformed
// when the body is not a notification it understands. The message is
// all-or-nothing: one malformed entry fails the whole message, because a
// partial result would be acknowledged with the bad part silently lost.
func Parse(body []byte) (Result, error) {
	res, err := parse(body)
	if err != nil {
		return Result{}, fmt.Errorf("notify: %w (%d-byte body %s)", err, len(body), snippet(body))
	}
	return res, nil
}

func parse(body []byte) (Result, error) {
	if len(body) > MaxBodyBytes {
		return Result{}, malformedf("body is larger than %d bytes", MaxBodyBytes)
	}
	top, err := decodeObject(body, "body")
	if err != nil {
		return Result{}, err
	}

	// SNS envelope: unwrap once, then detect the carried shape. SNS cannot
	// publish to SNS, so a second envelope inside is rejected.
	if isSNSEnvelope(top) {
		typ, _, err := getString(top, "Type", "SNS envelope")
		if err != nil {
			return Result{}, err
		}
		switch typ {
		case "Notification":
		case "SubscriptionConfirmation", "UnsubscribeConfirmation":
			// These land in the queue when a subscription is set up or
			// torn down; they name no object and must not poison the
			// queue.
			return Result{
				Format:  FormatSNSControl,
				Ignored: []Ignored{{Reason: "SNS " + typ}},
			}, nil
		default:
			return Result{}, malformedf("SNS envelope: unknown Type %q", clip(typ))
		}
		msg, ok, err := getString(top, "Message", "SNS envelope")
		if err != nil {
			return Result{}, err
		}
		if !ok {
			return Result{}, malformedf("SNS envelope: missing Message")
		}
		inner, err := decodeObject([]byte(msg), "SNS Message")
		if err != nil {
			return Result{}, err
		}
		if isSNSEnvelope(inner) {
			return Result{}, malformedf("SNS Message: nested SNS envelope")
		}
		res, err := parseInner(inner, "SNS Message")
		if err != nil {
			return Result{}, err
		}
		res.Format = formatSNSPrefix + res.Format
		return res, nil
	}
	return parseInner(top, "body")
}

// isSNSEnvelope reports whether m looks like an SNS HTTP/SQS envelope. Both
// fields are required so that an unrelated object with a "Type" field is
// not mistaken for one.
func isSNSEnvelope(m map[string]json.RawMessage) bool {
	_, hasType := m["Type"]
	_, hasTopic := m["TopicArn"]
	_, hasMessage := m["Message"]
	return hasType && (hasTopic || hasMessage)
}

// parseInner detects and parses one unwrapped message. Detection is by the
// presence of each shape's distinguishing top-level field, checked in an
// order where no two shapes can both match.
func parseInner(m map[string]json.RawMessage, where string) (Result, error) {
	if _, ok := m["Records"]; ok {
		return parseS3(m, where)
	}
	if _, ok := m["detail-type"]; ok {
		return parseEventBridge(m, where)
	}
	if _, ok := m["s3ObjectKey"]; ok {
		return parseCloudTrail(m, where)
	}
	if _, ok := m["Event"]; ok {
		return parseTestEvent(m, where)
	}
	return Result{}, malformedf("%s: unknown shape (fields %s)", where, fieldList(m))
}

// parseS3 handles {"Records":[...]} S3 event notifications. Keys are
// application/x-www-form-urlencoded ("red flower.jpg" arrives as
// "red+flower.jpg", '+' as %2B); real S3 leaves '/' alone while kumo, the
// local emulator, encodes it as %2F, and url.QueryUnescape handles both.
func parseS3(m map[string]json.RawMessage, where string) (Result, error) {
	records, err := getArray(m, "Records", where)
	if err != nil {
		return Result{}, err
	}
	if len(records) == 0 {
		return Result{}, malformedf("%s: Records is empty", where)
	}
	if len(records) > MaxObjects {
		return Result{}, tooMany(len(records))
	}
	res := Result{Format: FormatS3}
	for i, raw := range records {
		path := fmt.Sprintf("%s.Records[%d]", where, i)
		rec, err := asObject(raw, path)
		if err != nil {
			return Result{}, err
		}
		name, ok, err := getString(rec, "eventName", path)
		if err != nil {
			return Result{}, err
		}
		if !ok || name == "" {
			return Result{}, malformedf("%s: missing eventName", path)
		}
		s3, err := getObject(rec, "s3", path)
		if err != nil {
			return Result{}, err
		}
		path += ".s3"
		bucketObj, err := getObject(s3, "bucket", path)
		if err != nil {
			return Result{}, err
		}
		objectObj, err := getObject(s3, "object", path)
		if err != nil {
			return Result{}, err
		}
		bucket, _, err := getString(bucketObj, "name", path+".bucket")
		if err != nil {
			return Result{}, err
		}
		opath := path + ".object"
		rawKey, _, err := getString(objectObj, "key", opath)
		if err != nil {
			return Result{}, err
		}

		// The test for creation is a substring match because real S3
		// says "ObjectCreated:Put" and kumo says "s3:ObjectCreated:Put".
		if !strings.Contains(name, "ObjectCreated:") {
			// Report what was skipped, but do not fail the message over
			// the key of an event we would not act on anyway.
			key, kerr := url.QueryUnescape(rawKey)
			if kerr != nil {
				key = rawKey
			}
			res.Ignored = append(res.Ignored, Ignored{Reason: "event " + clip(name), Bucket: bucket, Key: key})
			continue
		}

		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return Result{}, malformedf("%s.key: not form-encoded: %v", opath, err)
		}
		size, err := getSize(objectObj, "size", opath)
		if err != nil {
			return Result{}, err
		}
		etag, _, err := getString(objectObj, "eTag", opath)
		if err != nil {
			return Result{}, err
		}
		version, _, err := getString(objectObj, "versionId", opath)
		if err != nil {
			return Result{}, err
		}
		obj := Object{Bucket: bucket, Key: key, Size: size, ETag: etag, VersionID: version}
		if err := res.add(obj, opath); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// parseEventBridge handles an S3 event delivered by an EventBridge rule
// whose target is the queue (or an SNS topic feeding it). Unlike S3 event
// notifications, EventBridge events carry the key verbatim: AWS documents
// URL encoding only for the SQS/SNS/Lambda notification structure, the
// EventBridge event structure and its samples show plain keys, and emulators
// (moto, kumo) encode only the former. Decoding here would corrupt keys that
// contain '+' or '%'.
func parseEventBridge(m map[string]json.RawMessage, where string) (Result, error) {
	detailType, _, err := getString(m, "detail-type", where)
	if err != nil {
		return Result{}, err
	}
	source, _, err := getString(m, "source", where)
	if err != nil {
		return Result{}, err
	}
	if source != "aws.s3" {
		return Result{}, malformedf("%s: EventBridge event from source %q, want \"aws.s3\"", where, clip(source))
	}
	detail, err := getObject(m, "detail", where)
	if err != nil {
		return Result{}, err
	}
	path := where + ".detail"
	bucketObj, err := getObject(detail, "bucket", path)
	if err != nil {
		return Result{}, err
	}
	objectObj, err := getObject(detail, "object", path)
	if err != nil {
		return Result{}, err
	}
	bucket, _, err := getString(bucketObj, "name", path+".bucket")
	if err != nil {
		return Result{}, err
	}
	opath := path + ".object"
	key, _, err := getString(objectObj, "key", opath)
	if err != nil {
		return Result{}, err
	}
	res := Result{Format: FormatEventBridge}
	if detailType != "Object Created" {
		res.Ignored = append(res.Ignored, Ignored{Reason: "event " + clip(detailType), Bucket: bucket, Key: key})
		return res, nil
	}
	size, err := getSize(objectObj, "size", opath)
	if err != nil {
		return Result{}, err
	}
	etag, _, err := getString(objectObj, "etag", opath)
	if err != nil {
		return Result{}, err
	}
	version, _, err := getString(objectObj, "version-id", opath)
	if err != nil {
		return Result{}, err
	}
	obj := Object{Bucket: bucket, Key: key, Size: size, ETag: etag, VersionID: version}
	if err := res.add(obj, opath); err != nil {
		return Result{}, err
	}
	return res, nil
}

// parseCloudTrail handles the notice CloudTrail publishes to its SNS topic
// after delivering log files: {"s3Bucket":"b","s3ObjectKey":["k1",...]}.
// The keys are plain (CloudTrail writes them itself and never encodes them).
func parseCloudTrail(m map[string]json.RawMessage, where string) (Result, error) {
	bucket, _, err := getString(m, "s3Bucket", where)
	if err != nil {
		return Result{}, err
	}
	keys, err := getArray(m, "s3ObjectKey", where)
	if err != nil {
		return Result{}, err
	}
	if len(keys) == 0 {
		return Result{}, malformedf("%s: s3ObjectKey is empty", where)
	}
	if len(keys) > MaxObjects {
		return Result{}, tooMany(len(keys))
	}
	res := Result{Format: FormatCloudTrail}
	for i, raw := range keys {
		path := fmt.Sprintf("%s.s3ObjectKey[%d]", where, i)
		var key string
		if err := json.Unmarshal(raw, &key); err != nil {
			return Result{}, malformedf("%s: want a string, got %s", path, jsonKind(raw))
		}
		if err := res.add(Object{Bucket: bucket, Key: key}, path); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// parseTestEvent handles the s3:TestEvent S3 sends to a destination when a
// notification configuration is created or changed. It names no object;
// acknowledging it is the right outcome.
func parseTestEvent(m map[string]json.RawMessage, where string) (Result, error) {
	event, _, err := getString(m, "Event", where)
	if err != nil {
		return Result{}, err
	}
	if event != reasonTestEvent {
		return Result{}, malformedf("%s: unknown Event %q", where, clip(event))
	}
	bucket, _, err := getString(m, "Bucket", where)
	if err != nil {
		return Result{}, err
	}
	return Result{
		Format:  FormatS3TestEvent,
		Ignored: []Ignored{{Reason: reasonTestEvent, Bucket: bucket}},
	}, nil
}

// add validates obj and appends it to r.Objects, or to r.Ignored when it is
// a CloudTrail digest file or a folder marker. Digest files are JSON
// signatures for log validation, not event logs, and are skipped before any
// download; folder markers are zero-byte placeholders some tools create.
func (r *Result) add(obj Object, path string) error {
	switch {
	case obj.Bucket == "":
		return malformedf("%s: missing bucket name", path)
	case len(obj.Bucket) > maxBucketBytes:
		return malformedf("%s: bucket name longer than %d bytes", path, maxBucketBytes)
	case obj.Key == "":
		return malformedf("%s: missing key", path)
	case len(obj.Key) > maxKeyBytes:
		return malformedf("%s: key longer than %d bytes", path, maxKeyBytes)
	case !utf8.ValidString(obj.Key):
		// S3 keys are UTF-8; invalid bytes come from a bad %XX escape.
		return malformedf("%s: key is not valid UTF-8", path)
	}
	switch {
	case strings.Contains(obj.Key, digestMarker):
		r.Ignored = append(r.Ignored, Ignored{Reason: reasonDigest, Bucket: obj.Bucket, Key: obj.Key})
	case strings.HasSuffix(obj.Key, "/"):
		r.Ignored = append(r.Ignored, Ignored{Reason: reasonFolderMarker, Bucket: obj.Bucket, Key: obj.Key})
	default:
		r.Objects = append(r.Objects, obj)
	}
	return nil
}

// decodeObject checks b's nesting depth and decodes it as a JSON object into
// its raw fields. Decoding into a map (rather than a struct) keeps field
// names exact: encoding/json matches struct fields case-insensitively, which
// would let "records" or "MESSAGE" pass for the real thing.
func decodeObject(b []byte, what string) (map[string]json.RawMessage, error) {
	if err := checkDepth(b, MaxDepth); err != nil {
		return nil, malformedf("%s: %v", what, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, malformedf("%s: want a JSON object, got %s", what, te.Value)
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, malformedf("%s: invalid JSON at byte %d: %v", what, se.Offset, err)
		}
		return nil, malformedf("%s: invalid JSON: %v", what, err)
	}
	if m == nil { // the literal null
		return nil, malformedf("%s: want a JSON object, got null", what)
	}
	return m, nil
}

// checkDepth rejects JSON whose objects and arrays nest deeper than max. It
// runs before decoding so that deep input never reaches the decoder's
// recursion. It only tracks strings and brackets; syntax is left to the
// decoder.
func checkDepth(b []byte, max int) error {
	depth := 0
	inString, escaped := false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return fmt.Errorf("nested deeper than %d levels", max)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// asObject decodes raw as a JSON object; path names it in errors.
func asObject(raw json.RawMessage, path string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, malformedf("%s: want an object, got %s", path, jsonKind(raw))
	}
	return m, nil
}

// getObject returns the object-valued field name of m; it is required.
func getObject(m map[string]json.RawMessage, name, path string) (map[string]json.RawMessage, error) {
	raw, ok := m[name]
	if !ok {
		return nil, malformedf("%s: missing %s", path, name)
	}
	return asObject(raw, path+"."+name)
}

// getArray returns the array-valued field name of m; it is required.
func getArray(m map[string]json.RawMessage, name, path string) ([]json.RawMessage, error) {
	raw, ok := m[name]
	if !ok {
		return nil, malformedf("%s: missing %s", path, name)
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil || a == nil {
		return nil, malformedf("%s.%s: want an array, got %s", path, name, jsonKind(raw))
	}
	return a, nil
}

// getString returns the string field name of m and whether it was present.
// An absent field or null yields "", false; any other non-string is an
// error, so a shape with the right names but wrong types is caught here
// rather than producing an empty key downstream.
func getString(m map[string]json.RawMessage, name, path string) (string, bool, error) {
	raw, ok := m[name]
	if !ok || isNull(raw) {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, malformedf("%s.%s: want a string, got %s", path, name, jsonKind(raw))
	}
	return s, true, nil
}

// getSize returns the optional non-negative integer field name of m, 0 when
// absent or null.
func getSize(m map[string]json.RawMessage, name, path string) (int64, error) {
	raw, ok := m[name]
	if !ok || isNull(raw) {
		return 0, nil
	}
	if jsonKind(raw) != "number" {
		return 0, malformedf("%s.%s: want a number, got %s", path, name, jsonKind(raw))
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < 0 {
		return 0, malformedf("%s.%s: want a non-negative integer, got %s", path, name, clip(string(raw)))
	}
	return n, nil
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// jsonKind names the JSON type of raw (which the decoder has already
// validated and trimmed) for error messages, without quoting its value.
func jsonKind(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// fieldList lists up to eight of m's field names, for the unknown-shape
// error: the names are usually enough to tell what was sent.
func fieldList(m map[string]json.RawMessage) string {
	const max = 8
	if len(m) == 0 {
		return "none"
	}
	// Sorted so the error text does not depend on map iteration order.
	all := slices.Sorted(maps.Keys(m))
	names := make([]string, 0, max+1)
	for _, k := range all[:min(len(all), max)] {
		names = append(names, strconv.Quote(clip(k)))
	}
	if len(all) > max {
		names = append(names, "...")
	}
	return strings.Join(names, ", ")
}

// clip shortens s to at most valueBytes bytes on a rune boundary, so that a
// hostile value cannot flood a log line or a metric label.
func clip(s string) string {
	if len(s) <= valueBytes {
		return s
	}
	cut := valueBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// snippet quotes the start of body for an error message.
func snippet(body []byte) string {
	if len(body) <= snippetBytes {
		return strconv.Quote(string(body))
	}
	cut := snippetBytes
	for cut > 0 && !utf8.RuneStart(body[cut]) {
		cut--
	}
	return strconv.Quote(string(body[:cut])) + "..."
}

// malformedError is the error behind every Parse failure. Its text is just
// the detail; errors.Is matches it to ErrMalformed (and to also, if set)
// so callers can classify it without parsing text.
type malformedError struct {
	msg  string
	also error
}

func (e *malformedError) Error() string { return e.msg }

func (e *malformedError) Is(target error) bool {
	return target == ErrMalformed || e.also != nil && target == e.also
}

func tooMany(n int) error {
	return &malformedError{
		msg:  fmt.Sprintf("%d entries, more than MaxObjects (%d)", n, MaxObjects),
		also: ErrTooManyObjects,
	}
}

func malformedf(format string, args ...any) error {
	return &malformedError{msg: fmt.Sprintf(format, args...)}
}
