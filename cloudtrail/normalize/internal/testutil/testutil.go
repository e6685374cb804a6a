// Package testutil helps the normalize tests: a small msgpack decoder to
// inspect entries, and loaders for the CloudTrail test data. It is only
// imported by tests.
package testutil

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/msgpack"
)

// Decode decodes one msgpack value from b and returns it and the rest of b.
// Maps become map[string]any, arrays []any, integers int64 (uint64 above
// MaxInt64), floats float64, ext type 0 of size 8 time.Time.
func Decode(b []byte) (any, []byte, error) {
	if len(b) == 0 {
		return nil, nil, io.ErrUnexpectedEOF
	}
	c := b[0]
	b = b[1:]
	need := func(n int) error {
		if len(b) < n {
			return io.ErrUnexpectedEOF
		}
		return nil
	}
	switch {
	case c <= 0x7f:
		return int64(c), b, nil
	case c >= 0xe0:
		return int64(int8(c)), b, nil
	case c&0xf0 == 0x80:
		return decodeMap(b, int(c&0x0f))
	case c&0xf0 == 0x90:
		return decodeArray(b, int(c&0x0f))
	case c&0xe0 == 0xa0:
		return decodeStr(b, int(c&0x1f))
	}
	switch c {
	case 0xc0:
		return nil, b, nil
	case 0xc2:
		return false, b, nil
	case 0xc3:
		return true, b, nil
	case 0xcc, 0xd0:
		if err := need(1); err != nil {
			return nil, nil, err
		}
		if c == 0xcc {
			return int64(b[0]), b[1:], nil
		}
		return int64(int8(b[0])), b[1:], nil
	case 0xcd, 0xd1:
		if err := need(2); err != nil {
			return nil, nil, err
		}
		v := binary.BigEndian.Uint16(b)
		if c == 0xcd {
			return int64(v), b[2:], nil
		}
		return int64(int16(v)), b[2:], nil
	case 0xce, 0xd2:
		if err := need(4); err != nil {
			return nil, nil, err
		}
		v := binary.BigEndian.Uint32(b)
		if c == 0xce {
			return int64(v), b[4:], nil
		}
		return int64(int32(v)), b[4:], nil
	case 0xcf, 0xd3:
		if err := need(8); err != nil {
			return nil, nil, err
		}
		v := binary.BigEndian.Uint64(b)
		if c == 0xcf {
			if v > math.MaxInt64 {
				return v, b[8:], nil
			}
			return int64(v), b[8:], nil
		}
		return int64(v), b[8:], nil
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
	case 0xd9:
		if err := need(1); err != nil {
			return nil, nil, err
		}
		return decodeStr(b[1:], int(b[0]))
	case 0xda:
		if err := need(2); err != nil {
			return nil, nil, err
		}
		return decodeStr(b[2:], int(binary.BigEndian.Uint16(b)))
	case 0xdb:
		if err := need(4); err != nil {
			return nil, nil, err
		}
		return decodeStr(b[4:], int(binary.BigEndian.Uint32(b)))
	case 0xdc:
		if err := need(2); err != nil {
			return nil, nil, err
		}
		return decodeArray(b[2:], int(binary.BigEndian.Uint16(b)))
	case 0xdd:
		if err := need(4); err != nil {
			return nil, nil, err
		}
		return decodeArray(b[4:], int(binary.BigEndian.Uint32(b)))
	case 0xde:
		if err := need(2); err != nil {
			return nil, nil, err
		}
		return decodeMap(b[2:], int(binary.BigEndian.Uint16(b)))
	case 0xdf:
		if err := need(4); err != nil {
			return nil, nil, err
		}
		return decodeMap(b[4:], int(binary.BigEndian.Uint32(b)))
	case 0xd7:
		if err := need(9); err != nil {
			return nil, nil, err
		}
		if b[0] != 0 {
			return nil, nil, fmt.Errorf("msgpack: ext type %d", b[0])
		}
		sec := binary.BigEndian.Uint32(b[1:])
		nsec := binary.BigEndian.Uint32(b[5:])
		return time.Unix(int64(sec), int64(nsec)).UTC(), b[9:], nil
	}
	return nil, nil, fmt.Errorf("msgpack: unsupported type byte 0x%02x", c)
}

func decodeStr(b []byte, n int) (any, []byte, error) {
	if len(b) < n {
		return nil, nil, io.ErrUnexpectedEOF
	}
	return string(b[:n]), b[n:], nil
}

func decodeArray(b []byte, n int) (any, []byte, error) {
	a := make([]any, 0, min(n, 1024))
	for range n {
		v, rest, err := Decode(b)
		if err != nil {
			return nil, nil, err
		}
		a = append(a, v)
		b = rest
	}
	return a, b, nil
}

func decodeMap(b []byte, n int) (any, []byte, error) {
	m := make(map[string]any, min(n, 1024))
	for range n {
		k, rest, err := Decode(b)
		if err != nil {
			return nil, nil, err
		}
		ks, ok := k.(string)
		if !ok {
			return nil, nil, fmt.Errorf("msgpack: map key of type %T", k)
		}
		if _, dup := m[ks]; dup {
			return nil, nil, fmt.Errorf("msgpack: duplicate map key %q", ks)
		}
		v, rest, err := Decode(rest)
		if err != nil {
			return nil, nil, err
		}
		m[ks] = v
		b = rest
	}
	return m, b, nil
}

// FluentBitMaxDepth is the deepest container level Fluent Bit's msgpack-c
// unpacker accepts (MSGPACK_EMBED_STACK_SIZE), the entry array being
// level 1.
const FluentBitMaxDepth = 32

// Entry decodes one Fluent Bit entry [EventTime, {body}] that must fill b
// exactly and that Fluent Bit must be able to read: it may not nest deeper
// than FluentBitMaxDepth.
func Entry(b []byte) (time.Time, map[string]any, error) {
	if d, _, err := msgpack.Depth(b); err != nil {
		return time.Time{}, nil, err
	} else if d > FluentBitMaxDepth {
		return time.Time{}, nil, fmt.Errorf("entry nests %d containers deep, Fluent Bit reads %d", d, FluentBitMaxDepth)
	}
	v, rest, err := Decode(b)
	if err != nil {
		return time.Time{}, nil, err
	}
	if len(rest) != 0 {
		return time.Time{}, nil, fmt.Errorf("%d bytes after the entry", len(rest))
	}
	a, ok := v.([]any)
	if !ok || len(a) != 2 {
		return time.Time{}, nil, fmt.Errorf("entry is %T, not a 2-element array", v)
	}
	ts, ok := a[0].(time.Time)
	if !ok {
		return time.Time{}, nil, fmt.Errorf("entry time is %T", a[0])
	}
	body, ok := a[1].(map[string]any)
	if !ok {
		return time.Time{}, nil, fmt.Errorf("entry body is %T", a[1])
	}
	return ts, body, nil
}

// Get follows a dotted path through nested maps.
func Get(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = mm[k]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// Flatten returns the leaves of v keyed by dotted path; arrays are leaves.
func Flatten(v any) map[string]any {
	out := map[string]any{}
	var walk func(string, any)
	walk = func(p string, v any) {
		if m, ok := v.(map[string]any); ok {
			for k, c := range m {
				if p == "" {
					walk(k, c)
				} else {
					walk(p+"."+k, c)
				}
			}
			return
		}
		out[p] = v
	}
	walk("", v)
	return out
}

// Normalize makes decoded JSON and decoded msgpack comparable: numbers
// become float64, time.Time stays.
func Normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, c := range x {
			m[k] = Normalize(c)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, c := range x {
			a[i] = Normalize(c)
		}
		return a
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case json.Number:
		f, _ := x.Float64()
		return f
	}
	return v
}

// Event is one CloudTrail record from the test data.
type Event struct {
	File  string // path relative to the data root
	Index int
	JSON  []byte
}

// ProjectRoot returns the module root (the directory with go.mod).
func ProjectRoot() string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// ProjectTestData is test/testdata/cloudtrail in the project.
func ProjectTestData() string {
	return filepath.Join(ProjectRoot(), "test", "testdata", "cloudtrail")
}

// SharedDir returns the shared folder (env SHARED_DIR, else ../shared next
// to the project), or "" when it does not exist.
func SharedDir() string {
	dir := os.Getenv("SHARED_DIR")
	if dir == "" {
		dir = filepath.Join(ProjectRoot(), "..", "shared")
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return ""
	}
	return dir
}

// Corpus returns every event of the project's test data plus, when the
// shared folder is present, Elastic's inputs (read in place: they are ELv2
// and are not copied into the project).
func Corpus(t testing.TB) []Event {
	t.Helper()
	events, err := LoadEvents(ProjectTestData())
	if err != nil {
		t.Fatal(err)
	}
	if dir := SharedDir(); dir != "" {
		more, err := LoadEvents(filepath.Join(dir, "testdata", "cloudtrail", "elastic-integrations"))
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, more...)
	} else {
		t.Log("shared folder not found (set SHARED_DIR): Elastic's inputs are not part of this run")
	}
	return events
}

// LoadEvents reads every CloudTrail record below root: {"Records":[…]}
// files (plain or gzip), and JSON-lines *.log files. Digest files, expected
// outputs and manifests are skipped.
func LoadEvents(root string) ([]Event, error) {
	var events []Event
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "digest" {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		rel, _ := filepath.Rel(root, path)
		switch {
		case strings.HasSuffix(name, ".ocsf.json"), strings.HasSuffix(name, "-expected.json"):
			return nil
		case strings.HasSuffix(name, ".json"), strings.HasSuffix(name, ".json.gz"), strings.HasSuffix(name, ".test.gz"):
			data, err := ReadMaybeGzip(path)
			if err != nil {
				return err
			}
			recs, err := SplitRecords(data)
			if err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			for i, r := range recs {
				events = append(events, Event{File: rel, Index: i, JSON: r})
			}
		case strings.HasSuffix(name, ".log"):
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			i := 0
			for line := range bytes.SplitSeq(data, []byte("\n")) {
				line = bytes.TrimSpace(line)
				if len(line) == 0 {
					continue
				}
				events = append(events, Event{File: rel, Index: i, JSON: line})
				i++
			}
		}
		return nil
	})
	sort.SliceStable(events, func(i, j int) bool { return events[i].File < events[j].File })
	return events, err
}

// ReadMaybeGzip reads a file, gunzipping it when it is gzip.
func ReadMaybeGzip(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return io.ReadAll(zr)
	}
	return data, nil
}

// SplitRecords returns the raw JSON of each element of the Records array of
// a CloudTrail log file; a file without Records (a digest) gives none.
func SplitRecords(data []byte) ([][]byte, error) {
	var f struct {
		Records []json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	out := make([][]byte, len(f.Records))
	for i, r := range f.Records {
		out[i] = r
	}
	return out, nil
}

// ErrSkip marks missing optional data.
var ErrSkip = errors.New("skip")

// Compact returns data without insignificant whitespace, as CloudTrail
// delivers records.
func Compact(data []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return data
	}
	return buf.Bytes()
}

// BenchEvents returns every record of the project's test data, compacted
// as CloudTrail writes it, and their total length: the event mix of the
// encoder and parser benchmarks.
func BenchEvents(b testing.TB) ([][]byte, int) {
	b.Helper()
	evs, err := LoadEvents(ProjectTestData())
	if err != nil {
		b.Fatal(err)
	}
	out := make([][]byte, len(evs))
	total := 0
	for i, e := range evs {
		out[i] = Compact(e.JSON)
		total += len(out[i])
	}
	return out, total
}

// Unfold undoes the deep-value rule of the encoders on a decoded value that
// sits at nesting level level of its entry (the body is level 2): a string
// found deeper than msgpack.MaxDepth that holds a JSON object or array is
// replaced by its decoding (numbers as json.Number), so the result can be
// compared with the original JSON after Normalize.
func Unfold(v any, level int) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, c := range x {
			m[k] = Unfold(c, level+1)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, c := range x {
			a[i] = Unfold(c, level+1)
		}
		return a
	case string:
		if level > msgpack.MaxDepth && (strings.HasPrefix(x, "{") || strings.HasPrefix(x, "[")) {
			d := json.NewDecoder(strings.NewReader(x))
			d.UseNumber()
			var out any
			if err := d.Decode(&out); err == nil && !d.More() {
				return out
			}
		}
	}
	return v
}

// DeepValue returns JSON text nesting depth containers: objects {"n":...}
// (kind "object"), arrays [0,...] (kind "array") or both alternating (any
// other kind), around the string "x\"é".
func DeepValue(kind string, depth int) string {
	var open strings.Builder
	closing := make([]byte, depth)
	for k := 0; k < depth; k++ {
		if kind == "array" || kind != "object" && k%2 == 1 {
			open.WriteString(`[0,`)
			closing[depth-1-k] = ']'
		} else {
			open.WriteString(`{"n":`)
			closing[depth-1-k] = '}'
		}
	}
	return open.String() + `"x\"\u00e9"` + string(closing)
}
