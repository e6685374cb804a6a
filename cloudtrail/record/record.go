// Package record defines what every output schema shares: where an event came
// from, the record's id, and the interface that turns one CloudTrail event
// into one Fluent Bit entry.
package record

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// SourceKey is the top-level key, in every schema, of the map that says where
// a record came from. CloudTrail's own field names are lowerCamelCase without
// underscores, so a key starting with an underscore can never collide.
const SourceKey = "_cloudtrail"

// IDKey is the key, inside the SourceKey map, of the record's id: a
// deterministic id usable as the document id of a search engine, so that an
// event delivered twice (SQS redelivery, a replay) overwrites its first copy
// instead of being stored twice. In Fluent Bit's es and opensearch outputs it
// is Id_Key $_cloudtrail['id'].
const IDKey = "id"

// IDAccessor is IDKey written as a Fluent Bit record accessor.
const IDAccessor = "$" + SourceKey + "['" + IDKey + "']"

// MaxEventIDLen is the longest eventID used as the record id; a longer one is
// replaced by a derived id, as Elasticsearch and OpenSearch refuse a document
// _id longer than 512 bytes.
const MaxEventIDLen = 512

// DerivedIDLen is the length of a derived id: 32 lowercase hex digits, the
// first 128 bits of a SHA-256.
const DerivedIDLen = 32

// Source says where an event came from. It is written under SourceKey as
// {"bucket", "key", "sqs_message_id", "queue_url", "id"}, and the encoder
// adds "event_time_invalid": true when eventTime did not parse.
type Source struct {
	QueueURL  string
	MessageID string
	Bucket    string
	Key       string
	// ETag is the object's ETag as S3 GetObject returns it (with its
	// double quotes; a value without them gives the same ids). It goes
	// into the id of events that have no eventID, so a rewritten object
	// does not reuse the ids of the old one.
	ETag string
	// Index is the 0-based position of the event in the object, counting
	// every event in the order it is read. The decoder sets it before
	// each event; it goes into the id of events that have no eventID.
	Index int
	// Received is when the object was fetched; it becomes the record time of
	// an event whose eventTime does not parse.
	Received time.Time
}

// UsableEventID reports whether the eventID text id can be the record id
// as it is: 1 to MaxEventIDLen bytes of printable ASCII other than space,
// '"' and '\\'. Fluent Bit's es and opensearch outputs refuse to write '"',
// '\\' and control characters into a bulk action line, and keeping to
// ASCII makes every schema see the same text whatever the JSON escapes.
// CloudTrail's eventIDs are UUIDs, so this is only false for crafted or
// broken events.
func UsableEventID(id []byte) bool {
	if len(id) == 0 || len(id) > MaxEventIDLen {
		return false
	}
	// Eight bytes at a time (this runs for every event): a byte of w is
	// below n iff (w - n*lsb) &^ w has its top bit set, and equal to c
	// iff w^(c*lsb) has a zero byte.
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(id); i += 8 {
		w := binary.LittleEndian.Uint64(id[i:])
		q, b, d := w^('"'*lsb), w^('\\'*lsb), w^(0x7f*lsb)
		if ((w-0x21*lsb)&^w|(q-lsb)&^q|(b-lsb)&^b|(d-lsb)&^d|w)&msb != 0 {
			return false
		}
	}
	for ; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// ID returns the record id of an event whose eventID text is eventID (nil
// when the event has none, or it is not a string): eventID itself when it is
// UsableEventID, else the derived id (AppendDerivedID), written into buf.
func ID(eventID []byte, src *Source, buf *[DerivedIDLen]byte) []byte {
	if UsableEventID(eventID) {
		return eventID
	}
	return AppendDerivedID(buf[:0], src)
}

// AppendDerivedID appends the id of an event that has no usable eventID:
// the first 128 bits, as 32 lowercase hex digits, of
//
//	SHA-256(len(bucket) bucket len(key) key len(etag) etag index)
//
// where etag is src.ETag without surrounding double quotes, each len is the
// byte length as an 8-byte big-endian integer, and index is src.Index, an
// 8-byte big-endian integer. The same event of the same object gets the
// same id on every read, on every replica.
func AppendDerivedID(dst []byte, src *Source) []byte {
	etag := src.ETag
	if len(etag) >= 2 && etag[0] == '"' && etag[len(etag)-1] == '"' {
		etag = etag[1 : len(etag)-1]
	}
	var stack [512]byte
	b := stack[:0]
	b = appendField(b, src.Bucket)
	b = appendField(b, src.Key)
	b = appendField(b, etag)
	b = binary.BigEndian.AppendUint64(b, uint64(src.Index))
	sum := sha256.Sum256(b)
	const hex = "0123456789abcdef"
	for _, c := range sum[:DerivedIDLen/2] {
		dst = append(dst, hex[c>>4], hex[c&15])
	}
	return dst
}

func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// Encoder turns CloudTrail events into Fluent Bit entries.
//
// Append appends exactly one complete entry, the msgpack array
// [EventTime, {body}], for the CloudTrail event whose JSON object text is
// event, and returns the extended buffer. On error dst is returned with its
// original length, so a failed event never leaves half an entry behind (one
// malformed entry makes Fluent Bit drop the rest of the buffer).
//
// An Encoder is not safe for concurrent use; each worker owns one.
type Encoder interface {
	Append(dst []byte, event []byte, src *Source) ([]byte, error)
}
