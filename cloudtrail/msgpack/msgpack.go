// Package msgpack appends MessagePack values to byte slices.
//
// It covers exactly what Fluent Bit entries need: maps, arrays, strings,
// integers, floats, booleans, nil and the EventTime extension. Functions
// follow the strconv.Append* convention so callers can reuse one buffer and
// allocate nothing in steady state.
package msgpack

import (
	"math"
	"time"
)

// AppendNil appends nil.
func AppendNil(b []byte) []byte { return append(b, 0xc0) }

// AppendBool appends a boolean.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xc3)
	}
	return append(b, 0xc2)
}

// AppendMapHeader appends the header of a map with n key/value pairs.
func AppendMapHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xde, byte(n>>8), byte(n))
	default:
		return append(b, 0xdf, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// AppendArrayHeader appends the header of an array with n elements.
func AppendArrayHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xdc, byte(n>>8), byte(n))
	default:
		return append(b, 0xdd, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// AppendStringHeader appends the header of a string of n bytes; the caller
// appends the bytes themselves.
func AppendStringHeader(b []byte, n int) []byte {
	switch {
	case n < 32:
		return append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		return append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xda, byte(n>>8), byte(n))
	default:
		return append(b, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// AppendString appends a string.
func AppendString(b []byte, s string) []byte {
	return append(AppendStringHeader(b, len(s)), s...)
}

// AppendStringBytes appends a string given as bytes.
func AppendStringBytes(b []byte, s []byte) []byte {
	return append(AppendStringHeader(b, len(s)), s...)
}

// AppendInt appends a signed integer in its shortest encoding.
func AppendInt(b []byte, v int64) []byte {
	if v >= 0 {
		return AppendUint(b, uint64(v))
	}
	switch {
	case v >= -32:
		return append(b, byte(v))
	case v >= math.MinInt8:
		return append(b, 0xd0, byte(v))
	case v >= math.MinInt16:
		return append(b, 0xd1, byte(v>>8), byte(v))
	case v >= math.MinInt32:
		return append(b, 0xd2, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	default:
		return append(b, 0xd3, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
			byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
}

// AppendUint appends an unsigned integer in its shortest encoding.
func AppendUint(b []byte, v uint64) []byte {
	switch {
	case v < 128:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return append(b, 0xcd, byte(v>>8), byte(v))
	case v <= math.MaxUint32:
		return append(b, 0xce, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	default:
		return append(b, 0xcf, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
			byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
}

// AppendFloat appends a float64.
func AppendFloat(b []byte, f float64) []byte {
	v := math.Float64bits(f)
	return append(b, 0xcb, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
		byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// AppendEventTime appends Fluent Bit's EventTime: extension type 0 with
// 8 bytes, big-endian uint32 seconds then uint32 nanoseconds. Times before
// the Unix epoch are clamped to it because Fluent Bit rejects them.
func AppendEventTime(b []byte, t time.Time) []byte {
	sec, nsec := t.Unix(), t.Nanosecond()
	if sec < 0 {
		sec, nsec = 0, 0
	}
	if sec > math.MaxUint32 {
		sec = math.MaxUint32
	}
	return append(b, 0xd7, 0x00,
		byte(sec>>24), byte(sec>>16), byte(sec>>8), byte(sec),
		byte(nsec>>24), byte(nsec>>16), byte(nsec>>8), byte(nsec))
}

// PatchMapHeader rewrites a map header written at off by AppendMapHeader32
// with the final count n. It lets encoders write a map before they know how
// many keys it will hold.
func PatchMapHeader(b []byte, off int, n int) {
	b[off] = 0xdf
	b[off+1], b[off+2], b[off+3], b[off+4] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
}

// AppendMapHeader32 appends a 5-byte map header placeholder to be fixed
// later with PatchMapHeader; it returns the buffer and the header's offset.
func AppendMapHeader32(b []byte) ([]byte, int) {
	off := len(b)
	return append(b, 0xdf, 0, 0, 0, 0), off
}

// PatchArrayHeader is PatchMapHeader for arrays.
func PatchArrayHeader(b []byte, off int, n int) {
	b[off] = 0xdd
	b[off+1], b[off+2], b[off+3], b[off+4] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
}

// AppendArrayHeader32 is AppendMapHeader32 for arrays.
func AppendArrayHeader32(b []byte) ([]byte, int) {
	off := len(b)
	return append(b, 0xdd, 0, 0, 0, 0), off
}

// MaxDepth is the deepest nesting level of maps and arrays that the entries
// of this module may contain: the entry array [EventTime, body] is level 1,
// the body map level 2, a map or array directly inside the body level 3, and
// so on. Encoders write a JSON object or array that would sit deeper than
// MaxDepth as a string holding its compact JSON text instead, so nothing is
// lost.
//
// The hard limit is 32: Fluent Bit decodes records with its bundled
// msgpack-c, whose unpacker has a fixed stack of MSGPACK_EMBED_STACK_SIZE (32)
// open containers. An entry nested deeper is rejected, and Fluent Bit then
// drops it together with every entry after it in the same buffer. The margin
// of 8 levels leaves room for what Fluent Bit and its plugins wrap around a
// record downstream (out_forward's [tag, [entries]] message adds 2 levels,
// the [[time, metadata], body] header, filters such as nest or lua that move a
// record under a key), so a record accepted here is not rejected further on.
// Real CloudTrail events nest far less: the deepest of the project's test
// events is 11 levels deep as JSON, so 12 as an entry.
const MaxDepth = 24

// Depth returns the deepest nesting level of maps and arrays in the first
// value of b (0 for a scalar, 1 for a map or array of scalars, counting empty
// containers too) and the bytes that follow the value. It does not recurse,
// so it measures any nesting; it is meant for tests and tools that check
// entries against MaxDepth or msgpack-c's limit of 32.
func Depth(b []byte) (int, []byte, error) {
	// pending[k] is the number of values still to read in the k-th open
	// container; the root counts as one value to read.
	pending := []uint64{1}
	deepest := 0
	for len(pending) > 0 {
		if pending[len(pending)-1] == 0 {
			pending = pending[:len(pending)-1]
			continue
		}
		pending[len(pending)-1]--
		if len(b) == 0 {
			return 0, nil, ErrShort
		}
		c := b[0]
		var n uint64
		var isMap bool
		switch {
		case c&0xf0 == 0x80:
			n, isMap = uint64(c&0x0f), true
			b = b[1:]
		case c&0xf0 == 0x90:
			n = uint64(c & 0x0f)
			b = b[1:]
		case c == 0xdc || c == 0xdd || c == 0xde || c == 0xdf:
			sz := 2
			if c == 0xdd || c == 0xdf {
				sz = 4
			}
			if len(b) < 1+sz {
				return 0, nil, ErrShort
			}
			for _, x := range b[1 : 1+sz] {
				n = n<<8 | uint64(x)
			}
			isMap = c >= 0xde
			b = b[1+sz:]
		default:
			_, rest, err := Decode(b)
			if err != nil {
				return 0, nil, err
			}
			b = rest
			continue
		}
		if isMap {
			n *= 2
		}
		if n > uint64(len(b)) {
			return 0, nil, ErrShort
		}
		pending = append(pending, n)
		if d := len(pending) - 1; d > deepest {
			deepest = d
		}
	}
	return deepest, b, nil
}
