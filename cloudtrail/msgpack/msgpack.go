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
