// Package transcode turns JSON text straight into MessagePack, without
// building Go values in between, and provides Raw, the record.Encoder for
// the "raw" schema.
//
// The transcoder is a single pass over the input. Maps and arrays are written
// with a 5-byte placeholder header that is patched when the container closes,
// so nothing has to be counted ahead of time. Strings without escapes (nearly
// all strings in CloudTrail) are copied with one bytes.IndexByte and a
// word-at-a-time check; the slow path only runs when a backslash, a control
// character or a non-ASCII byte is present.
//
// Semantics follow encoding/json decoding into map[string]any, so that the
// msgpack value equals what a Go program would have seen:
//
//   - Invalid UTF-8 in strings is replaced by U+FFFD, byte by byte, and so is
//     an unpaired UTF-16 surrogate in a \u escape. The output is always valid
//     UTF-8.
//   - Duplicate keys in an object: only the LAST occurrence is kept, at its
//     own position (encoding/json into a map keeps the last value, too).
//   - Integers that fit int64 or uint64 become msgpack integers (so they stay
//     exact, unlike encoding/json's float64); -0 becomes the integer 0. Any
//     other number (fraction, exponent, or an integer too large for 64 bits)
//     becomes a float64 from strconv.ParseFloat. A number beyond the float64
//     range, such as 1e400, is an error, as it is for encoding/json.
//   - Nesting deeper than MaxDepth (default 512) is an error, so a nesting
//     bomb cannot exhaust the stack.
//
// One rule departs from encoding/json to keep entries readable by Fluent
// Bit, whose msgpack decoder refuses anything nested more than 32 containers
// deep (and then drops the rest of the buffer with it): an object or array
// that would sit deeper in the entry than msgpack.MaxDepth (24; the entry
// array is level 1 and the event object level 2, so this is any container at
// event depth 24 or more) is written as a msgpack string holding its compact
// JSON text instead of as a map or array. Strings without escapes are copied
// as they are; others are quoted again (escapes decoded, then `"`, `\` and
// control characters escaped; invalid UTF-8 becomes U+FFFD), numbers keep
// their text, and duplicate keys stay. Decoding the text with encoding/json
// gives the value the event had. It is still parsed and checked like the
// rest of the event, MaxDepth included. Real CloudTrail events nest about 11
// levels at most, so the fast path never meets this.
package transcode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/msgpack"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

// DefaultMaxDepth is the nesting limit used when Raw.MaxDepth is 0. It counts
// objects and arrays, the event object itself being depth 1.
const DefaultMaxDepth = 512

// textDepth is the deepest event depth (the event object being depth 1, at
// msgpack level 2) written as a msgpack map or array; a container deeper
// than it is written as its JSON text, see the package documentation.
const textDepth = msgpack.MaxDepth - 1

// compactMax is the largest container body, in bytes, whose placeholder
// header is shrunk to the minimal msgpack header. Shrinking means moving the
// body, so bounding it keeps the total work linear in the input size even
// for pathological nesting; a bigger container keeps its (valid) 5-byte
// map32/array32 header, 4 bytes of overhead on at least 128.
const compactMax = 128

// SyntaxError reports invalid JSON, or JSON the transcoder refuses (too deep,
// number out of range). Offset is the byte offset in the event text.
type SyntaxError struct {
	Offset int
	Msg    string
	// truncated is set when the input ended before the object did.
	truncated bool
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %s", e.Offset, e.Msg)
}

// Unwrap returns io.ErrUnexpectedEOF when the input ended too early, so
// callers can tell truncation from corruption with errors.Is.
func (e *SyntaxError) Unwrap() error {
	if e.truncated {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// errShort is returned internally when the input ends before the value does.
// It carries no position so that the streaming caller (AppendPrefix), which
// hits it once per window refill, does not allocate.
var errShort = io.ErrUnexpectedEOF

func synErr(off int, format string, args ...any) error {
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// Raw is the record.Encoder for schema "raw": the event's own fields,
// unchanged and in their original order, plus a final record.SourceKey map.
//
// The zero value is ready to use. A Raw keeps scratch buffers between calls
// and is not safe for concurrent use.
type Raw struct {
	// MaxDepth limits object/array nesting; 0 means DefaultMaxDepth.
	MaxDepth int

	maxDepth int
	ents     []entry  // keys of the objects currently open, innermost last
	fps      []uint64 // scratch for duplicate detection in big objects
	tmp      []byte   // scratch for unescaping strings
	budget   int      // bytes that may still be moved to drop duplicate keys
	seen     map[string]struct{}

	// Where the text of the current event's top-level eventID string is
	// in the output (idLen -1: none).
	idOff, idLen int

	// eventTime as found at the top level of the current event.
	tsValid bool
	tsSec   int64
	tsNsec  int64
}

// entry is one key of an open object. off is where its msgpack key starts in
// the output; key bytes are dst[koff:koff+klen].
type entry struct {
	off, koff, klen int
	fp              uint64
}

var _ record.Encoder = (*Raw)(nil)

// Append implements record.Encoder. event must hold exactly one JSON object,
// optionally surrounded by whitespace.
func (r *Raw) Append(dst []byte, event []byte, src *record.Source) ([]byte, error) {
	out, n, err := r.AppendPrefix(dst, event, src)
	if err != nil {
		if err == errShort {
			return dst, &SyntaxError{Offset: len(event), Msg: "unexpected end of JSON input", truncated: true}
		}
		return dst, err
	}
	if i := skipWS(event, n); i < len(event) {
		return dst, synErr(i, "invalid character %q after top-level object", event[i])
	}
	return out, nil
}

// AppendPrefix is Append for a buffer that starts with an event object and
// may continue with more input: it appends the entry and returns how many
// bytes of buf the object (and any whitespace before it) used. If buf ends
// before the object does, it returns io.ErrUnexpectedEOF itself (unwrapped,
// without allocating), so a streaming caller can read more and retry.
// On any error dst is returned with its original length.
func (r *Raw) AppendPrefix(dst []byte, buf []byte, src *record.Source) ([]byte, int, error) {
	if src == nil {
		src = &record.Source{}
	}
	r.maxDepth = r.MaxDepth
	if r.maxDepth <= 0 {
		r.maxDepth = DefaultMaxDepth
	}
	// Dropping duplicate keys moves bytes; a budget proportional to the
	// input keeps a crafted event with duplicates at every level from
	// costing depth × size.
	r.budget = 16*len(buf) + 64<<10
	r.tsValid = false
	r.idLen = -1
	r.ents = r.ents[:0]

	i := skipWS(buf, 0)
	if i >= len(buf) {
		return dst, 0, errShort
	}
	if buf[i] != '{' {
		return dst, 0, synErr(i, "event is not a JSON object (starts with %q)", buf[i])
	}
	start := len(dst)
	// [EventTime, body]: fixarray of 2, then a fixext8 whose payload is
	// patched once eventTime has been seen.
	dst = append(dst, 0x92, 0xd7, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	out, i, err := r.object(dst, buf, i, 1, src)
	if err != nil {
		return dst[:start], 0, err
	}
	var tb [10]byte
	var ts []byte
	if r.tsValid {
		ts = msgpack.AppendEventTime(tb[:0], time.Unix(r.tsSec, r.tsNsec))
	} else {
		ts = msgpack.AppendEventTime(tb[:0], src.Received)
	}
	copy(out[start+1:start+11], ts)
	return out, i, nil
}

func skipWS(s []byte, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\n', '\r', '\t':
			i++
		default:
			return i
		}
	}
	return i
}

// object transcodes the object starting at s[i] == '{'. src is non-nil only
// for the event's top-level object, which gets the eventTime handling and
// the SourceKey map.
func (r *Raw) object(dst, s []byte, i, depth int, src *record.Source) ([]byte, int, error) {
	if depth > r.maxDepth {
		return dst, i, synErr(i, "nesting depth exceeds %d", r.maxDepth)
	}
	i = skipWS(s, i+1)
	hdr := len(dst)
	dst = append(dst, 0xdf, 0, 0, 0, 0)
	base := len(r.ents)
	if i >= len(s) {
		return dst, i, errShort
	}
	var err error
	if s[i] == '}' {
		i++
	} else {
		for {
			if s[i] != '"' {
				return dst, i, synErr(i, "invalid character %q looking for beginning of object key string", s[i])
			}
			off := len(dst)
			dst, i, err = r.str(dst, s, i)
			if err != nil {
				return dst, i, err
			}
			koff, klen := strBody(dst, off)
			r.ents = append(r.ents, entry{off: off, koff: koff, klen: klen, fp: fingerprint(dst[koff : koff+klen])})
			i = skipWS(s, i)
			if i >= len(s) {
				return dst, i, errShort
			}
			if s[i] != ':' {
				return dst, i, synErr(i, "invalid character %q after object key", s[i])
			}
			i = skipWS(s, i+1)
			if i >= len(s) {
				return dst, i, errShort
			}
			voff := len(dst)
			dst, i, err = r.value(dst, s, i, depth)
			if err != nil {
				return dst, i, err
			}
			if src != nil {
				if klen == len("eventTime") && string(dst[koff:koff+klen]) == "eventTime" {
					r.setTime(dst[voff:])
				} else if klen == len("eventID") && string(dst[koff:koff+klen]) == "eventID" {
					r.setID(dst, voff)
				}
			}
			i = skipWS(s, i)
			if i >= len(s) {
				return dst, i, errShort
			}
			if s[i] == ',' {
				i = skipWS(s, i+1)
				if i >= len(s) {
					return dst, i, errShort
				}
				continue
			}
			if s[i] == '}' {
				i++
				break
			}
			return dst, i, synErr(i, "invalid character %q after object key:value pair", s[i])
		}
	}
	if src != nil {
		// The source map goes through the same duplicate handling as
		// every other key, so an event that carries its own SourceKey
		// cannot produce a map with the key twice: ours, being last, wins.
		off := len(dst)
		dst = msgpack.AppendString(dst, record.SourceKey)
		r.ents = append(r.ents, entry{off: off, koff: off + 1, klen: len(record.SourceKey), fp: sourceKeyFP})
		var id []byte
		if r.idLen >= 0 {
			id = dst[r.idOff : r.idOff+r.idLen]
		}
		dst = AppendSource(dst, src, id, !r.tsValid)
	}
	n := len(r.ents) - base
	if n > 1 {
		dst, n, err = r.dedup(dst, base)
		if err != nil {
			return dst, i, err
		}
	}
	r.ents = r.ents[:base]
	return finish(dst, hdr, n, 0x80, 0xdf), i, nil
}

// AppendSource appends the value of the record.SourceKey map; eventID is
// the text of the event's top-level eventID string (nil when it has none)
// and may point into dst. It is exported so that the benchmark of
// json-iterator (cloudtrail/bench) writes exactly the entries Raw writes.
func AppendSource(dst []byte, src *record.Source, eventID []byte, invalid bool) []byte {
	n := 5
	if invalid {
		n = 6
	}
	dst = msgpack.AppendMapHeader(dst, n)
	dst = msgpack.AppendString(dst, "bucket")
	dst = msgpack.AppendString(dst, src.Bucket)
	dst = msgpack.AppendString(dst, "key")
	dst = msgpack.AppendString(dst, src.Key)
	dst = msgpack.AppendString(dst, "sqs_message_id")
	dst = msgpack.AppendString(dst, src.MessageID)
	dst = msgpack.AppendString(dst, "queue_url")
	dst = msgpack.AppendString(dst, src.QueueURL)
	dst = msgpack.AppendString(dst, record.IDKey)
	if record.UsableEventID(eventID) {
		dst = msgpack.AppendStringBytes(dst, eventID)
	} else {
		dst = msgpack.AppendStringHeader(dst, record.DerivedIDLen)
		dst = record.AppendDerivedID(dst, src)
	}
	if invalid {
		dst = msgpack.AppendString(dst, "event_time_invalid")
		dst = msgpack.AppendBool(dst, true)
	}
	return dst
}

// setID records where the value of a top-level eventID, written at dst[off],
// holds its text, or that it is not a string. A later eventID overrides an
// earlier one, matching the last-key-wins rule.
func (r *Raw) setID(dst []byte, off int) {
	r.idLen = -1
	if off < len(dst) && isStrHeader(dst[off]) {
		r.idOff, r.idLen = strBody(dst, off)
	}
}

// setTime records the value of a top-level eventTime. A later eventTime
// overrides an earlier one, matching the last-key-wins rule.
func (r *Raw) setTime(v []byte) {
	r.tsValid = false
	if len(v) == 0 || !isStrHeader(v[0]) {
		return
	}
	koff, klen := strBody(v, 0)
	sec, nsec, ok := parseRFC3339(v[koff : koff+klen])
	if ok {
		r.tsValid, r.tsSec, r.tsNsec = true, sec, nsec
	}
}

func (r *Raw) array(dst, s []byte, i, depth int) ([]byte, int, error) {
	if depth > r.maxDepth {
		return dst, i, synErr(i, "nesting depth exceeds %d", r.maxDepth)
	}
	i = skipWS(s, i+1)
	hdr := len(dst)
	dst = append(dst, 0xdd, 0, 0, 0, 0)
	if i >= len(s) {
		return dst, i, errShort
	}
	n := 0
	var err error
	if s[i] == ']' {
		i++
	} else {
		for {
			dst, i, err = r.value(dst, s, i, depth)
			if err != nil {
				return dst, i, err
			}
			n++
			i = skipWS(s, i)
			if i >= len(s) {
				return dst, i, errShort
			}
			if s[i] == ',' {
				i = skipWS(s, i+1)
				if i >= len(s) {
					return dst, i, errShort
				}
				continue
			}
			if s[i] == ']' {
				i++
				break
			}
			return dst, i, synErr(i, "invalid character %q after array element", s[i])
		}
	}
	return finish(dst, hdr, n, 0x90, 0xdd), i, nil
}

// finish patches the placeholder header at hdr with the count n, shrinking it
// to a fixmap/fixarray (fix is 0x80 or 0x90) when the body is small.
func finish(dst []byte, hdr, n int, fix, h32 byte) []byte {
	body := len(dst) - hdr - 5
	if n < 16 && body <= compactMax {
		copy(dst[hdr+1:], dst[hdr+5:])
		dst[hdr] = fix | byte(n)
		return dst[:len(dst)-4]
	}
	dst[hdr] = h32
	binary.BigEndian.PutUint32(dst[hdr+1:], uint32(n))
	return dst
}

// value transcodes any JSON value at s[i]; i is not at whitespace or the end.
func (r *Raw) value(dst, s []byte, i, depth int) ([]byte, int, error) {
	switch c := s[i]; c {
	case '"':
		return r.str(dst, s, i)
	case '{':
		if depth >= textDepth {
			return r.text(dst, s, i, depth+1)
		}
		return r.object(dst, s, i, depth+1, nil)
	case '[':
		if depth >= textDepth {
			return r.text(dst, s, i, depth+1)
		}
		return r.array(dst, s, i, depth+1)
	case 't':
		i, err := literal(s, i, "true")
		return msgpack.AppendBool(dst, true), i, err
	case 'f':
		i, err := literal(s, i, "false")
		return msgpack.AppendBool(dst, false), i, err
	case 'n':
		i, err := literal(s, i, "null")
		return msgpack.AppendNil(dst), i, err
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return number(dst, s, i)
		}
		return dst, i, synErr(i, "invalid character %q looking for beginning of value", c)
	}
}

func literal(s []byte, i int, lit string) (int, error) {
	if len(s)-i >= len(lit) {
		if string(s[i:i+len(lit)]) == lit {
			return i + len(lit), nil
		}
	} else if string(s[i:]) == lit[:len(s)-i] {
		return i, errShort
	}
	return i, synErr(i, "invalid literal, expected %q", lit)
}

// number transcodes a JSON number at s[i]. The grammar is checked byte by
// byte because strconv accepts more than JSON does (hex, underscores, "inf").
func number(dst, s []byte, i int) ([]byte, int, error) {
	start := i
	neg := s[i] == '-'
	if neg {
		i++
		if i >= len(s) {
			return dst, i, errShort
		}
	}
	var v uint64
	digits := 0
	switch c := s[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			v = v*10 + uint64(s[i]-'0')
			digits++
			i++
		}
	default:
		return dst, i, synErr(i, "invalid character %q in numeric literal", c)
	}
	isInt := true
	if i < len(s) && s[i] == '.' {
		isInt = false
		i++
		if i >= len(s) {
			return dst, i, errShort
		}
		if s[i] < '0' || s[i] > '9' {
			return dst, i, synErr(i, "invalid character %q after decimal point in numeric literal", s[i])
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		isInt = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) {
			return dst, i, errShort
		}
		if s[i] < '0' || s[i] > '9' {
			return dst, i, synErr(i, "invalid character %q in exponent of numeric literal", s[i])
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	// 19 decimal digits always fit a uint64; longer ones may not, and
	// strconv decides.
	if isInt && digits <= 19 {
		if !neg {
			return msgpack.AppendUint(dst, v), i, nil
		}
		if v <= 1<<63 {
			return msgpack.AppendInt(dst, int64(-v)), i, nil
		}
	} else if isInt {
		if neg {
			if n, err := strconv.ParseInt(string(s[start:i]), 10, 64); err == nil {
				return msgpack.AppendInt(dst, n), i, nil
			}
		} else if n, err := strconv.ParseUint(string(s[start:i]), 10, 64); err == nil {
			return msgpack.AppendUint(dst, n), i, nil
		}
	}
	f, err := strconv.ParseFloat(string(s[start:i]), 64)
	if err != nil {
		return dst, i, synErr(start, "number %s out of float64 range", s[start:i])
	}
	return msgpack.AppendFloat(dst, f), i, nil
}

// str transcodes the string starting at s[i] == '"'.
func (r *Raw) str(dst, s []byte, i int) ([]byte, int, error) {
	i++
	j := bytes.IndexByte(s[i:], '"')
	if j < 0 {
		// The closing quote may be in the part of the stream not read
		// yet; the slow path tells truncation from invalid input.
		return r.strSlow(dst, s, i)
	}
	if span := s[i : i+j]; isPlain(span) {
		dst = msgpack.AppendStringHeader(dst, len(span))
		return append(dst, span...), i + j + 1, nil
	}
	return r.strSlow(dst, s, i)
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// isPlain reports whether b can be copied verbatim: no backslash, no control
// character, valid UTF-8. It tests eight bytes at a time: (w - n*lsb) & ^w
// has a byte's top bit set iff some byte of w is below n (n <= 0x80).
func isPlain(b []byte) bool {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		bs := w ^ ('\\' * lsb)
		if ((w-0x20*lsb)&^w|(bs-lsb)&^bs|w)&msb != 0 {
			break
		}
	}
	high := false
	for ; i < len(b); i++ {
		c := b[i]
		if c < 0x20 || c == '\\' {
			return false
		}
		if c >= utf8.RuneSelf {
			high = true
		}
	}
	return !high || utf8.Valid(b)
}

// strSlow unescapes and validates a string whose body starts at s[i].
func (r *Raw) strSlow(dst, s []byte, i int) ([]byte, int, error) {
	i, err := r.unescape(s, i)
	if err != nil {
		return dst, i, err
	}
	return msgpack.AppendStringBytes(dst, r.tmp), i, nil
}

// unescape decodes the string whose body starts at s[i] into r.tmp and
// returns the offset after its closing quote.
func (r *Raw) unescape(s []byte, i int) (int, error) {
	t := r.tmp[:0]
	for {
		// Copy the run of bytes that need no attention in one go.
		j := i
		for j < len(s) {
			c := s[j]
			if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
				break
			}
			j++
		}
		t = append(t, s[i:j]...)
		i = j
		if i >= len(s) {
			r.tmp = t
			return i, errShort
		}
		switch c := s[i]; {
		case c == '"':
			r.tmp = t
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(s) {
				r.tmp = t
				return i, errShort
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				t = append(t, e)
				i += 2
			case 'b':
				t = append(t, '\b')
				i += 2
			case 'f':
				t = append(t, '\f')
				i += 2
			case 'n':
				t = append(t, '\n')
				i += 2
			case 'r':
				t = append(t, '\r')
				i += 2
			case 't':
				t = append(t, '\t')
				i += 2
			case 'u':
				rr, err := hex4(s, i+2)
				if err != nil {
					r.tmp = t
					return i, err
				}
				i += 6
				if utf16.IsSurrogate(rr) {
					// A high surrogate must be followed by an escaped
					// low one; otherwise it stands for U+FFFD and the
					// next escape is decoded on its own.
					if i+1 >= len(s) {
						r.tmp = t
						return i, errShort
					}
					rr2 := rune(-1)
					if s[i] == '\\' && s[i+1] == 'u' {
						if rr2, err = hex4(s, i+2); err == errShort {
							r.tmp = t
							return i, err
						}
					}
					if d := utf16.DecodeRune(rr, rr2); d != utf8.RuneError {
						rr = d
						i += 6
					} else {
						rr = utf8.RuneError
					}
				}
				t = utf8.AppendRune(t, rr)
			default:
				r.tmp = t
				return i, synErr(i, "invalid escape character %q in string literal", e)
			}
		case c < 0x20:
			r.tmp = t
			return i, synErr(i, "invalid control character %q in string literal", c)
		default:
			rr, size := utf8.DecodeRune(s[i:])
			if rr == utf8.RuneError && size == 1 {
				if !utf8.FullRune(s[i:]) {
					// The string is unterminated in s: either the
					// rest is still to come, or the input is cut.
					r.tmp = t
					return i, errShort
				}
				t = utf8.AppendRune(t, utf8.RuneError)
			} else {
				t = append(t, s[i:i+size]...)
			}
			i += size
		}
	}
}

// hex4 decodes the four hex digits of a \u escape at s[i:i+4].
func hex4(s []byte, i int) (rune, error) {
	var v rune
	for k := i; k < i+4; k++ {
		if k >= len(s) {
			return 0, errShort
		}
		c := s[k]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, synErr(k, "invalid character %q in \\u hexadecimal character escape", s[k])
		}
		v = v<<4 | rune(c)
	}
	return v, nil
}

// isStrHeader reports whether b starts a msgpack string.
func isStrHeader(b byte) bool {
	return b&0xe0 == 0xa0 || b == 0xd9 || b == 0xda || b == 0xdb
}

// strBody returns the offset and length of the bytes of the msgpack string
// whose header is at b[off].
func strBody(b []byte, off int) (int, int) {
	switch h := b[off]; h {
	case 0xd9:
		return off + 2, int(b[off+1])
	case 0xda:
		return off + 3, int(binary.BigEndian.Uint16(b[off+1:]))
	case 0xdb:
		return off + 5, int(binary.BigEndian.Uint32(b[off+1:]))
	default:
		return off + 1, int(h & 0x1f)
	}
}

// fingerprint is a cheap stand-in for a key in duplicate detection: equal
// keys always have equal fingerprints, and keys that share length, first and
// last eight bytes are compared byte by byte anyway. Keys shorter than eight
// bytes are packed whole, so they never collide.
func fingerprint(k []byte) uint64 {
	n := len(k)
	if n < 8 {
		var v uint64
		for _, c := range k {
			v = v<<8 | uint64(c)
		}
		return v | uint64(n)<<56
	}
	a := binary.LittleEndian.Uint64(k)
	b := binary.LittleEndian.Uint64(k[n-8:])
	return a ^ bits.RotateLeft64(b, 31) ^ uint64(n)*0x9e3779b97f4a7c15
}

var sourceKeyFP = fingerprint([]byte(record.SourceKey))

// dedup drops every entry of the object whose keys are r.ents[base:] that has
// a later entry with the same key, and returns the remaining count.
func (r *Raw) dedup(dst []byte, base int) ([]byte, int, error) {
	ents := r.ents[base:]
	n := len(ents)
	dup := false
	if n <= 32 {
	quick:
		for a := 1; a < n; a++ {
			fa := ents[a].fp
			for b := 0; b < a; b++ {
				if ents[b].fp == fa {
					dup = true
					break quick
				}
			}
		}
	} else {
		fps := r.fps[:0]
		for _, e := range ents {
			fps = append(fps, e.fp)
		}
		slices.Sort(fps)
		for k := 1; k < len(fps); k++ {
			if fps[k] == fps[k-1] {
				dup = true
				break
			}
		}
		r.fps = fps
	}
	if !dup {
		return dst, n, nil
	}

	// Rare: walk from the last entry back, remembering keys, so the last
	// occurrence of each key is the one kept. A map keeps this linear even
	// for crafted fingerprint collisions.
	if r.seen == nil {
		r.seen = make(map[string]struct{})
	}
	clear(r.seen)
	keep := make([]bool, n)
	for k := n - 1; k >= 0; k-- {
		key := dst[ents[k].koff : ents[k].koff+ents[k].klen]
		if _, ok := r.seen[string(key)]; !ok {
			r.seen[string(key)] = struct{}{}
			keep[k] = true
		}
	}
	end := len(dst)
	w := ents[0].off
	kept := 0
	for k := 0; k < n; k++ {
		eEnd := end
		if k+1 < n {
			eEnd = ents[k+1].off
		}
		if !keep[k] {
			continue
		}
		if w != ents[k].off {
			m := copy(dst[w:], dst[ents[k].off:eEnd])
			r.budget -= m
			if r.budget < 0 {
				return dst, n, synErr(0, "too many duplicate object keys")
			}
		}
		w += eEnd - ents[k].off
		kept++
	}
	return dst[:w], kept, nil
}

// text writes the object or array at s[i] as a msgpack string holding its
// compact JSON text; depth is the depth the container has in the event.
// The string header is a str32 placeholder, shrunk once the length is known:
// this happens once per too-deep value, never for values inside it, so the
// cost stays linear in the input.
func (r *Raw) text(dst, s []byte, i, depth int) ([]byte, int, error) {
	hdr := len(dst)
	dst = append(dst, 0xdb, 0, 0, 0, 0)
	dst, i, err := r.textValue(dst, s, i, depth)
	if err != nil {
		return dst, i, err
	}
	n := len(dst) - hdr - 5
	if uint64(n) > math.MaxUint32 {
		return dst, i, synErr(i, "value too large")
	}
	var hb [5]byte
	h := msgpack.AppendStringHeader(hb[:0], n)
	if len(h) < 5 {
		copy(dst[hdr+len(h):], dst[hdr+5:])
		dst = dst[:len(dst)-(5-len(h))]
	}
	copy(dst[hdr:], h)
	return dst, i, nil
}

// textValue appends the compact JSON text of the value at s[i] (not at
// whitespace or the end), validating it exactly as value does; depth is the
// depth a container at s[i] has in the event.
func (r *Raw) textValue(dst, s []byte, i, depth int) ([]byte, int, error) {
	var err error
	switch c := s[i]; c {
	case '"':
		return r.textStr(dst, s, i)
	case '{':
		if depth > r.maxDepth {
			return dst, i, synErr(i, "nesting depth exceeds %d", r.maxDepth)
		}
		dst = append(dst, '{')
		i = skipWS(s, i+1)
		if i >= len(s) {
			return dst, i, errShort
		}
		if s[i] == '}' {
			return append(dst, '}'), i + 1, nil
		}
		for {
			if s[i] != '"' {
				return dst, i, synErr(i, "invalid character %q looking for beginning of object key string", s[i])
			}
			if dst, i, err = r.textStr(dst, s, i); err != nil {
				return dst, i, err
			}
			i = skipWS(s, i)
			if i >= len(s) {
				return dst, i, errShort
			}
			if s[i] != ':' {
				return dst, i, synErr(i, "invalid character %q after object key", s[i])
			}
			dst = append(dst, ':')
			i = skipWS(s, i+1)
			if i >= len(s) {
				return dst, i, errShort
			}
			if dst, i, err = r.textValue(dst, s, i, depth+1); err != nil {
				return dst, i, err
			}
			i = skipWS(s, i)
			if i >= len(s) {
				return dst, i, errShort
			}
			switch s[i] {
			case ',':
				dst = append(dst, ',')
				i = skipWS(s, i+1)
				if i >= len(s) {
					return dst, i, errShort
				}
			case '}':
				return append(dst, '}'), i + 1, nil
			default:
				return dst, i, synErr(i, "invalid character %q after object key:value pair", s[i])
			}
		}
	case '[':
		if depth > r.maxDepth {
			return dst, i, synErr(i, "nesting depth exceeds %d", r.maxDepth)
		}
		dst = append(dst, '[')
		i = skipWS(s, i+1)
		if i >= len(s) {
			return dst, i, errShort
		}
		if s[i] == ']' {
			return append(dst, ']'), i + 1, nil
		}
		for {
			if dst, i, err = r.textValue(dst, s, i, depth+1); err != nil {
				return dst, i, err
			}
			i = skipWS(s, i)
			if i >= len(s) {
				return dst, i, errShort
			}
			switch s[i] {
			case ',':
				dst = append(dst, ',')
				i = skipWS(s, i+1)
				if i >= len(s) {
					return dst, i, errShort
				}
			case ']':
				return append(dst, ']'), i + 1, nil
			default:
				return dst, i, synErr(i, "invalid character %q after array element", s[i])
			}
		}
	case 't', 'f', 'n':
		lit := "null"
		if c == 't' {
			lit = "true"
		} else if c == 'f' {
			lit = "false"
		}
		j, err := literal(s, i, lit)
		if err != nil {
			return dst, j, err
		}
		return append(dst, lit...), j, nil
	default:
		if c == '-' || c >= '0' && c <= '9' {
			// number validates the literal and rejects what is out of
			// float64 range, as elsewhere; its msgpack bytes are
			// replaced by the literal's text.
			mark := len(dst)
			out, j, err := number(dst, s, i)
			if err != nil {
				return dst, j, err
			}
			return append(out[:mark], s[i:j]...), j, nil
		}
		return dst, i, synErr(i, "invalid character %q looking for beginning of value", c)
	}
}

// textStr appends the string at s[i] == '"' as JSON text: verbatim when it
// has no escapes, no control characters and valid UTF-8, else decoded and
// quoted again.
func (r *Raw) textStr(dst, s []byte, i int) ([]byte, int, error) {
	if j := bytes.IndexByte(s[i+1:], '"'); j >= 0 && isPlain(s[i+1:i+1+j]) {
		return append(dst, s[i:i+j+2]...), i + j + 2, nil
	}
	i, err := r.unescape(s, i+1)
	if err != nil {
		return dst, i, err
	}
	return appendQuoted(dst, r.tmp), i, nil
}

// appendQuoted appends the valid UTF-8 text t as a JSON string literal.
func appendQuoted(dst, t []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for k := 0; k < len(t); {
		j := k
		for j < len(t) && t[j] >= 0x20 && t[j] != '"' && t[j] != '\\' {
			j++
		}
		dst = append(dst, t[k:j]...)
		if j == len(t) {
			break
		}
		switch c := t[j]; c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
		k = j + 1
	}
	return append(dst, '"')
}
