package mpw

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/msgpack"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/jsontree"
)

func TestAppendJSONText(t *testing.T) {
	for in, want := range map[string]string{
		` { "a" : [ 1 , -0 , 1.50 , 2E+3 , true , false , null , { } , [ ] ] } `: `{"a":[1,-0,1.50,2E+3,true,false,null,{},[]]}`,
		`{"e":"q\"b\\s\/n\nt\tc\u0001u\u00e9\ud83d\ude00","k\u00e9":1}`:          `{"e":"q\"b\\s/n\nt\tc\u0001ué😀","ké":1}`,
		"{\"bad\":\"a\xffb\",\"\xfe\":1}":                                        "{\"bad\":\"a\uFFFDb\",\"\uFFFD\":1}",
		`{"dup":1,"dup":2}`:                                                      `{"dup":1,"dup":2}`,
		`[1-2,01,1e,--1]`:                                                        `["1-2","01","1e","--1"]`,
		`[]`:                                                                     `[]`,
	} {
		var tr jsontree.Tree
		if err := tr.Parse([]byte(in)); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		b := AppendJSONText([]byte("p"), &tr, 0)
		v, rest, err := msgpack.Decode(b[1:])
		if err != nil || len(rest) != 0 || v != want {
			t.Errorf("%q: got %#v (%v), want %q", in, v, err, want)
			continue
		}
		if s := v.(string); !json.Valid([]byte(s)) || !utf8.ValidString(s) {
			t.Errorf("%q: %q is not valid JSON", in, s)
		}
	}
	// Long texts get the right header.
	for _, n := range []int{10, 40, 300, 70000} {
		in := `["` + strings.Repeat("x", n) + `"]`
		var tr jsontree.Tree
		if err := tr.Parse([]byte(in)); err != nil {
			t.Fatal(err)
		}
		v, rest, err := msgpack.Decode(AppendJSONText(nil, &tr, 0))
		if err != nil || len(rest) != 0 || v != in {
			t.Errorf("length %d: %v", n, err)
		}
	}
}

func TestAppendNodeDepth(t *testing.T) {
	in := strings.Repeat(`{"n":`, 40) + `1` + strings.Repeat(`}`, 40)
	var tr jsontree.Tree
	if err := tr.Parse([]byte(in)); err != nil {
		t.Fatal(err)
	}
	for level := 1; level <= msgpack.MaxDepth+1; level++ {
		b := AppendNode(nil, &tr, 0, level)
		d, _, err := msgpack.Depth(b)
		if err != nil || level-1+d > msgpack.MaxDepth {
			t.Fatalf("level %d: value nests %d (%v)", level, d, err)
		}
	}
}

// TestScalarsMatchMsgpack: the Writer's own encodings of strings, integers
// and booleans are those of package msgpack, at every header size.
func TestScalarsMatchMsgpack(t *testing.T) {
	var w Writer
	for _, n := range []int{0, 1, 31, 32, 255, 256, 65535, 65536} {
		s := strings.Repeat("k", n)
		w.Reset([]byte("p"))
		w.Begin()
		w.Str(s, []byte(s))
		w.StrS(s, s)
		w.StrB([]byte(s), []byte(s))
		w.ElemStr([]byte(s))
		w.ElemStrS(s)
		w.End()
		var want []byte
		want = append(want, 'p')
		for range 3 {
			want = msgpack.AppendString(msgpack.AppendString(want, s), s)
		}
		want = msgpack.AppendString(msgpack.AppendString(want, s), s)
		if string(w.B) != string(want) {
			t.Errorf("strings of %d bytes: encodings differ", n)
		}
	}
	for _, v := range []int64{0, 1, 127, 128, 255, 256, -1, -32, -33, -129, 1 << 40, -1 << 40} {
		w.Reset(nil)
		w.Begin()
		w.Int("i", v)
		w.Bool("t", v > 0)
		w.End()
		want := msgpack.AppendBool(msgpack.AppendString(msgpack.AppendInt(msgpack.AppendString(nil, "i"), v), "t"), v > 0)
		if string(w.B) != string(want) {
			t.Errorf("Int(%d): % x, want % x", v, w.B, want)
		}
	}
}
