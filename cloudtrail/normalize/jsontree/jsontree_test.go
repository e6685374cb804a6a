package jsontree

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseAndGet(t *testing.T) {
	var tr Tree
	doc := ` { "a" : [1, -2.5e3, "x\"y\u00e9\ud83d\ude00", true, false, null], "b": {"c": {}} , "k\u0065y": "v" } `
	if err := tr.Parse([]byte(doc)); err != nil {
		t.Fatal(err)
	}
	a := tr.Get(0, "a")
	if tr.Nodes[a].N != 6 {
		t.Fatalf("array has %d elements", tr.Nodes[a].N)
	}
	third := tr.Nodes[tr.Nodes[tr.Nodes[a].First].Next].Next
	if s, _ := tr.Str(third); string(s) != "x\"yé😀" {
		t.Errorf("unescaped %q", s)
	}
	if s, ok := tr.Str(tr.Get(0, "key")); !ok || string(s) != "v" {
		t.Errorf("escaped key lookup: %q %v", s, ok)
	}
	if tr.Kind(tr.Path(0, "b", "c")) != Object || tr.Path(0, "b", "x") != None {
		t.Error("Path")
	}
	got := string(tr.AppendCompact(nil, 0))
	var v1, v2 any
	if err := json.Unmarshal([]byte(got), &v1); err != nil || strings.ContainsAny(got, " \n") {
		t.Fatalf("compact %q: %v", got, err)
	}
	_ = json.Unmarshal([]byte(doc), &v2)
}

func TestParseErrors(t *testing.T) {
	var tr Tree
	for _, doc := range []string{``, `{`, `{"a"}`, `{"a":1,}`, `[1 2]`, `"abc`, `tru`, `{"a":"\x"}`, `1 2`, strings.Repeat("[", MaxDepth+1)} {
		if err := tr.Parse([]byte(doc)); err == nil {
			t.Errorf("%q: no error", doc)
		}
	}
}

// TestParsePrefix: ParsePrefix of a value followed by anything builds the
// tree Parse builds for the value alone, a cut value is an error, and the
// depth limit is the caller's.
func TestParsePrefix(t *testing.T) {
	docs := []string{
		`{}`,
		` {"a" : [1, -2.5e3, "x\"y\u00e9", true, false, null], "b": {"c": {}}, "k\u0065y": "v"}`,
		`{"eventName":"x\n","a":[1,2,{"b":"c"}],"userIdentity":{"type":"Root"}}`,
		`[{"a":"\\"},"\\\""]`,
	}
	var whole, pre Tree
	for _, doc := range docs {
		if err := whole.Parse([]byte(doc)); err != nil {
			t.Fatal(err)
		}
		for _, rest := range []string{``, ` `, `,{"next":1}`, `]x`, `"`} {
			n, err := pre.ParsePrefix([]byte(doc+rest), MaxDepth)
			if err != nil || n != len(doc) {
				t.Fatalf("%q: ParsePrefix = %d, %v; want %d", doc+rest, n, err, len(doc))
			}
			if len(pre.Nodes) != len(whole.Nodes) || string(pre.AppendCompact(nil, 0)) != string(whole.AppendCompact(nil, 0)) {
				t.Fatalf("%q: tree differs from Parse", doc+rest)
			}
			for i := range whole.Nodes {
				a, b := whole.Nodes[i], pre.Nodes[i]
				if a.Kind != b.Kind || a.N != b.N || a.First != b.First || a.Next != b.Next ||
					string(whole.Key(int32(i))) != string(pre.Key(int32(i))) || string(whole.Raw(int32(i))) != string(pre.Raw(int32(i))) {
					t.Fatalf("%q: node %d differs from Parse", doc+rest, i)
				}
			}
		}
		for cut := range len(doc) {
			if n, err := pre.ParsePrefix([]byte(doc[:cut]), MaxDepth); err != ErrShort {
				t.Errorf("%q cut at %d: ParsePrefix = %d, %v; want ErrShort", doc, cut, n, err)
			}
		}
	}
	// Bad data is ErrSyntax even when it is at the end.
	for _, doc := range []string{`{"a":tx`, `{"a":t}`, `{"a" 1`, `{"a":1]`, `[1 2`, `{"a":"\x"`, `{1`, `x`} {
		if _, err := pre.ParsePrefix([]byte(doc), MaxDepth); !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: ParsePrefix error %v, want ErrSyntax", doc, err)
		}
	}
	deep := strings.Repeat(`{"a":`, 5) + "1" + strings.Repeat("}", 5)
	if _, err := pre.ParsePrefix([]byte(deep), 4); err == nil {
		t.Error("depth 5 within a limit of 4")
	}
	if _, err := pre.ParsePrefix([]byte(deep), 5); err != nil {
		t.Errorf("depth 5 within a limit of 5: %v", err)
	}
	if err := pre.Parse([]byte(deep)); err != nil {
		t.Errorf("Parse after a ParsePrefix with a lower limit: %v", err)
	}
}

func TestReuseDoesNotAllocate(t *testing.T) {
	var tr Tree
	doc := []byte(`{"eventName":"x\n","a":[1,2,{"b":"c"}],"userIdentity":{"type":"Root"}}`)
	_ = tr.Parse(doc)
	if n := testing.AllocsPerRun(100, func() { _ = tr.Parse(doc) }); n != 0 {
		t.Errorf("%v allocations per parse", n)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"a":[1,"\u00e9",{"b":null}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var tr Tree
		err := tr.Parse(data)
		if json.Valid(data) != (err == nil) {
			// We accept control characters in strings; encoding/json does not.
			if err != nil {
				t.Errorf("valid JSON rejected: %v", err)
			}
		}
	})
}
