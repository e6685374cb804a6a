// Package common holds what the OCSF and ECS encoders share: entry framing,
// the source-metadata map, time and IP parsing.
package common

import (
	"bytes"
	"net/netip"
	"time"
	"unsafe"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/msgpack"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/mpw"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

// BytesString views b as a string without copying. The result must not
// outlive b or be retained; it is used for map lookups and parsers only.
func BytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// BeginEntry appends the Fluent Bit entry header [EventTime, and leaves the
// body map to the caller.
func BeginEntry(b []byte, ts time.Time) []byte {
	b = msgpack.AppendArrayHeader(b, 2)
	return msgpack.AppendEventTime(b, ts)
}

// WriteSource writes the record.SourceKey map into the open map of w;
// eventID is the text of the event's eventID string (nil when it has none),
// from which the record id (record.ID) is made.
func WriteSource(w *mpw.Writer, src *record.Source, eventID []byte, timeInvalid bool) {
	w.OpenMap(record.SourceKey)
	var s record.Source
	if src != nil {
		s = *src
	}
	w.StrS("bucket", s.Bucket)
	w.StrS("key", s.Key)
	w.StrS("sqs_message_id", s.MessageID)
	w.StrS("queue_url", s.QueueURL)
	var idb [record.DerivedIDLen]byte
	w.Str(record.IDKey, record.ID(eventID, &s, &idb))
	if timeInvalid {
		w.Bool("event_time_invalid", true)
	}
	w.CloseKeep()
}

// EventTime returns the record time: eventTime when it parses, else the
// time the object was received (ok false).
func EventTime(s []byte, present bool, src *record.Source) (time.Time, bool) {
	if present {
		if t, ok := ParseTime(s); ok {
			return t, true
		}
	}
	if src != nil && !src.Received.IsZero() {
		return src.Received.UTC(), false
	}
	return time.Unix(0, 0).UTC(), false
}

func digits(s []byte, n int) (int, bool) {
	if len(s) < n {
		return 0, false
	}
	v := 0
	for _, c := range s[:n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// ParseTime parses the time formats found in CloudTrail: RFC 3339 with an
// optional fraction (eventTime is always "2006-01-02T15:04:05Z"), and the
// ISO 8601 basic format "20060102T150405Z" that old sessionContext
// creationDate values use. The fast path avoids time.Parse, which is the
// single most expensive call per event otherwise.
func ParseTime(s []byte) (time.Time, bool) {
	if len(s) == 16 && s[8] == 'T' && s[15] == 'Z' {
		y, ok1 := digits(s, 4)
		mo, ok2 := digits(s[4:], 2)
		d, ok3 := digits(s[6:], 2)
		h, ok4 := digits(s[9:], 2)
		mi, ok5 := digits(s[11:], 2)
		sec, ok6 := digits(s[13:], 2)
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && validDate(mo, d, h, mi, sec) {
			return time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC), true
		}
		return time.Time{}, false
	}
	if len(s) >= 19 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == 't' || s[10] == ' ') &&
		s[13] == ':' && s[16] == ':' {
		rest := s[19:]
		// Zone: "Z", or none at all (Panther's "2006-01-02 15:04:05.999"
		// rendering), both UTC; numeric offsets go to the slow path.
		if n := len(rest); n > 0 && (rest[n-1] == 'Z' || rest[n-1] == 'z') {
			rest = rest[:n-1]
		} else if n > 0 && (rest[0] != '.' || bytes.ContainsAny(rest, "+-:")) {
			return slowParse(s)
		}
		y, ok1 := digits(s, 4)
		mo, ok2 := digits(s[5:], 2)
		d, ok3 := digits(s[8:], 2)
		h, ok4 := digits(s[11:], 2)
		mi, ok5 := digits(s[14:], 2)
		sec, ok6 := digits(s[17:], 2)
		ns := 0
		if len(rest) > 0 {
			if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
				return slowParse(s)
			}
			f, ok := digits(rest[1:], len(rest)-1)
			if !ok {
				return slowParse(s)
			}
			ns = f
			for i := len(rest) - 1; i < 9; i++ {
				ns *= 10
			}
		}
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && validDate(mo, d, h, mi, sec) {
			return time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC), true
		}
		return time.Time{}, false
	}
	return slowParse(s)
}

func validDate(mo, d, h, mi, sec int) bool {
	return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && sec <= 60
}

func slowParse(s []byte) (time.Time, bool) {
	if len(s) < 20 || len(s) > 40 || s[4] != '-' {
		return time.Time{}, false // cannot be RFC 3339; skip the error value
	}
	t, err := time.Parse(time.RFC3339Nano, BytesString(s))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// AppendMillisUTC appends t as "2006-01-02T15:04:05.000Z", the form both
// Security Lake (time_dt) and Elasticsearch (@timestamp) write.
func AppendMillisUTC(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	}
	ms := t.Nanosecond() / 1e6
	return append(b,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+s/10), byte('0'+s%10), '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// UnixMillis is t in milliseconds since the epoch, OCSF's timestamp_t.
func UnixMillis(t time.Time) int64 { return t.UnixMilli() }

// IsIP reports whether s is an IPv4 or IPv6 literal. It is strict: IPv4
// octets with leading zeros (seen in anonymized data sets) are not IPs,
// because consumers that store addresses (Elasticsearch's ip type, Athena)
// reject or misread them.
func IsIP(s []byte) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	colon := false
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9', c == '.':
		case c == ':':
			colon = true
		case (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'):
			colon = colon || false
		default:
			return false // host names, "AWS Internal"
		}
	}
	if !colon {
		return isIPv4(s)
	}
	_, err := netip.ParseAddr(BytesString(s))
	return err == nil
}

// isIPv4 checks dotted-quad syntax without building error values, which
// netip does for every invalid input.
func isIPv4(s []byte) bool {
	fields, val, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || val > 255 {
				return false
			}
			fields++
			val, digits = 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || (digits == 1 && val == 0) {
			return false // not a digit, or a leading zero
		}
		val = val*10 + int(c-'0')
		digits++
		if digits > 3 {
			return false
		}
	}
	return fields == 4
}

// LooksNumericAddress reports whether s consists only of the characters of
// an IP literal (digits, '.', ':', hex letters are excluded for IPv4-looking
// text). Such text that is not a valid IP is a broken address, not a host
// name.
func LooksNumericAddress(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && c != '.' && c != ':' {
			return false
		}
	}
	return true
}

// IsHostname reports whether s looks like a DNS host name (letters, digits,
// '-', '.', at least one dot). "AWS Internal" is not one.
func IsHostname(s []byte) bool {
	dot := false
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == '.':
			dot = true
		default:
			return false
		}
	}
	return dot
}
