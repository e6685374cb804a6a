package transcode

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/msgpack"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode/transcodetest"
)

// deepEvent returns an event whose requestParameters nest depth objects
// deep (requestParameters itself is the first), ending in the number 1.
func deepEvent(depth int) string {
	return `{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventName":"Deep","requestParameters":` +
		strings.Repeat(`{"n":`, depth) + `1` + strings.Repeat(`}`, depth) + `,"after":"x"}`
}

// checkDepth fails unless entry b nests at most msgpack.MaxDepth levels,
// well within Fluent Bit's 32.
func checkDepth(t *testing.T, b []byte) {
	t.Helper()
	d, rest, err := msgpack.Depth(b)
	if err != nil || len(rest) != 0 {
		t.Fatalf("msgpack.Depth: %v, %d bytes left", err, len(rest))
	}
	if d > msgpack.MaxDepth || d > 32 {
		t.Fatalf("entry nests %d levels, limit %d", d, msgpack.MaxDepth)
	}
}

func TestDeepNesting(t *testing.T) {
	for _, depth := range []int{1, 20, 22, 23, 24, 25, 40, 200, 510} {
		for _, kind := range []string{"object", "array", "mixed"} {
			ev := deepEvent(depth)
			switch kind {
			case "array":
				if depth > 500 {
					continue
				}
				ev = `{"eventTime":"2024-01-02T03:04:05Z","requestParameters":` + strings.Repeat(`[`, depth) + `1` + strings.Repeat(`]`, depth) + `}`
			case "mixed":
				// Three containers per step.
				if depth > 150 {
					continue
				}
				ev = `{"eventTime":"2024-01-02T03:04:05Z","requestParameters":` + strings.Repeat(`{"a":[ {"s":"\u00e9\n", "b":`, depth) + `null` + strings.Repeat(`} ]}`, depth) + `}`
			}
			var r Raw
			out, err := r.Append(nil, []byte(ev), testSrc)
			if err != nil {
				t.Fatalf("%s %d: %v", kind, depth, err)
			}
			checkDepth(t, out)
			es, err := transcodetest.DecodeEntries(out)
			if err != nil || len(es) != 1 {
				t.Fatalf("%s %d: %d entries, %v", kind, depth, len(es), err)
			}
			want, err := transcodetest.UnmarshalJSON([]byte(ev))
			if err != nil {
				t.Fatal(err)
			}
			// Equal expects every container below msgpack.MaxDepth as
			// JSON text that decodes to the original value.
			if d := transcodetest.Equal(body(es[0]), want); d != "" {
				t.Fatalf("%s %d: %s", kind, depth, d)
			}
		}
	}
}

// TestDeepNestingBoundary pins where text starts: the innermost object of
// deepEvent(n) sits at level n+2, so 22 levels stay maps and 23 do not.
func TestDeepNestingBoundary(t *testing.T) {
	walk := func(t *testing.T, depth int) any {
		e := entryOf(t, &Raw{}, deepEvent(depth))
		v, _ := e.Body.Get("requestParameters")
		for level := 3; ; level++ {
			m, ok := v.(transcodetest.Map)
			if !ok {
				return v
			}
			if level > msgpack.MaxDepth {
				t.Fatalf("depth %d: map at level %d", depth, level)
			}
			v, _ = m.Get("n")
		}
	}
	if v := walk(t, msgpack.MaxDepth-2); v != int64(1) {
		t.Errorf("depth %d: innermost value %#v, want 1", msgpack.MaxDepth-2, v)
	}
	if v := walk(t, msgpack.MaxDepth-1); v != `{"n":1}` {
		t.Errorf("depth %d: innermost value %#v, want the text {\"n\":1}", msgpack.MaxDepth-1, v)
	}
	want := strings.Repeat(`{"n":`, 19) + `1` + strings.Repeat(`}`, 19)
	if v := walk(t, msgpack.MaxDepth+17); v != want {
		t.Errorf("depth %d: innermost value %#v, want %q", msgpack.MaxDepth+17, v, want)
	}
}

// TestDeepText checks the JSON text written for a deep value: compact,
// valid, escapes normalized, invalid UTF-8 replaced, numbers kept as written,
// everything still checked like the rest of the event.
func TestDeepText(t *testing.T) {
	// x's value is at level 3: MaxDepth-2 objects put c.in at level
	// MaxDepth+1, the first written as text.
	open := strings.Repeat(`{"n":`, msgpack.MaxDepth-2)
	closing := strings.Repeat(`}`, msgpack.MaxDepth-2)
	cases := []struct{ in, want string }{
		{` { "a" : [ 1 , -0 , 1.50 , 2E+3 , 18446744073709551616 , true , false , null , { } , [ ] ] } `,
			`{"a":[1,-0,1.50,2E+3,18446744073709551616,true,false,null,{},[]]}`},
		{`{"plain":"héllo <&>","esc":"q\"b\\s\/n\nt\tc\u0001u\u00e9\ud83d\ude00\ud800"}`,
			`{"plain":"héllo <&>","esc":"q\"b\\s/n\nt\tc\u0001ué😀` + "\uFFFD" + `"}`},
		{"{\"bad\":\"a\xffb\",\"\xfe\":1}", "{\"bad\":\"a\uFFFDb\",\"\uFFFD\":1}"},
		{`{"dup":1,"dup":2}`, `{"dup":1,"dup":2}`},
		{`[]`, `[]`},
		{`{}`, `{}`},
	}
	for _, c := range cases {
		ev := `{"x":` + open + c.in + closing + `}`
		e := entryOf(t, &Raw{}, ev)
		v, _ := e.Body.Get("x")
		for {
			m, ok := v.(transcodetest.Map)
			if !ok {
				break
			}
			v, _ = m.Get("n")
		}
		s, ok := v.(string)
		if !ok || s != c.want {
			t.Errorf("%q: got %#v, want %q", c.in, v, c.want)
			continue
		}
		if !json.Valid([]byte(s)) {
			t.Errorf("%q: text %q is not valid JSON", c.in, s)
		}
		want, err1 := transcodetest.UnmarshalJSON([]byte(c.in))
		got, err2 := transcodetest.UnmarshalJSON([]byte(s))
		if err1 != nil || err2 != nil || !jsonEqual(want, got) {
			t.Errorf("%q: text %q does not decode to the original (%v, %v)", c.in, s, err1, err2)
		}
	}

	// Errors inside a deep value are the same errors as anywhere else.
	for _, c := range []struct{ in, msg string }{
		{`{"a":1e400}`, "out of float64 range"},
		{`{"a":01}`, "after object key:value pair"},
		{`{"a":[1,]}`, "beginning of value"},
		{`{"a":"\x"}`, "invalid escape"},
		{`{"a":tru}`, "invalid literal"},
		{`{a:1}`, "object key"},
		{`{"a" 1}`, "after object key"},
		{`[1 2]`, "after array element"},
		{"{\"a\":\"\x01\"}", "control character"},
		{strings.Repeat(`[`, 600) + strings.Repeat(`]`, 600), "nesting depth exceeds 512"},
	} {
		ev := `{"x":` + open + c.in + closing + `}`
		dst := []byte("keep")
		out, err := (&Raw{}).Append(dst, []byte(ev), testSrc)
		var se *SyntaxError
		if err == nil || !strings.Contains(err.Error(), c.msg) || !errors.As(err, &se) {
			t.Errorf("%q: err = %v, want a SyntaxError containing %q", c.in, err, c.msg)
		}
		if string(out) != "keep" {
			t.Errorf("%q: dst changed on error", c.in)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestDeepParseLimit: the parse-bomb limit stays an error, checked inside
// JSON text too, and never a panic.
func TestDeepParseLimit(t *testing.T) {
	for _, depth := range []int{511, 512, 600, 1000, 100000} {
		var r Raw
		out, err := r.Append(nil, []byte(deepEvent(depth)), testSrc)
		// requestParameters' innermost object is at event depth depth+1.
		if depth+1 <= DefaultMaxDepth {
			if err != nil {
				t.Errorf("depth %d: %v", depth, err)
			} else {
				checkDepth(t, out)
			}
			continue
		}
		var se *SyntaxError
		if err == nil || !errors.As(err, &se) || !strings.Contains(err.Error(), "nesting depth exceeds 512") {
			t.Errorf("depth %d: err = %v, want nesting depth exceeds 512", depth, err)
		}
	}
}

// TestDeepAppendPrefix: a cut anywhere in a deep event asks for more input,
// and the next event in the buffer is found.
func TestDeepAppendPrefix(t *testing.T) {
	ev := deepEvent(40)
	ev = strings.Replace(ev, `1}`, `"\u00e9 \ud83d\ude00", "k" : [ 1.5e3 , true ] }`, 1)
	var r Raw
	full, n, err := r.AppendPrefix(nil, []byte(ev+` {"next":1}`), testSrc)
	if err != nil || n != len(ev) {
		t.Fatalf("AppendPrefix = %d, %v; want %d", n, err, len(ev))
	}
	checkDepth(t, full)
	for cut := range len(ev) {
		out, n, err := r.AppendPrefix([]byte("k"), []byte(ev[:cut]), testSrc)
		if err != io.ErrUnexpectedEOF || n != 0 || string(out) != "k" {
			t.Fatalf("cut at %d: out=%q n=%d err=%v; want io.ErrUnexpectedEOF", cut, out, n, err)
		}
	}
}
