// Package transcodetest holds test helpers shared by the transcode and decode
// tests: a small, strict msgpack reader, a comparison against encoding/json,
// and a deterministic synthetic CloudTrail corpus.
//
// It is deliberately independent of the transcoder: the reader is written
// from the msgpack spec so that a bug in the writer cannot cancel out.
package transcodetest

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/msgpack"
)

// KV is one map entry, in wire order.
type KV struct {
	Key string
	Val any
}

// Map is a decoded msgpack map, in wire order.
type Map []KV

// Get returns the value of key, and whether it is present.
func (m Map) Get(key string) (any, bool) {
	for _, kv := range m {
		if kv.Key == key {
			return kv.Val, true
		}
	}
	return nil, false
}

// Ext is a decoded msgpack extension value.
type Ext struct {
	Type int8
	Data []byte
}

// Entry is a decoded Fluent Bit entry [EventTime, body].
type Entry struct {
	Time time.Time
	Body Map
}

// Decode decodes one msgpack value from b and returns it with the rest of b.
// Integers come back as int64, or uint64 above math.MaxInt64; floats as
// float64; maps as Map; arrays as []any; extensions as Ext. Strings must be
// valid UTF-8 and map keys must be strings and unique, since Fluent Bit and
// every consumer downstream assume so; containers may not nest deeper than
// FluentBitMaxDepth, which Fluent Bit refuses.
func Decode(b []byte) (any, []byte, error) {
	return decode(b, 0)
}

// DecodeEntries decodes a buffer of concatenated Fluent Bit entries.
func DecodeEntries(b []byte) ([]Entry, error) {
	var out []Entry
	for len(b) > 0 {
		v, rest, err := Decode(b)
		if err != nil {
			return out, fmt.Errorf("entry %d: %w", len(out), err)
		}
		b = rest
		arr, ok := v.([]any)
		if !ok || len(arr) != 2 {
			return out, fmt.Errorf("entry %d: not a 2-element array: %T", len(out), v)
		}
		ext, ok := arr[0].(Ext)
		if !ok || ext.Type != 0 || len(ext.Data) != 8 {
			return out, fmt.Errorf("entry %d: timestamp is not EventTime: %#v", len(out), arr[0])
		}
		body, ok := arr[1].(Map)
		if !ok {
			return out, fmt.Errorf("entry %d: body is not a map: %T", len(out), arr[1])
		}
		ts := time.Unix(int64(binary.BigEndian.Uint32(ext.Data)), int64(binary.BigEndian.Uint32(ext.Data[4:])))
		out = append(out, Entry{Time: ts, Body: body})
	}
	return out, nil
}

var errShort = errors.New("msgpack: truncated")

func need(b []byte, n int) error {
	if len(b) < n {
		return errShort
	}
	return nil
}

func decode(b []byte, depth int) (any, []byte, error) {
	if depth > 10000 {
		return nil, nil, errors.New("msgpack: too deep")
	}
	if err := need(b, 1); err != nil {
		return nil, nil, err
	}
	c := b[0]
	b = b[1:]
	var n int
	switch {
	case c <= 0x7f:
		return int64(c), b, nil
	case c >= 0xe0:
		return int64(int8(c)), b, nil
	case c&0xf0 == 0x80:
		return decodeMap(b, int(c&0x0f), depth)
	case c&0xf0 == 0x90:
		return decodeArray(b, int(c&0x0f), depth)
	case c&0xe0 == 0xa0:
		return decodeStr(b, int(c&0x1f))
	}
	switch c {
	case 0xc0:
		return nil, b, nil
	case 0xc2:
		return false, b, nil
	case 0xc3:
		return true, b, nil
	case 0xcc, 0xcd, 0xce, 0xcf:
		n = 1 << (c - 0xcc)
		if err := need(b, n); err != nil {
			return nil, nil, err
		}
		var u uint64
		for _, x := range b[:n] {
			u = u<<8 | uint64(x)
		}
		if u > math.MaxInt64 {
			return u, b[n:], nil
		}
		return int64(u), b[n:], nil
	case 0xd0, 0xd1, 0xd2, 0xd3:
		n = 1 << (c - 0xd0)
		if err := need(b, n); err != nil {
			return nil, nil, err
		}
		var u uint64
		for _, x := range b[:n] {
			u = u<<8 | uint64(x)
		}
		shift := 64 - 8*n
		return int64(u<<shift) >> shift, b[n:], nil
	case 0xca:
		if err := need(b, 4); err != nil {
			return nil, nil, err
		}
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), b[4:], nil
	case 0xcb:
		if err := need(b, 8); err != nil {
			return nil, nil, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), b[8:], nil
	case 0xd9, 0xda, 0xdb:
		n, b, err := length(b, 1<<(c-0xd9))
		if err != nil {
			return nil, nil, err
		}
		return decodeStr(b, n)
	case 0xdc, 0xdd:
		n, b, err := length(b, 2<<(c-0xdc))
		if err != nil {
			return nil, nil, err
		}
		return decodeArray(b, n, depth)
	case 0xde, 0xdf:
		n, b, err := length(b, 2<<(c-0xde))
		if err != nil {
			return nil, nil, err
		}
		return decodeMap(b, n, depth)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		n = 1 << (c - 0xd4)
		if err := need(b, 1+n); err != nil {
			return nil, nil, err
		}
		return Ext{Type: int8(b[0]), Data: b[1 : 1+n]}, b[1+n:], nil
	}
	return nil, nil, fmt.Errorf("msgpack: unsupported type byte 0x%02x", c)
}

func length(b []byte, size int) (int, []byte, error) {
	if err := need(b, size); err != nil {
		return 0, nil, err
	}
	var n int
	for _, x := range b[:size] {
		n = n<<8 | int(x)
	}
	return n, b[size:], nil
}

func decodeStr(b []byte, n int) (any, []byte, error) {
	if err := need(b, n); err != nil {
		return nil, nil, err
	}
	if !utf8.Valid(b[:n]) {
		return nil, nil, fmt.Errorf("msgpack: invalid UTF-8 in string %q", b[:n])
	}
	return string(b[:n]), b[n:], nil
}

// FluentBitMaxDepth is the deepest container level Fluent Bit's msgpack-c
// unpacker accepts (MSGPACK_EMBED_STACK_SIZE): the value Decode starts at is
// level 1. Decode enforces it, so that every test that decodes an entry
// checks that Fluent Bit can read it.
const FluentBitMaxDepth = 32

func errDeep() error {
	return fmt.Errorf("msgpack: nesting deeper than %d containers (Fluent Bit's msgpack-c limit)", FluentBitMaxDepth)
}

func decodeArray(b []byte, n int, depth int) (any, []byte, error) {
	if depth >= FluentBitMaxDepth {
		return nil, nil, errDeep()
	}
	if n > len(b) {
		return nil, nil, errShort
	}
	arr := make([]any, 0, n)
	for range n {
		v, rest, err := decode(b, depth+1)
		if err != nil {
			return nil, nil, err
		}
		arr = append(arr, v)
		b = rest
	}
	return arr, b, nil
}

func decodeMap(b []byte, n int, depth int) (any, []byte, error) {
	if depth >= FluentBitMaxDepth {
		return nil, nil, errDeep()
	}
	if n > len(b) {
		return nil, nil, errShort
	}
	m := make(Map, 0, n)
	seen := make(map[string]bool, n)
	for range n {
		k, rest, err := decode(b, depth+1)
		if err != nil {
			return nil, nil, err
		}
		ks, ok := k.(string)
		if !ok {
			return nil, nil, fmt.Errorf("msgpack: map key is %T, not a string", k)
		}
		if seen[ks] {
			return nil, nil, fmt.Errorf("msgpack: duplicate map key %q", ks)
		}
		seen[ks] = true
		v, rest, err := decode(rest, depth+1)
		if err != nil {
			return nil, nil, err
		}
		m = append(m, KV{ks, v})
		b = rest
	}
	return m, b, nil
}

// UnmarshalJSON decodes JSON text the way the comparison expects: numbers
// as json.Number, objects as map[string]any.
func UnmarshalJSON(b []byte) (any, error) {
	var v any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("trailing data")
	}
	// json.Decoder's Decode stops after the first value, so check the
	// tail the way json.Unmarshal would.
	if err := json.Unmarshal(b, new(any)); err != nil {
		return nil, err
	}
	return v, nil
}

// Equal compares a decoded msgpack value with the encoding/json decoding
// (UseNumber) of the same JSON and describes the first difference, or returns
// "" when they match. Integers must match exactly, as integers; every other
// number is compared as float64.
//
// mp is taken to be an entry's body, at level 2 of the entry: a JSON object
// or array that would sit deeper than msgpack.MaxDepth must be a string
// whose text encoding/json decodes to the same value.
func Equal(mp, js any) string {
	return equal(mp, js, "$", 2)
}

func equal(mp, js any, path string, level int) string {
	switch js.(type) {
	case []any, map[string]any:
		if level > msgpack.MaxDepth {
			s, ok := mp.(string)
			if !ok {
				return fmt.Sprintf("%s: got %T at level %d, want JSON text", path, mp, level)
			}
			v, err := UnmarshalJSON([]byte(s))
			if err != nil {
				return fmt.Sprintf("%s: JSON text %q: %v", path, s, err)
			}
			if !reflect.DeepEqual(v, js) {
				return fmt.Sprintf("%s: JSON text %q decodes to %#v, want %#v", path, s, v, js)
			}
			return ""
		}
	}
	switch j := js.(type) {
	case nil:
		if mp != nil {
			return fmt.Sprintf("%s: got %#v, want null", path, mp)
		}
	case bool:
		if b, ok := mp.(bool); !ok || b != j {
			return fmt.Sprintf("%s: got %#v, want %v", path, mp, j)
		}
	case string:
		if s, ok := mp.(string); !ok || s != j {
			return fmt.Sprintf("%s: got %#v, want %q", path, mp, j)
		}
	case json.Number:
		return equalNumber(mp, j, path)
	case []any:
		a, ok := mp.([]any)
		if !ok || len(a) != len(j) {
			return fmt.Sprintf("%s: got %#v, want array of %d", path, mp, len(j))
		}
		for k := range j {
			if d := equal(a[k], j[k], fmt.Sprintf("%s[%d]", path, k), level+1); d != "" {
				return d
			}
		}
	case map[string]any:
		m, ok := mp.(Map)
		if !ok || len(m) != len(j) {
			return fmt.Sprintf("%s: got %#v, want object of %d keys", path, mp, len(j))
		}
		for _, kv := range m {
			jv, ok := j[kv.Key]
			if !ok {
				return fmt.Sprintf("%s: unexpected key %q", path, kv.Key)
			}
			if d := equal(kv.Val, jv, path+"."+kv.Key, level+1); d != "" {
				return d
			}
		}
	default:
		return fmt.Sprintf("%s: unexpected JSON type %T", path, js)
	}
	return ""
}

func equalNumber(mp any, j json.Number, path string) string {
	s := string(j)
	isInt := !strings.ContainsAny(s, ".eE")
	switch v := mp.(type) {
	case int64:
		if n, err := strconv.ParseInt(s, 10, 64); isInt && err == nil && n == v {
			return ""
		}
		// -0 is an integer 0.
		if isInt && v == 0 && s == "-0" {
			return ""
		}
	case uint64:
		if n, err := strconv.ParseUint(s, 10, 64); isInt && err == nil && n == v {
			return ""
		}
	case float64:
		f, err := strconv.ParseFloat(s, 64)
		_, ierr := strconv.ParseInt(s, 10, 64)
		_, uerr := strconv.ParseUint(s, 10, 64)
		// An integer that fits 64 bits must not have become a float.
		if err == nil && (f == v || math.IsNaN(f) && math.IsNaN(v)) && !(isInt && (ierr == nil || uerr == nil)) {
			return ""
		}
	}
	return fmt.Sprintf("%s: got %#v (%T), want number %s", path, mp, mp, s)
}
