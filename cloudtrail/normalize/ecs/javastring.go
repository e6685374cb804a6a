package ecs

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/msgpack"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/common"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/mpw"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/jsontree"
)

// Elastic stores requestParameters, responseElements, additionalEventData
// and serviceEventDetails twice: as the text Java's Map.toString() gives
// for the parsed object ("{k=v, k2=v2}"), and as a flattened object. The
// text is what Elastic users search and what detection rules match, so we
// reproduce it exactly, including the iteration order of java.util.HashMap
// (bucket order of String.hashCode) that the JSON processor's maps have.

// markGone records, for every node of the event, whether it disappears in
// Elastic's null/empty cleanup: null, "", and objects or arrays whose
// members all disappear. The text and flattened forms ask this of each node
// several times and at every level above it, which made a recursive check
// quadratic in the depth; children come after their parent in Nodes, so
// one backward pass answers it for all nodes.
func (e *encoder) markGone() {
	t := &e.t
	if cap(e.gone) < len(t.Nodes) {
		e.gone = make([]bool, len(t.Nodes), 2*len(t.Nodes))
	}
	e.gone = e.gone[:len(t.Nodes)]
	for i := int32(len(t.Nodes)) - 1; i >= 0; i-- {
		n := &t.Nodes[i]
		gone := false
		switch n.Kind {
		case jsontree.Null:
			gone = true
		case jsontree.String:
			gone = len(t.Raw(i)) == 0
		case jsontree.Object, jsontree.Array:
			gone = true
			for c := n.First; c != jsontree.None; c = t.Nodes[c].Next {
				if !e.gone[c] {
					gone = false
					break
				}
			}
		}
		e.gone[i] = gone
	}
}

// javaHash is java.lang.String.hashCode of the UTF-8 text s.
func javaHash(s []byte) uint32 {
	var h uint32
	for len(s) > 0 {
		if c := s[0]; c < utf8.RuneSelf {
			h = 31*h + uint32(c)
			s = s[1:]
			continue
		}
		r, size := utf8.DecodeRune(s)
		s = s[size:]
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + uint32(0xD800+(r>>10))
			h = 31*h + uint32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + uint32(r)
	}
	return h
}

// hashOrder appends the members of object i to order in
// java.util.HashMap iteration order, for a map filled in document order.
// The table never shrinks, so its size follows from the member count
// before the cleanup.
func (e *encoder) hashOrder(order []int32, i int32, skip string) []int32 {
	t := &e.t
	n := &t.Nodes[i]
	size := uint32(16)
	for uint32(n.N) > size/4*3 {
		size *= 2
	}
	start := len(order)
	e.buckets = e.buckets[:0]
	for c := n.First; c != jsontree.None; c = t.Nodes[c].Next {
		if e.gone[c] || (skip != "" && t.KeyIs(c, skip)) {
			continue
		}
		order = append(order, c)
		h := javaHash(t.Key(c))
		e.buckets = append(e.buckets, (h^h>>16)&(size-1))
	}
	// Insertion sort: stable, and members are few. The buckets are
	// computed once above; hashing in the comparison was most of the cost.
	s, bk := order[start:], e.buckets
	for a := 1; a < len(s); a++ {
		for b := a; b > 0 && bk[b-1] > bk[b]; b-- {
			s[b-1], s[b] = s[b], s[b-1]
			bk[b-1], bk[b] = bk[b], bk[b-1]
		}
	}
	return order
}

// appendJavaString appends the Java toString() text of node i.
func (e *encoder) appendJavaString(dst []byte, i int32, skip string) []byte {
	t := &e.t
	n := &t.Nodes[i]
	switch n.Kind {
	case jsontree.Object:
		start := len(e.order)
		e.order = e.hashOrder(e.order, i, skip)
		dst = append(dst, '{')
		for k := start; k < len(e.order); k++ {
			c := e.order[k]
			if k > start {
				dst = append(dst, ", "...)
			}
			dst = append(dst, t.Key(c)...)
			dst = append(dst, '=')
			dst = e.appendJavaString(dst, c, "")
		}
		e.order = e.order[:start]
		return append(dst, '}')
	case jsontree.Array:
		dst = append(dst, '[')
		first := true
		for c := n.First; c != jsontree.None; c = t.Nodes[c].Next {
			if e.gone[c] {
				continue
			}
			if !first {
				dst = append(dst, ", "...)
			}
			first = false
			dst = e.appendJavaString(dst, c, "")
		}
		return append(dst, ']')
	case jsontree.Number:
		return appendJavaNumber(dst, t.Raw(i))
	case jsontree.Null:
		return append(dst, "null"...)
	default:
		return append(dst, t.Raw(i)...)
	}
}

// appendJavaNumber renders a JSON number the way Jackson + Java print it:
// integers as written, other numbers as Double.toString.
func appendJavaNumber(dst, lit []byte) []byte {
	isInt := true
	for _, c := range lit {
		if c == '.' || c == 'e' || c == 'E' {
			isInt = false
			break
		}
	}
	if isInt {
		return append(dst, lit...)
	}
	f, err := strconv.ParseFloat(common.BytesString(lit), 64)
	if err != nil {
		return append(dst, lit...)
	}
	if math.IsInf(f, 0) {
		if f > 0 {
			return append(dst, "Infinity"...)
		}
		return append(dst, "-Infinity"...)
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-3 && a < 1e7) {
		start := len(dst)
		dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
		for _, c := range dst[start:] {
			if c == '.' {
				return dst
			}
		}
		return append(dst, ".0"...)
	}
	// Java's computerized scientific notation: 1.0E10, 1.5E-5.
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	ePos := 0
	for k, c := range s {
		if c == 'e' {
			ePos = k
		}
	}
	mant, exp := s[:ePos], s[ePos+1:]
	dst = append(dst, mant...)
	hasDot := false
	for _, c := range mant {
		if c == '.' {
			hasDot = true
		}
	}
	if !hasDot {
		dst = append(dst, ".0"...)
	}
	dst = append(dst, 'E')
	if exp[0] == '-' {
		dst = append(dst, '-')
	}
	exp = exp[1:]
	for len(exp) > 1 && exp[0] == '0' {
		exp = exp[1:]
	}
	return append(dst, exp...)
}

// writeClean writes node i under key k without the members Elastic's
// cleanup removes; it is the flattened form.
func (e *encoder) writeClean(w *mpw.Writer, k []byte, i int32, skip string) {
	t := &e.t
	n := &t.Nodes[i]
	if e.gone[i] {
		return
	}
	if k != nil {
		w.KeyBytes(k)
	}
	if (n.Kind == jsontree.Object || n.Kind == jsontree.Array) && w.Level() > msgpack.MaxDepth {
		// Too deep for Fluent Bit as a map: the whole value as JSON text.
		w.B = mpw.AppendJSONText(w.B, t, i)
		return
	}
	switch n.Kind {
	case jsontree.Object:
		cnt := 0
		for c := n.First; c != jsontree.None; c = t.Nodes[c].Next {
			if !e.gone[c] && (skip == "" || !t.KeyIs(c, skip)) {
				cnt++
			}
		}
		w.B = msgpack.AppendMapHeader(w.B, cnt)
		w.Begin()
		for c := n.First; c != jsontree.None; c = t.Nodes[c].Next {
			if !e.gone[c] && (skip == "" || !t.KeyIs(c, skip)) {
				e.writeClean(w, t.Key(c), c, "")
			}
		}
		w.End()
	case jsontree.Array:
		cnt := 0
		for c := n.First; c != jsontree.None; c = t.Nodes[c].Next {
			if !e.gone[c] {
				cnt++
			}
		}
		w.B = msgpack.AppendArrayHeader(w.B, cnt)
		w.Begin()
		for c := n.First; c != jsontree.None; c = t.Nodes[c].Next {
			if !e.gone[c] {
				e.writeClean(w, nil, c, "")
			}
		}
		w.End()
	default:
		w.B = mpw.AppendNode(w.B, t, i, w.Level())
	}
}
