// Package jsontree parses one JSON document into a flat, reusable slice of
// nodes so that schema mappers can look fields up by key without building Go
// maps. A Tree is reused from event to event: after the first few events it
// allocates nothing, which is what keeps normalization off the allocation
// profile of the hot path.
//
// Strings are decoded at parse time only when they contain escapes; the
// decoded text lives in an arena that is sized once to the input length, so
// slices into it stay valid until the next Parse. Everything else points into
// the caller's input, which must not change while the tree is in use.
package jsontree

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// Kind is the JSON type of a node.
type Kind uint8

// JSON value kinds.
const (
	Invalid Kind = iota
	Null
	False
	True
	Number
	String
	Object
	Array
)

// None is the index returned for a node that does not exist.
const None int32 = -1

// Node is one JSON value. Its texts (Tree.Key, Tree.Raw) are spans of the
// input or of the tree's arena rather than slices: a node without pointers
// is half the size, and the garbage collector neither scans the node slice
// nor puts a write barrier on every node the parser writes, which cost more
// than the parsing itself while a collection was running.
type Node struct {
	// key and raw locate the texts of Tree.Key and Tree.Raw: an offset
	// into the input, or the complement (^off) of an offset into the arena
	// for text that had escapes, and a length.
	keyOff, keyLen int32
	rawOff, rawLen int32
	Kind           Kind
	// N is the number of children of an Object or Array.
	N int32
	// First is the index of the first child, or None.
	First int32
	// Next is the index of the next sibling, or None.
	Next int32
}

// MaxInput is the largest document Parse accepts: spans are 32-bit.
const MaxInput = 1<<31 - 1

// MaxDepth bounds nesting so that a hostile document cannot exhaust the
// goroutine stack; real CloudTrail events nest fewer than 20 levels.
const MaxDepth = 1000

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("jsontree: invalid JSON")

// ErrShort is returned by ParsePrefix when the data ends inside the value.
var ErrShort = errors.New("jsontree: data ends inside the value")

// Tree holds the nodes of the last parsed document. The zero value is ready
// to use. The root is node 0.
type Tree struct {
	Nodes []Node
	data  []byte
	arena []byte
	pos   int
	depth int
	// limit is the nesting allowed in this document: MaxDepth, or less
	// for ParsePrefix.
	limit int
	// prefix is set during ParsePrefix, cut when the data ended inside
	// the value.
	prefix, cut bool
	// spaced is set when whitespace was skipped inside the root value;
	// without it, AppendCompact can copy container text as is.
	spaced bool
}

// Parse parses data, replacing the previous document. Trailing whitespace is
// allowed, anything else after the value is an error.
func (t *Tree) Parse(data []byte) error {
	if err := t.start(data, MaxDepth); err != nil {
		return err
	}
	if _, err := t.parseRoot(); err != nil {
		return err
	}
	t.pos = t.skip(t.pos)
	if t.pos != len(t.data) {
		return t.errorf("unexpected data after the value")
	}
	return nil
}

// ParsePrefix parses the value at the start of data (after any whitespace)
// and returns the length it used; whatever follows the value is not looked
// at. A streaming caller can so parse an event straight out of its input
// buffer instead of first scanning for the event's end. Nesting deeper than
// maxDepth (or MaxDepth, whichever is less) is an error, so that the caller
// can keep its own limit. When data ends inside the value the error is
// ErrShort, and the caller may call again with more data. Other errors are
// ErrSyntax without detail, so that a caller which has the data cut short
// in many places pays nothing to format them; Parse of the whole value
// says what is wrong.
func (t *Tree) ParsePrefix(data []byte, maxDepth int) (int, error) {
	err := t.start(data, min(maxDepth, MaxDepth))
	if err == nil {
		t.prefix = true
		_, err = t.parseRoot()
		t.prefix = false
	}
	switch {
	case t.cut:
		return 0, ErrShort
	case err != nil:
		return 0, err
	}
	return t.pos, nil
}

// start resets t for a document in data.
func (t *Tree) start(data []byte, limit int) error {
	t.Nodes = t.Nodes[:0]
	t.data = data
	t.pos = 0
	t.depth = 0
	t.limit = limit
	t.spaced = false
	t.prefix, t.cut = false, false
	if len(data) > MaxInput {
		return t.errorf("document larger than %d bytes", MaxInput)
	}
	// Decoded strings are never longer than their escaped form, so an arena
	// of len(data) never reallocates and slices into it stay valid.
	if cap(t.arena) < len(data) {
		t.arena = make([]byte, 0, len(data))
	}
	t.arena = t.arena[:0]
	return nil
}

func (t *Tree) errorf(format string, args ...any) error {
	if t.prefix {
		return ErrSyntax
	}
	return fmt.Errorf("%w at offset %d: %s", ErrSyntax, t.pos, fmt.Sprintf(format, args...))
}

// short is errorf for data that ends inside the value: ParsePrefix reports
// it as ErrShort.
func (t *Tree) short(msg string) error {
	t.cut = true
	return t.errorf("%s", msg)
}

// skip returns the position of the first byte at or after pos that is
// not insignificant whitespace. CloudTrail writes compact JSON, where that
// is pos itself: the first test answers for it without the loop, and keeps
// skip small enough to inline.
func (t *Tree) skip(pos int) int {
	if pos < len(t.data) && t.data[pos] > ' ' {
		return pos
	}
	return t.skipSpace(pos)
}

func (t *Tree) skipSpace(pos int) int {
	for pos < len(t.data) {
		switch t.data[pos] {
		case ' ', '\t', '\n', '\r':
			pos++
			if t.depth > 0 {
				t.spaced = true
			}
		default:
			return pos
		}
	}
	return pos
}

// newNode appends a node whose raw text is the span off, n and whose
// member name is the span koff, klen (0, 0 outside an object): the node is
// written once, with its key.
//
// The fields are stored one by one into the slice. append of a Node
// literal builds the node on the stack and copies it in 16-byte moves,
// which read back the 4-byte stores just made: the processor cannot
// forward those and stalls, and that made newNode a sixth of the parse.
// Every field is written, as the slot may hold a node of an earlier
// document.
func (t *Tree) newNode(k Kind, off, n, koff, klen int32) int32 {
	i := len(t.Nodes)
	if i < cap(t.Nodes) {
		t.Nodes = t.Nodes[:i+1]
	} else {
		t.Nodes = append(t.Nodes, Node{})
	}
	nd := &t.Nodes[i]
	nd.keyOff, nd.keyLen = koff, klen
	nd.rawOff, nd.rawLen = off, n
	nd.Kind, nd.N = k, 0
	nd.First, nd.Next = None, None
	return int32(i)
}

// Key returns the member name of node i when its parent is an object, with
// escapes decoded; it is empty for other nodes.
func (t *Tree) Key(i int32) []byte {
	n := &t.Nodes[i]
	return t.text(n.keyOff, n.keyLen)
}

// Raw returns, for a String node, the decoded text (without quotes); for a
// Number or a literal, its text; for an Object or Array, the complete
// source text including brackets and any insignificant whitespace. The
// slice is valid until the next Parse and must not be modified.
func (t *Tree) Raw(i int32) []byte {
	n := &t.Nodes[i]
	return t.text(n.rawOff, n.rawLen)
}

// KeyIs reports whether node i's member name is k.
func (t *Tree) KeyIs(i int32, k string) bool {
	n := &t.Nodes[i]
	return int(n.keyLen) == len(k) && string(t.text(n.keyOff, n.keyLen)) == k
}

func (t *Tree) text(off, n int32) []byte {
	if off >= 0 {
		return t.data[off : off+n : off+n]
	}
	off = ^off
	return t.arena[off : off+n : off+n]
}

// The parsing functions below take the position to parse at and return
// the position after what they parsed, rather than moving t.pos: in a
// register, the position is not stored and loaded back for every token,
// a chain of dependent memory accesses through the whole document. t.pos
// is set only where an error is reported (errorf and short give it as the
// offset) and at the end of the document.

// parseRoot parses the document's value at t.pos and leaves t.pos after
// it.
func (t *Tree) parseRoot() (int32, error) {
	i, pos, err := t.value(t.pos, 0, 0)
	if err == nil {
		t.pos = pos
	}
	return i, err
}

// value parses one value at pos and returns its node index; koff, klen
// is its member name when it is in an object.
func (t *Tree) value(pos int, koff, klen int32) (int32, int, error) {
	pos = t.skip(pos)
	if pos >= len(t.data) {
		t.pos = pos
		return None, pos, t.short("unexpected end of input")
	}
	switch c := t.data[pos]; c {
	case '{':
		return t.container(pos, Object, koff, klen)
	case '[':
		return t.container(pos, Array, koff, klen)
	case '"':
		off, n, end, err := t.str(pos)
		if err != nil {
			return None, pos, err
		}
		return t.newNode(String, off, n, koff, klen), end, nil
	case 't':
		return t.literal(pos, "true", True, koff, klen)
	case 'f':
		return t.literal(pos, "false", False, koff, klen)
	case 'n':
		return t.literal(pos, "null", Null, koff, klen)
	default:
		if c != '-' && (c < '0' || c > '9') {
			t.pos = pos
			return None, pos, t.errorf("unexpected character %q", c)
		}
		start := pos
		pos++
		for pos < len(t.data) {
			c := t.data[pos]
			if (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' {
				pos++
				continue
			}
			break
		}
		return t.newNode(Number, int32(start), int32(pos-start), koff, klen), pos, nil
	}
}

func (t *Tree) literal(pos int, lit string, k Kind, koff, klen int32) (int32, int, error) {
	if rest := t.data[pos:]; len(rest) < len(lit) && string(rest) == lit[:len(rest)] {
		t.pos = pos
		return None, pos, t.short("invalid literal")
	}
	if len(t.data)-pos < len(lit) || string(t.data[pos:pos+len(lit)]) != lit {
		t.pos = pos
		return None, pos, t.errorf("invalid literal")
	}
	i := t.newNode(k, int32(pos), int32(len(lit)), koff, klen)
	return i, pos + len(lit), nil
}

// container parses the object or array (k) at start. Its children are
// appended right after it, in order, so its first child is always i+1; the
// count and the previous sibling are kept in locals and the container's
// node is written when it closes, rather than updated through t.Nodes for
// every child.
func (t *Tree) container(start int, k Kind, koff, klen int32) (int32, int, error) {
	end, what := byte('}'), "object"
	if k == Array {
		end, what = ']', "array"
	}
	if t.depth++; t.depth > t.limit {
		t.pos = start
		return None, start, t.errorf("nesting deeper than %d", t.limit)
	}
	i := t.newNode(k, int32(start), 0, koff, klen)
	pos := t.skip(start + 1)
	if pos < len(t.data) && t.data[pos] == end {
		pos++
		t.Nodes[i].rawLen = int32(pos - start)
		t.depth--
		return i, pos, nil
	}
	last, n := None, int32(0)
	for {
		var v int32
		var next int
		var err error
		if k == Array {
			v, next, err = t.value(pos, 0, 0)
		} else {
			// A member. In compact JSON its name starts right at pos and
			// its value right after the colon: one test each takes that
			// path, expect the other.
			if pos >= len(t.data) || t.data[pos] != '"' {
				if pos, err = t.expect(pos, '"', "expected a member name"); err != nil {
					return None, pos, err
				}
			}
			var koff, klen int32
			if koff, klen, pos, err = t.str(pos); err != nil {
				return None, pos, err
			}
			if pos >= len(t.data) || t.data[pos] != ':' {
				if pos, err = t.expect(pos, ':', "expected ':'"); err != nil {
					return None, pos, err
				}
			}
			pos++
			if pos < len(t.data) && t.data[pos] == '"' {
				// Most members are strings: parsed here, without
				// value's dispatch on the first byte.
				var off, n int32
				if off, n, next, err = t.str(pos); err == nil {
					v = t.newNode(String, off, n, koff, klen)
				}
			} else {
				v, next, err = t.value(pos, koff, klen)
			}
		}
		if err != nil {
			return None, pos, err
		}
		if last != None {
			t.Nodes[last].Next = v
		}
		last = v
		n++
		pos = t.skip(next)
		if pos >= len(t.data) {
			t.pos = pos
			return None, pos, t.short("unterminated " + what)
		}
		switch t.data[pos] {
		case ',':
			pos++
		case end:
			pos++
			c := &t.Nodes[i]
			c.rawLen = int32(pos - start)
			c.N, c.First = n, i+1
			t.depth--
			return i, pos, nil
		default:
			t.pos = pos
			return None, pos, t.errorf("expected ',' or '%c'", end)
		}
	}
}

// expect skips whitespace at pos and returns the position of the byte
// after it, which must be c; msg is the error when it is not.
func (t *Tree) expect(pos int, c byte, msg string) (int, error) {
	pos = t.skip(pos)
	if pos >= len(t.data) {
		t.pos = pos
		return pos, t.short(msg)
	}
	if t.data[pos] != c {
		t.pos = pos
		return pos, t.errorf("%s", msg)
	}
	return pos, nil
}

// str parses a string at pos (on the opening quote) and returns the span
// of its decoded text, in the input when there are no escapes, else in the
// arena, and the position after the closing quote.
func (t *Tree) str(pos int) (off, n int32, end int, err error) {
	start := pos + 1
	// One scan finds the first quote or backslash. Most strings have no
	// escapes, so that is their closing quote: each string is read once.
	// Two bytes.IndexByte calls (the quote, then a backslash over the
	// span) cost more in calls than in scanning for the short keys and
	// values (11 bytes is the median) that make up most of an event.
	i := quoteOrBackslash(t.data, start)
	if i >= len(t.data) {
		t.pos = start
		return 0, 0, 0, t.short("unterminated string")
	}
	if t.data[i] == '\\' {
		return t.strEscaped(start, i)
	}
	return int32(start), int32(i - start), i + 1, nil
}

// Masks for quoteOrBackslash: a byte repeated in every lane of a word.
const (
	lanes01   = 0x0101010101010101
	lanes80   = 0x8080808080808080
	lanesQuot = '"' * lanes01
	lanesBack = '\\' * lanes01
)

// quoteOrBackslash returns the index of the first '"' or '\\' in s at or
// after i, or len(s) when there is none. It tests eight bytes at a time:
// x^lanesQuot has a zero byte where x has a quote, and for a word v,
// (v-lanes01) &^ v & lanes80 sets the high bit of each zero byte of v. That
// test can also flag a byte above a zero byte (through the borrow of the
// subtraction) but never one below the lowest zero byte, so the lowest
// flagged byte of the two tests is the first match.
func quoteOrBackslash(s []byte, i int) int {
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		q, b := x^lanesQuot, x^lanesBack
		if m := ((q - lanes01) &^ q & lanes80) | ((b - lanes01) &^ b & lanes80); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			return i
		}
	}
	return len(s)
}

// strEscaped parses the rest of a string whose text starts at start and
// has its first backslash at esc: it finds the closing quote, stepping over
// each escaped character, then decodes the whole span at once.
func (t *Tree) strEscaped(start, esc int) (off, n int32, end int, err error) {
	i := esc
	for i < len(t.data) && t.data[i] == '\\' {
		i = quoteOrBackslash(t.data, i+2)
	}
	if i >= len(t.data) {
		t.pos = start
		return 0, 0, 0, t.short("unterminated string")
	}
	a := len(t.arena)
	var ok bool
	t.arena, ok = AppendUnescape(t.arena, t.data[start:i])
	if !ok {
		t.pos = start
		return 0, 0, 0, t.errorf("invalid escape in string")
	}
	return ^int32(a), int32(len(t.arena) - a), i + 1, nil
}

// AppendUnescape appends the decoded form of the JSON string body s (the
// text between the quotes) to dst. Lone surrogates decode to U+FFFD, like
// encoding/json does. ok is false on a malformed escape.
func AppendUnescape(dst, s []byte) (_ []byte, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			// Copy the plain text up to the next backslash at once. A
			// quote is plain text here (the parser passes none, other
			// callers may), so the scan goes on past it.
			j := quoteOrBackslash(s, i+1)
			for j < len(s) && s[j] == '"' {
				j = quoteOrBackslash(s, j+1)
			}
			dst = append(dst, s[i:j]...)
			i = j - 1
			continue
		}
		i++
		if i >= len(s) {
			return dst, false
		}
		switch s[i] {
		case '"', '\\', '/':
			dst = append(dst, s[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(s, i+1)
			if !ok {
				return dst, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if lo, ok := hex4(s, i+3); ok {
						if d := utf16.DecodeRune(r, lo); d != utf8.RuneError {
							r2 = d
							i += 6
						}
					}
				}
				r = r2
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, false
		}
	}
	return dst, true
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// Get returns the child of object node obj whose key is key, or None. The
// first match wins, like most JSON consumers. It is a linear scan: objects
// in CloudTrail events are small, and a scan beats hashing at that size.
func (t *Tree) Get(obj int32, key string) int32 {
	if obj < 0 || t.Nodes[obj].Kind != Object {
		return None
	}
	for c := t.Nodes[obj].First; c != None; c = t.Nodes[c].Next {
		if t.KeyIs(c, key) {
			return c
		}
	}
	return None
}

// Path follows keys from node i through nested objects.
func (t *Tree) Path(i int32, keys ...string) int32 {
	for _, k := range keys {
		i = t.Get(i, k)
		if i == None {
			return None
		}
	}
	return i
}

// Kind returns the kind of node i, or Invalid for None.
func (t *Tree) Kind(i int32) Kind {
	if i < 0 {
		return Invalid
	}
	return t.Nodes[i].Kind
}

// Str returns the text of string node i and whether i is a string.
func (t *Tree) Str(i int32) ([]byte, bool) {
	if i < 0 || t.Nodes[i].Kind != String {
		return nil, false
	}
	return t.Raw(i), true
}

// IsNullish reports whether node i is absent or JSON null.
func (t *Tree) IsNullish(i int32) bool {
	return i < 0 || t.Nodes[i].Kind == Null
}

// AppendCompact appends the source text of node i without insignificant
// whitespace. CloudTrail files are compact already, so the common case is a
// plain copy; pretty-printed test files still produce one canonical text.
func (t *Tree) AppendCompact(dst []byte, i int32) []byte {
	raw := t.Raw(i)
	if t.Nodes[i].Kind != Object && t.Nodes[i].Kind != Array {
		if t.Nodes[i].Kind == String {
			return AppendQuoted(dst, raw)
		}
		return append(dst, raw...)
	}
	if !t.spaced {
		return append(dst, raw...)
	}
	inStr := false
	for j := 0; j < len(raw); j++ {
		c := raw[j]
		if inStr {
			dst = append(dst, c)
			if c == '\\' && j+1 < len(raw) {
				j++
				dst = append(dst, raw[j])
			} else if c == '"' {
				inStr = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inStr = true
		}
		dst = append(dst, c)
	}
	return dst
}

// AppendQuoted appends s as a JSON string literal.
func AppendQuoted(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			switch c {
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			}
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
