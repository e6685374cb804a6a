package msgpack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Ext is an extension value.
type Ext struct {
	Type int8
	Data []byte
}

// ErrShort is returned when the input ends inside a value.
var ErrShort = errors.New("msgpack: unexpected end of input")

// Decode reads one value from b and returns it with the bytes that follow.
// Maps become map[string]any (non-string keys are an error), arrays []any,
// integers int64 (uint64 above MaxInt64), floats float64, strings and binary
// string and []byte. It is meant for tests and tools, not the hot path.
func Decode(b []byte) (any, []byte, error) {
	return decode(b, 0)
}

func decode(b []byte, depth int) (any, []byte, error) {
	if depth > 10000 {
		return nil, nil, errors.New("msgpack: nesting too deep")
	}
	if len(b) == 0 {
		return nil, nil, ErrShort
	}
	c := b[0]
	b = b[1:]
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
	need := func(n int) error {
		if len(b) < n {
			return ErrShort
		}
		return nil
	}
	switch c {
	case 0xc0:
		return nil, b, nil
	case 0xc2:
		return false, b, nil
	case 0xc3:
		return true, b, nil
	case 0xc4, 0xc5, 0xc6:
		n, rest, err := length(b, c-0xc4)
		if err != nil {
			return nil, nil, err
		}
		if len(rest) < n {
			return nil, nil, ErrShort
		}
		return append([]byte(nil), rest[:n]...), rest[n:], nil
	case 0xc7, 0xc8, 0xc9:
		n, rest, err := length(b, c-0xc7)
		if err != nil {
			return nil, nil, err
		}
		if len(rest) < n+1 {
			return nil, nil, ErrShort
		}
		return Ext{Type: int8(rest[0]), Data: rest[1 : 1+n]}, rest[1+n:], nil
	case 0xca:
		if err := need(4); err != nil {
			return nil, nil, err
		}
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), b[4:], nil
	case 0xcb:
		if err := need(8); err != nil {
			return nil, nil, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), b[8:], nil
	case 0xcc, 0xcd, 0xce, 0xcf:
		n := 1 << (c - 0xcc)
		if err := need(n); err != nil {
			return nil, nil, err
		}
		var v uint64
		for i := 0; i < n; i++ {
			v = v<<8 | uint64(b[i])
		}
		if v > math.MaxInt64 {
			return v, b[n:], nil
		}
		return int64(v), b[n:], nil
	case 0xd0, 0xd1, 0xd2, 0xd3:
		n := 1 << (c - 0xd0)
		if err := need(n); err != nil {
			return nil, nil, err
		}
		var v uint64
		for i := 0; i < n; i++ {
			v = v<<8 | uint64(b[i])
		}
		shift := 64 - 8*n
		return int64(v<<shift) >> shift, b[n:], nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		n := 1 << (c - 0xd4)
		if err := need(n + 1); err != nil {
			return nil, nil, err
		}
		return Ext{Type: int8(b[0]), Data: b[1 : 1+n]}, b[1+n:], nil
	case 0xd9, 0xda, 0xdb:
		n, rest, err := length(b, c-0xd9)
		if err != nil {
			return nil, nil, err
		}
		return decodeStr(rest, n)
	case 0xdc, 0xdd:
		n, rest, err := length(b, c-0xdc+1)
		if err != nil {
			return nil, nil, err
		}
		return decodeArray(rest, n, depth)
	case 0xde, 0xdf:
		n, rest, err := length(b, c-0xde+1)
		if err != nil {
			return nil, nil, err
		}
		return decodeMap(rest, n, depth)
	}
	return nil, nil, fmt.Errorf("msgpack: invalid type byte 0x%02x", c)
}

// length reads a 1, 2 or 4 byte big-endian length (sz 0, 1, 2).
func length(b []byte, sz byte) (int, []byte, error) {
	n := 1 << sz
	if len(b) < n {
		return 0, nil, ErrShort
	}
	var v uint64
	for i := 0; i < n; i++ {
		v = v<<8 | uint64(b[i])
	}
	return int(v), b[n:], nil
}

func decodeStr(b []byte, n int) (any, []byte, error) {
	if len(b) < n {
		return nil, nil, ErrShort
	}
	return string(b[:n]), b[n:], nil
}

func decodeArray(b []byte, n int, depth int) (any, []byte, error) {
	if n > len(b) {
		return nil, nil, ErrShort
	}
	out := make([]any, n)
	for i := range out {
		v, rest, err := decode(b, depth+1)
		if err != nil {
			return nil, nil, err
		}
		out[i], b = v, rest
	}
	return out, b, nil
}

func decodeMap(b []byte, n int, depth int) (any, []byte, error) {
	if 2*n > len(b) {
		return nil, nil, ErrShort
	}
	out := make(map[string]any, n)
	for i := 0; i < n; i++ {
		k, rest, err := decode(b, depth+1)
		if err != nil {
			return nil, nil, err
		}
		ks, ok := k.(string)
		if !ok {
			return nil, nil, fmt.Errorf("msgpack: map key of type %T", k)
		}
		v, rest, err := decode(rest, depth+1)
		if err != nil {
			return nil, nil, err
		}
		out[ks], b = v, rest
	}
	return out, b, nil
}

// FluentBitMaxDepth is the deepest nesting Fluent Bit's decoder accepts
// (MSGPACK_EMBED_STACK_SIZE in its bundled msgpack-c).
const FluentBitMaxDepth = 32

// Entry is one decoded Fluent Bit log entry.
type Entry struct {
	Time     time.Time
	Metadata map[string]any
	Body     map[string]any
}

// DecodeEntries decodes a buffer of concatenated Fluent Bit entries with the
// rules of Fluent Bit's own decoder: each entry is a 2-element array whose
// first element is a timestamp (EventTime, a non-negative integer or a
// float) or [timestamp, metadata map], and whose second is a map, nested at
// most FluentBitMaxDepth levels. It fails on the first entry Fluent Bit would
// reject.
func DecodeEntries(b []byte) ([]Entry, error) {
	var out []Entry
	for len(b) > 0 {
		// Fluent Bit's msgpack-c unpacker holds at most 32 nested
		// containers, the entry's own array included.
		if d, _, err := Depth(b); err == nil && d > FluentBitMaxDepth {
			return out, fmt.Errorf("entry %d: nested %d levels deep, Fluent Bit accepts %d", len(out), d, FluentBitMaxDepth)
		}
		v, rest, err := Decode(b)
		if err != nil {
			return out, fmt.Errorf("entry %d: %w", len(out), err)
		}
		b = rest
		arr, ok := v.([]any)
		if !ok || len(arr) != 2 {
			return out, fmt.Errorf("entry %d: not a 2-element array", len(out))
		}
		var e Entry
		head := arr[0]
		if h, ok := head.([]any); ok {
			if len(h) != 2 {
				return out, fmt.Errorf("entry %d: header is not [ts, metadata]", len(out))
			}
			if e.Metadata, ok = h[1].(map[string]any); !ok {
				return out, fmt.Errorf("entry %d: metadata is not a map", len(out))
			}
			head = h[0]
		}
		switch t := head.(type) {
		case Ext:
			if t.Type != 0 || len(t.Data) != 8 {
				return out, fmt.Errorf("entry %d: timestamp extension type %d size %d", len(out), t.Type, len(t.Data))
			}
			e.Time = time.Unix(int64(binary.BigEndian.Uint32(t.Data)), int64(binary.BigEndian.Uint32(t.Data[4:]))).UTC()
		case int64:
			if t < 0 {
				return out, fmt.Errorf("entry %d: negative timestamp", len(out))
			}
			e.Time = time.Unix(t, 0).UTC()
		case float64:
			e.Time = time.Unix(0, int64(t*1e9)).UTC()
		default:
			return out, fmt.Errorf("entry %d: timestamp of type %T", len(out), head)
		}
		if e.Body, ok = arr[1].(map[string]any); !ok {
			return out, fmt.Errorf("entry %d: body is not a map", len(out))
		}
		out = append(out, e)
	}
	return out, nil
}
