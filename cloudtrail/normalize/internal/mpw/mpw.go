// Package mpw writes nested msgpack maps and arrays whose sizes are only
// known once they are complete, and drops the ones that end up empty. Schema
// mappers write optional fields one by one; counting them up front would
// duplicate every condition.
package mpw

import (
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/msgpack"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/jsontree"
)

type frame struct {
	hdr    int // offset of the 1-byte header placeholder
	keyOff int // offset of the key that introduced this container, or -1
	// n is the entry count of the enclosing container, saved while this
	// one is open (Writer.n counts this one's).
	n   int
	arr bool
}

// Writer appends to B. Containers are opened with a one-byte fixmap/fixarray
// placeholder; Close widens the header (moving the body) only in the rare
// case of 16 or more entries, so most records are written in one pass with
// the shortest encoding.
type Writer struct {
	B     []byte
	stack []frame
	// n counts the entries of the innermost open container: every key
	// and element adds one, and a field of its own is cheaper to count
	// in than the top of stack.
	n int
}

// Reset starts writing at the end of b.
func (w *Writer) Reset(b []byte) {
	w.B = b
	w.stack = w.stack[:0]
	w.n = 0
}

// Depth is the number of open containers.
func (w *Writer) Depth() int { return len(w.stack) }

// Level is the msgpack nesting level a map or array written now would have
// in the entry: the entry array [EventTime, body], which common.BeginEntry
// writes before Reset, is level 1, the body (the first container opened
// after Reset) level 2. Containers written deeper than msgpack.MaxDepth must
// be written as JSON text instead (AppendNode does so).
func (w *Writer) Level() int { return len(w.stack) + 2 }

// count counts one entry in the innermost open container. Outside any
// container the count is kept too, and never read.
func (w *Writer) count() { w.n++ }

// Key appends a map key. It counts one entry in the enclosing map.
func (w *Writer) Key(k string) {
	w.count()
	w.str(k)
}

// KeyBytes is Key for a byte slice.
func (w *Writer) KeyBytes(k []byte) {
	w.count()
	w.strBytes(k)
}

// The writes below store only the length of w.B unless the buffer has to
// grow: they use w.B = append(w.B, c) for single bytes and w.B =
// w.B[:n] then copy for strings, forms the compiler compiles to a length
// store. w.B = f(w.B), and append(w.B, s...), store the slice's pointer as
// well, and a pointer store into the heap costs a write barrier while the
// garbage collector runs: with a few hundred stores per event, that was
// close to a tenth of the decode path's time in the benchmarks, which
// allocate a batch per MiB.

// str appends the msgpack string s.
func (w *Writer) str(s string) {
	if len(s) < 32 {
		// A fixstr, as most keys and values are: header and text are
		// written into one extension of w.B.
		n := w.room(1 + len(s))
		w.B[n] = 0xa0 | byte(len(s))
		copy(w.B[n+1:], s)
		return
	}
	w.strHeader(len(s))
	n := w.room(len(s))
	copy(w.B[n:], s)
}

// strBytes appends the msgpack string s.
func (w *Writer) strBytes(s []byte) {
	if len(s) < 32 {
		n := w.room(1 + len(s))
		w.B[n] = 0xa0 | byte(len(s))
		copy(w.B[n+1:], s)
		return
	}
	w.strHeader(len(s))
	n := w.room(len(s))
	copy(w.B[n:], s)
}

// keyStr appends key k and string value v, counting one entry. When both
// are fixstrs, as they mostly are, they are written into one extension of
// w.B.
func (w *Writer) keyStr(k, v string) {
	w.count()
	if len(k) < 32 && len(v) < 32 {
		n := w.room(2 + len(k) + len(v))
		b := w.B[n:]
		b[0] = 0xa0 | byte(len(k))
		copy(b[1:], k)
		b = b[1+len(k):]
		b[0] = 0xa0 | byte(len(v))
		copy(b[1:], v)
		return
	}
	w.str(k)
	w.str(v)
}

// strHeader is msgpack.AppendStringHeader.
func (w *Writer) strHeader(n int) {
	switch {
	case n < 32:
		w.B = append(w.B, 0xa0|byte(n))
	case n <= math.MaxUint8:
		w.B = append(w.B, 0xd9, byte(n))
	case n <= math.MaxUint16:
		w.B = append(w.B, 0xda, byte(n>>8), byte(n))
	default:
		w.B = append(w.B, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// room extends w.B by n bytes, to be written by the caller, and returns
// where they start.
func (w *Writer) room(n int) int {
	off := len(w.B)
	if cap(w.B)-off < n {
		w.B = slices.Grow(w.B, n)
	}
	w.B = w.B[:off+n]
	return off
}

func (w *Writer) open(arr bool, keyOff int) {
	w.stack = append(w.stack, frame{hdr: len(w.B), keyOff: keyOff, n: w.n, arr: arr})
	w.n = 0
	w.B = append(w.B, 0)
}

// OpenMap opens a map under key k of the enclosing map.
func (w *Writer) OpenMap(k string) {
	off := len(w.B)
	w.Key(k)
	w.open(false, off)
}

// OpenArray opens an array under key k of the enclosing map.
func (w *Writer) OpenArray(k string) {
	off := len(w.B)
	w.Key(k)
	w.open(true, off)
}

// OpenMapElem opens a map as the next element of the enclosing array (or as
// the root value).
func (w *Writer) OpenMapElem() {
	off := len(w.B)
	w.count()
	w.open(false, off)
}

// Close finishes the innermost container. An empty container that was
// opened under a key is removed together with its key, so optional objects
// never show up as {} or [].
func (w *Writer) Close() { w.close(true) }

// CloseKeep is Close without the removal of an empty container.
func (w *Writer) CloseKeep() { w.close(false) }

func (w *Writer) close(dropEmpty bool) {
	f := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	n := w.n
	w.n = f.n
	if n == 0 && dropEmpty && f.keyOff >= 0 {
		w.B = w.B[:f.keyOff]
		w.n-- // the key counted in the enclosing container
		return
	}
	var extra int
	switch {
	case n < 16:
		if f.arr {
			w.B[f.hdr] = 0x90 | byte(n)
		} else {
			w.B[f.hdr] = 0x80 | byte(n)
		}
		return
	case n <= math.MaxUint16:
		extra = 2
	default:
		extra = 4
	}
	end := len(w.B)
	w.B = append(w.B, make([]byte, extra)...)
	copy(w.B[f.hdr+1+extra:], w.B[f.hdr+1:end])
	h := w.B[f.hdr : f.hdr+1+extra]
	if extra == 2 {
		h[0], h[1], h[2] = 0xde, byte(n>>8), byte(n)
		if f.arr {
			h[0] = 0xdc
		}
	} else {
		h[0], h[1], h[2], h[3], h[4] = 0xdf, byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
		if f.arr {
			h[0] = 0xdd
		}
	}
}

// Str writes key k with string value v.
func (w *Writer) Str(k string, v []byte) {
	w.keyStr(k, view(v))
}

// StrS writes key k with string value v.
func (w *Writer) StrS(k string, v string) {
	w.keyStr(k, v)
}

// StrB writes key k, given as bytes, with string value v.
func (w *Writer) StrB(k, v []byte) {
	w.keyStr(view(k), view(v))
}

// view is b as a string, without a copy, for the writes above, which only
// copy it into w.B.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// StrIf writes key k with v when v is present (non-nil).
func (w *Writer) StrIf(k string, v []byte) {
	if v != nil {
		w.Str(k, v)
	}
}

// Int writes key k with integer value v.
func (w *Writer) Int(k string, v int64) {
	w.Key(k)
	if v >= 0 && v < 128 {
		w.B = append(w.B, byte(v))
		return
	}
	w.B = msgpack.AppendInt(w.B, v)
}

// Bool writes key k with boolean value v.
func (w *Writer) Bool(k string, v bool) {
	w.Key(k)
	if v {
		w.B = append(w.B, 0xc3)
	} else {
		w.B = append(w.B, 0xc2)
	}
}

// ElemStr appends string v as the next element of the enclosing array.
func (w *Writer) ElemStr(v []byte) {
	w.count()
	w.strBytes(v)
}

// ElemStrS is ElemStr for a string.
func (w *Writer) ElemStrS(v string) {
	w.count()
	w.str(v)
}

// Value writes key k with node i of t converted to msgpack.
func (w *Writer) Value(k string, t *jsontree.Tree, i int32) {
	w.Key(k)
	w.B = AppendNode(w.B, t, i, w.Level())
}

// ElemValue appends node i as the next element of the enclosing array.
func (w *Writer) ElemValue(t *jsontree.Tree, i int32) {
	w.count()
	w.B = AppendNode(w.B, t, i, w.Level())
}

// AppendNode appends node i of t, recursively, as msgpack. Objects become
// maps with string keys, integers the shortest int encoding, other numbers
// float64; a number too large for float64 is kept as its text so that no
// event fails because of one odd value. level is the nesting level node i
// has in the entry (see Writer.Level): an object or array that would sit
// deeper than msgpack.MaxDepth is written as its JSON text (AppendJSONText),
// so that Fluent Bit can read the entry.
func AppendNode(b []byte, t *jsontree.Tree, i int32, level int) []byte {
	n := &t.Nodes[i]
	switch n.Kind {
	case jsontree.Object:
		if level > msgpack.MaxDepth {
			return AppendJSONText(b, t, i)
		}
		b = msgpack.AppendMapHeader(b, int(n.N))
		for c := n.First; c != jsontree.None; c = t.Nodes[c].Next {
			b = msgpack.AppendStringBytes(b, t.Key(c))
			b = AppendNode(b, t, c, level+1)
		}
		return b
	case jsontree.Array:
		if level > msgpack.MaxDepth {
			return AppendJSONText(b, t, i)
		}
		b = msgpack.AppendArrayHeader(b, int(n.N))
		for c := n.First; c != jsontree.None; c = t.Nodes[c].Next {
			b = AppendNode(b, t, c, level+1)
		}
		return b
	case jsontree.String:
		return msgpack.AppendStringBytes(b, t.Raw(i))
	case jsontree.Number:
		return AppendNumber(b, t.Raw(i))
	case jsontree.True:
		return msgpack.AppendBool(b, true)
	case jsontree.False:
		return msgpack.AppendBool(b, false)
	default:
		return msgpack.AppendNil(b)
	}
}

// AppendNumber appends the JSON number literal s.
func AppendNumber(b []byte, s []byte) []byte {
	if v, ok := ParseInt(s); ok {
		return msgpack.AppendInt(b, v)
	}
	str := unsafe.String(unsafe.SliceData(s), len(s))
	// Only all-digit text can be a uint64 beyond int64; asking ParseUint
	// about "1.0" costs two allocations for the error it returns.
	if allDigits(s) {
		if u, err := strconv.ParseUint(str, 10, 64); err == nil {
			return msgpack.AppendUint(b, u)
		}
	}
	f, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return msgpack.AppendStringBytes(b, s)
	}
	return msgpack.AppendFloat(b, f)
}

func allDigits(s []byte) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ParseInt parses a decimal integer without allocating; ok is false for
// anything else, including values outside int64.
func ParseInt(s []byte) (int64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// Begin suspends entry counting while the caller writes a container whose
// header it wrote itself with the exact count; End resumes it.
func (w *Writer) Begin() {
	w.stack = append(w.stack, frame{hdr: -1, keyOff: -1, n: w.n})
	w.n = 0
}

// End closes a Begin.
func (w *Writer) End() {
	w.n = w.stack[len(w.stack)-1].n
	w.stack = w.stack[:len(w.stack)-1]
}

// AppendJSONText appends node i of t as a msgpack string holding its compact
// JSON text. The text is built from the parsed nodes, so it is valid JSON
// and valid UTF-8 whatever the input looked like: strings and keys are
// quoted again from their decoded text (invalid UTF-8 becomes U+FFFD), and a
// number literal that is not valid JSON (jsontree is lenient there) becomes
// a JSON string, as AppendNode keeps it as a string. Duplicate keys are kept.
func AppendJSONText(b []byte, t *jsontree.Tree, i int32) []byte {
	hdr := len(b)
	b = append(b, 0xdb, 0, 0, 0, 0)
	b = appendJSON(b, t, i)
	n := len(b) - hdr - 5
	var hb [5]byte
	h := msgpack.AppendStringHeader(hb[:0], n)
	if len(h) < 5 {
		copy(b[hdr+len(h):], b[hdr+5:])
		b = b[:len(b)-(5-len(h))]
	}
	copy(b[hdr:], h)
	return b
}

func appendJSON(b []byte, t *jsontree.Tree, i int32) []byte {
	n := &t.Nodes[i]
	switch n.Kind {
	case jsontree.Object:
		b = append(b, '{')
		for c := n.First; c != jsontree.None; c = t.Nodes[c].Next {
			if c != n.First {
				b = append(b, ',')
			}
			b = appendQuoted(b, t.Key(c))
			b = append(b, ':')
			b = appendJSON(b, t, c)
		}
		return append(b, '}')
	case jsontree.Array:
		b = append(b, '[')
		for c := n.First; c != jsontree.None; c = t.Nodes[c].Next {
			if c != n.First {
				b = append(b, ',')
			}
			b = appendJSON(b, t, c)
		}
		return append(b, ']')
	case jsontree.String:
		return appendQuoted(b, t.Raw(i))
	case jsontree.Number:
		if validNumber(t.Raw(i)) {
			return append(b, t.Raw(i)...)
		}
		return appendQuoted(b, t.Raw(i))
	case jsontree.True:
		return append(b, "true"...)
	case jsontree.False:
		return append(b, "false"...)
	default:
		return append(b, "null"...)
	}
}

// appendQuoted appends s as a JSON string literal. Invalid UTF-8 is replaced
// by U+FFFD byte by byte, as encoding/json does.
func appendQuoted(b, s []byte) []byte {
	if utf8.Valid(s) {
		return jsontree.AppendQuoted(b, s)
	}
	v := make([]byte, 0, len(s)+8)
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		v = utf8.AppendRune(v, r)
		s = s[size:]
	}
	return jsontree.AppendQuoted(b, v)
}

// validNumber reports whether s is a JSON number literal.
func validNumber(s []byte) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}
