package msgpack

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	ints := []int64{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64}
	for _, v := range ints {
		got, rest, err := Decode(AppendInt(nil, v))
		if err != nil || len(rest) != 0 || got != v {
			t.Errorf("int %d: got %v %v", v, got, err)
		}
	}
	if got, _, _ := Decode(AppendUint(nil, math.MaxUint64)); got != uint64(math.MaxUint64) {
		t.Errorf("uint64 max: %v", got)
	}
	for _, n := range []int{0, 31, 32, 255, 256, 65535, 65536} {
		s := strings.Repeat("x", n)
		if got, _, err := Decode(AppendString(nil, s)); err != nil || got != s {
			t.Errorf("string len %d: %v", n, err)
		}
	}
	for _, n := range []int{0, 15, 16, 65535, 65536} {
		b := AppendArrayHeader(nil, n)
		m := AppendMapHeader(nil, n)
		want := make(map[string]any, n)
		for i := 0; i < n; i++ {
			b = AppendNil(b)
			k := string(rune('a'+i%26)) + strings.Repeat("k", i/26)
			m = AppendString(m, k)
			m = AppendBool(m, i%2 == 0)
			want[k] = i%2 == 0
		}
		got, _, err := Decode(b)
		if err != nil || len(got.([]any)) != n {
			t.Errorf("array %d: %v", n, err)
		}
		gm, _, err := Decode(m)
		if err != nil || !reflect.DeepEqual(gm, want) {
			t.Errorf("map %d: %v", n, err)
		}
	}
	if got, _, _ := Decode(AppendFloat(nil, 1.5)); got != 1.5 {
		t.Errorf("float: %v", got)
	}
}

func TestEntries(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC)
	var b []byte
	b = AppendArrayHeader(b, 2)
	b = AppendEventTime(b, ts)
	b = AppendMapHeader(b, 1)
	b = AppendString(b, "k")
	b = AppendString(b, "v")
	es, err := DecodeEntries(b)
	if err != nil || len(es) != 1 || !es[0].Time.Equal(ts) || es[0].Body["k"] != "v" {
		t.Fatalf("%v %+v", err, es)
	}
	// Fluent Bit rejects a negative integer timestamp and a bare map.
	bad := AppendArrayHeader(nil, 2)
	bad = AppendInt(bad, -1)
	bad = AppendMapHeader(bad, 0)
	if _, err := DecodeEntries(bad); err == nil {
		t.Error("negative timestamp accepted")
	}
	if _, err := DecodeEntries(AppendMapHeader(nil, 0)); err == nil {
		t.Error("bare map accepted")
	}
	if _, err := DecodeEntries(b[:len(b)-1]); err == nil {
		t.Error("truncated entry accepted")
	}
}

func TestPatchHeaders(t *testing.T) {
	b, off := AppendMapHeader32(nil)
	b = AppendString(b, "a")
	b = AppendInt(b, 1)
	PatchMapHeader(b, off, 1)
	v, rest, err := Decode(b)
	if err != nil || len(rest) != 0 || v.(map[string]any)["a"] != int64(1) {
		t.Fatalf("%v %v", v, err)
	}
}

func TestDepth(t *testing.T) {
	nest := func(d int, empty bool) []byte {
		var b []byte
		for k := 0; k < d; k++ {
			if k%2 == 0 {
				b = AppendMapHeader(b, 1)
				b = AppendString(b, "k")
			} else {
				b = AppendArrayHeader(b, 1)
			}
		}
		if empty {
			return AppendArrayHeader(b, 0)
		}
		return AppendInt(b, 1)
	}
	for _, d := range []int{0, 1, 2, 31, 32, 33, 1000, 100000} {
		b := append(nest(d, false), 0xc0)
		got, rest, err := Depth(b)
		if err != nil || got != d || len(rest) != 1 {
			t.Errorf("depth %d: got %d, %d bytes left, %v", d, got, len(rest), err)
		}
		if got, _, err := Depth(nest(d, true)); err != nil || got != d+1 {
			t.Errorf("depth %d + empty array: got %d, %v", d, got, err)
		}
	}
	var b []byte
	b = AppendArrayHeader(b, 2)
	b = AppendMapHeader(b, 20)
	for k := 0; k < 20; k++ {
		b = AppendInt(b, int64(k))
		b = AppendArrayHeader(b, 0)
	}
	b = AppendString(b, strings.Repeat("x", 70000))
	if got, rest, err := Depth(b); err != nil || got != 3 || len(rest) != 0 {
		t.Errorf("wide: got %d, %d bytes left, %v", got, len(rest), err)
	}
	for _, bad := range [][]byte{nil, {0x91}, {0x81, 0xa1, 'k'}, {0xdc, 0}, {0xdd, 0, 0, 0, 9, 1}} {
		if _, _, err := Depth(bad); err == nil {
			t.Errorf("% x: no error", bad)
		}
	}
}

func TestEntriesTooDeep(t *testing.T) {
	entry := func(depth int) []byte {
		b := AppendArrayHeader(nil, 2)
		b = AppendEventTime(b, time.Unix(1, 0))
		b = AppendMapHeader(b, 1)
		b = AppendString(b, "k")
		for i := 0; i < depth-2; i++ {
			b = AppendArrayHeader(b, 1)
		}
		return AppendNil(b)
	}
	if _, err := DecodeEntries(entry(32)); err != nil {
		t.Errorf("32 levels rejected: %v", err)
	}
	if _, err := DecodeEntries(entry(33)); err == nil {
		t.Error("33 levels accepted; Fluent Bit drops them")
	}
}
