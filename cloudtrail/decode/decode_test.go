package decode

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode/transcodetest"
)

var testSrc = &record.Source{
	QueueURL:  "https://sqs.eu-west-1.amazonaws.com/111122223333/ct",
	MessageID: "0f3c1a2b-msg",
	Bucket:    "trail-bucket",
	Key:       "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/01/02/obj.json.gz",
	Received:  time.Date(2024, 7, 8, 9, 10, 11, 12, time.UTC),
}

// result is everything one Decode call produced.
type result struct {
	out     []byte // batches concatenated
	batches [][]byte
	counts  []int
	stats   Stats
	err     error
}

func run(t testing.TB, d *Decoder, r io.Reader, batchBytes int) result {
	t.Helper()
	var res result
	res.stats, res.err = d.Decode(r, testSrc, batchBytes, func(b []byte, n int) error {
		res.batches = append(res.batches, b)
		res.counts = append(res.counts, n)
		res.out = append(res.out, b...)
		return nil
	})
	return res
}

func decodeString(t testing.TB, data []byte) result {
	t.Helper()
	return run(t, New(&transcode.Raw{}, Limits{}), bytes.NewReader(data), 1<<20)
}

func gz(_ testing.TB, data []byte) []byte { return transcodetest.Gzip(data) }

// checkEntries compares decoded entries with encoding/json's view of the
// events, including the source map and the timestamp.
func checkEntries(t *testing.T, name string, out []byte, events []json.RawMessage) {
	t.Helper()
	es, err := transcodetest.DecodeEntries(out)
	if err != nil {
		t.Fatalf("%s: output does not decode: %v", name, err)
	}
	if len(es) != len(events) {
		t.Fatalf("%s: %d entries, want %d", name, len(es), len(events))
	}
	for i, e := range es {
		want, err := transcodetest.UnmarshalJSON(events[i])
		if err != nil {
			t.Fatalf("%s: event %d: %v", name, i, err)
		}
		wm := want.(map[string]any)
		last := e.Body[len(e.Body)-1]
		if last.Key != record.SourceKey {
			t.Fatalf("%s: event %d: last key %q", name, i, last.Key)
		}
		if d := transcodetest.Equal(e.Body[:len(e.Body)-1], wm); d != "" {
			t.Fatalf("%s: event %d: %s", name, i, d)
		}
		// Key order is the event's.
		if keys := topKeys(t, events[i]); len(keys) != len(e.Body)-1 {
			t.Fatalf("%s: event %d: key count", name, i)
		} else {
			for k, key := range keys {
				if e.Body[k].Key != key {
					t.Fatalf("%s: event %d: key %d is %q, want %q", name, i, k, e.Body[k].Key, key)
				}
			}
		}
		sm := last.Val.(transcodetest.Map)
		for _, kv := range []transcodetest.KV{
			{Key: "bucket", Val: testSrc.Bucket}, {Key: "key", Val: testSrc.Key},
			{Key: "sqs_message_id", Val: testSrc.MessageID}, {Key: "queue_url", Val: testSrc.QueueURL},
		} {
			if v, _ := sm.Get(kv.Key); v != kv.Val {
				t.Fatalf("%s: event %d: source %s = %v, want %v", name, i, kv.Key, v, kv.Val)
			}
		}
		wantTime, valid := testSrc.Received, false
		if s, ok := wm["eventTime"].(string); ok {
			if tt, err := time.Parse(time.RFC3339, s); err == nil {
				wantTime, valid = tt, true
			}
		}
		if _, invalid := sm.Get("event_time_invalid"); invalid == valid {
			t.Fatalf("%s: event %d: event_time_invalid=%v for eventTime %v", name, i, invalid, wm["eventTime"])
		}
		if !e.Time.Equal(wantTime) {
			t.Fatalf("%s: event %d: time %v, want %v", name, i, e.Time, wantTime)
		}
	}
}

func topKeys(t *testing.T, ev []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(ev))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("event does not start with '{': %v", err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

const testdata = "../../test/testdata/cloudtrail"

// realFiles lists the CloudTrail log and digest files in the shared test
// data, skipping OCSF outputs and manifests.
func realFiles(t testing.TB) (logs, digests []string) {
	err := filepath.WalkDir(testdata, func(p string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		switch {
		case strings.HasSuffix(p, ".ocsf.json"), strings.HasSuffix(p, ".jsonl"):
		case strings.Contains(p, "/digest/"):
			digests = append(digests, p)
		case strings.HasSuffix(p, ".json"), strings.HasSuffix(p, ".gz"):
			logs = append(logs, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) < 20 || len(digests) < 2 {
		t.Fatalf("found %d log files and %d digests under %s", len(logs), len(digests), testdata)
	}
	return logs, digests
}

func readPlain(t testing.TB, p string) []byte {
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

func TestRealFiles(t *testing.T) {
	logs, digests := realFiles(t)
	d := New(&transcode.Raw{}, Limits{})
	total := 0
	for _, p := range logs {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		res := run(t, d, bytes.NewReader(data), 4096)
		if res.err != nil {
			t.Fatalf("%s: %v", p, res.err)
		}
		var doc struct{ Records []json.RawMessage }
		if err := json.Unmarshal(readPlain(t, p), &doc); err != nil {
			t.Fatalf("%s: encoding/json: %v", p, err)
		}
		if len(doc.Records) == 0 {
			t.Fatalf("%s: no records", p)
		}
		checkEntries(t, p, res.out, doc.Records)
		if res.stats.Events != len(doc.Records) || res.stats.Gzip != strings.HasSuffix(p, ".gz") || res.stats.Skipped != 0 {
			t.Errorf("%s: stats %+v", p, res.stats)
		}
		total += len(doc.Records)
	}
	t.Logf("%d events in %d files", total, len(logs))
	for _, p := range digests {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		res := run(t, d, f, 4096)
		f.Close()
		if res.err != nil || res.stats.Skipped != 1 || res.stats.Events != 0 || len(res.batches) != 0 {
			t.Errorf("%s: digest: stats %+v, err %v", p, res.stats, res.err)
		}
	}
}

func TestGzipAndPlainAgree(t *testing.T) {
	c := transcodetest.Generate(300)
	plain := decodeString(t, c.JSON)
	zipped := decodeString(t, c.Gzip)
	if plain.err != nil || zipped.err != nil {
		t.Fatal(plain.err, zipped.err)
	}
	if !bytes.Equal(plain.out, zipped.out) {
		t.Fatal("gzip and plain output differ")
	}
	var doc struct{ Records []json.RawMessage }
	if err := json.Unmarshal(c.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	checkEntries(t, "corpus", plain.out, doc.Records)
	if s := plain.stats; s.Gzip || s.Events != 300 || s.CompressedBytes != int64(len(c.JSON)) || s.UncompressedBytes != int64(len(c.JSON)) {
		t.Errorf("plain stats %+v", s)
	}
	if s := zipped.stats; !s.Gzip || s.Events != 300 || s.CompressedBytes != int64(len(c.Gzip)) || s.UncompressedBytes != int64(len(c.JSON)) {
		t.Errorf("gzip stats %+v (gz %d, json %d)", s, len(c.Gzip), len(c.JSON))
	}
	for i, e := range mustEntries(t, plain.out) {
		if !e.Time.Equal(c.EventTimes[i]) {
			t.Fatalf("event %d: time %v, want %v", i, e.Time, c.EventTimes[i])
		}
	}

	// Short reads must not change anything.
	for name, r := range map[string]io.Reader{
		"one-byte plain": iotest.OneByteReader(bytes.NewReader(c.JSON)),
		"half plain":     iotest.HalfReader(bytes.NewReader(c.JSON)),
		"one-byte gzip":  iotest.OneByteReader(bytes.NewReader(c.Gzip)),
		"data+EOF gzip":  iotest.DataErrReader(bytes.NewReader(c.Gzip)),
	} {
		res := run(t, New(&transcode.Raw{}, Limits{}), r, 1<<20)
		if res.err != nil || !bytes.Equal(res.out, plain.out) {
			t.Errorf("%s: output differs (err %v)", name, res.err)
		}
	}
}

func mustEntries(t *testing.T, b []byte) []transcodetest.Entry {
	t.Helper()
	es, err := transcodetest.DecodeEntries(b)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// appendOnly hides an encoder's fast paths (Raw's AppendPrefix, the
// normalizers' AppendObjectPrefix), so the decoder scans every event and
// calls Append: the generic path every other Encoder takes.
type appendOnly struct{ enc record.Encoder }

func (a appendOnly) Append(dst, ev []byte, src *record.Source) ([]byte, error) {
	return a.enc.Append(dst, ev, src)
}

func TestGenericEncoderPath(t *testing.T) {
	c := transcodetest.Generate(500)
	want := decodeString(t, c.Gzip)
	got := run(t, New(appendOnly{&transcode.Raw{}}, Limits{}), bytes.NewReader(c.Gzip), 1<<20)
	if want.err != nil || got.err != nil || !bytes.Equal(want.out, got.out) {
		t.Fatalf("generic path differs: %v %v", want.err, got.err)
	}
	logs, _ := realFiles(t)
	for _, p := range logs {
		data, _ := os.ReadFile(p)
		a := decodeString(t, data)
		b := run(t, New(appendOnly{&transcode.Raw{}}, Limits{}), iotest.HalfReader(bytes.NewReader(data)), 1<<20)
		if a.err != nil || b.err != nil || !bytes.Equal(a.out, b.out) {
			t.Fatalf("%s: generic path differs: %v %v", p, a.err, b.err)
		}
	}
}

func TestMultiMemberGzip(t *testing.T) {
	c := transcodetest.Generate(100)
	var multi []byte
	for _, part := range [][]byte{c.JSON[:1000], c.JSON[1000:50000], c.JSON[50000:]} {
		multi = append(multi, gz(t, part)...)
	}
	want := decodeString(t, c.JSON)
	got := decodeString(t, multi)
	if got.err != nil || !bytes.Equal(got.out, want.out) || got.stats.Events != 100 {
		t.Fatalf("multi-member: err %v, events %d", got.err, got.stats.Events)
	}
}

func TestShapes(t *testing.T) {
	ev1 := `{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventName":"A","n":1}`
	ev2 := `{"eventID":"x","eventTime":"2024-01-02T03:04:06Z","nested":{"Records":[1]}}`
	ev3 := `{"eventName":"C","eventTime":"2024-01-02T03:04:07.5Z"}`
	events := []json.RawMessage{json.RawMessage(ev1), json.RawMessage(ev2), json.RawMessage(ev3)}
	digest := `{"awsAccountId":"1","digestStartTime":"2015-08-17T14:01:31Z","logFiles":[{"s3Object":"x"}],"digestS3Object":"y"}`
	cases := map[string]struct {
		in      string
		skipped int
	}{
		"json lines":          {ev1 + "\n" + ev2 + "\n" + ev3 + "\n", 0},
		"concatenated":        {ev1 + ev2 + ev3, 0},
		"crlf lines":          {ev1 + "\r\n" + ev2 + "\r\n" + ev3, 0},
		"top-level array":     {"[" + ev1 + ",\n" + ev2 + " , " + ev3 + "]", 0},
		"records":             {`{"Records":[` + ev1 + "," + ev2 + "," + ev3 + `]}`, 0},
		"records late":        {`{"a":{"b":[1,"]}"]},"c":"}","Records":[` + ev1 + "," + ev2 + "," + ev3 + `],"z":[{}]}`, 0},
		"records split":       {`{"Records":[` + ev1 + `]}` + "\n" + `{"x":1,"Records":[` + ev2 + "," + ev3 + `]}`, 0},
		"records with digest": {digest + `{"Records":[` + ev1 + "," + ev2 + "," + ev3 + `]}` + digest, 2},
		"pretty":              {"{\n  \"Records\" : [\n " + ev1 + " ,\n " + ev2 + "\n,\n" + ev3 + "\n ]\n}\n", 0},
	}
	for name, c := range cases {
		for _, data := range [][]byte{[]byte(c.in), gz(t, []byte(c.in))} {
			res := decodeString(t, data)
			if res.err != nil {
				t.Fatalf("%s: %v", name, res.err)
			}
			checkEntries(t, name, res.out, events)
			if res.stats.Skipped != c.skipped {
				t.Errorf("%s: skipped %d, want %d", name, res.stats.Skipped, c.skipped)
			}
		}
	}
	for _, in := range []string{`{"Records":[]}`, `[]`, `{"Records":[],"x":null}`} {
		if res := decodeString(t, []byte(in)); res.err != nil || res.stats.Events != 0 || len(res.batches) != 0 {
			t.Errorf("%s: %v %+v", in, res.err, res.stats)
		}
	}
}

func TestErrors(t *testing.T) {
	c := transcodetest.Generate(200)
	// A deflate block of the reserved type 3 right after the header.
	corrupt := append(bytes.Clone(c.Gzip[:10]), 0x07, 0, 0, 0, 0)
	flipped := bytes.Clone(c.Gzip)
	flipped[len(flipped)/2] ^= 0xff
	badCRC := bytes.Clone(c.Gzip)
	badCRC[len(badCRC)-6] ^= 0xff
	ev := `{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z"}`
	cases := []struct {
		name, in string
		is       error
		msg      string
		events   int // entries emitted before the error
	}{
		{"empty object", "", ErrEmpty, "empty object", 0},
		{"whitespace only", " \n\t ", ErrEmpty, "no JSON value", 0},
		{"empty gzip", string(gz(t, nil)), ErrEmpty, "no JSON value", 0},
		{"corrupt gzip", string(corrupt), nil, "gzip data corrupt", 0},
		{"flipped gzip byte", string(flipped), nil, "", -1},
		{"gzip checksum", string(badCRC), nil, "checksum", -1},
		{"truncated gzip", string(c.Gzip[:len(c.Gzip)/2]), nil, "gzip data truncated", -1},
		{"gzip header only", string(c.Gzip[:5]), nil, "gzip header", 0},
		{"gzip trailing garbage", string(c.Gzip) + "garbage", nil, "gzip", 200},
		{"truncated json", string(c.JSON[:len(c.JSON)/2]), ErrTruncated, "Records[", -1},
		{"truncated after records", `{"Records":[` + ev + `]`, ErrTruncated, "unexpected end", 1},
		{"truncated in key", `{"Reco`, ErrTruncated, "unexpected end", 0},
		{"records not array", `{"Records":{"a":1}}`, nil, "Records at offset 11 is not an array", 0},
		{"records null", `{"Records":null}`, nil, "not an array", 0},
		{"record not object", `{"Records":[` + ev + `,` + ev + `,"x"]}`, nil, "Records[2] at offset", 2},
		{"record is array", `{"Records":[[` + ev + `]]}`, nil, "Records[0] at offset 12 is not an object", 0},
		{"array element not object", `[` + ev + `,1]`, nil, "array[1]", 1},
		{"bad event", `{"Records":[` + ev + `,{"a":tru}]}`, nil, "Records[1] (event 1) at offset", 1},
		{"not cloudtrail", `{"foo":1,"bar":[1,2]}`, ErrNotCloudTrail, "offset 0", 0},
		{"empty top object", `{}`, ErrNotCloudTrail, "", 0},
		{"top-level scalar", `"Records"`, nil, "want a JSON object or array", 0},
		{"garbage after", `{"Records":[]} x`, nil, "invalid character 'x' at offset 15", 0},
		{"zeros", "\x00\x00\x00", nil, "invalid character", 0},
		{"missing comma", `{"Records":[` + ev + ` ` + ev + `]}`, nil, "want ',' or ']'", 1},
		{"trailing comma", `{"Records":[` + ev + `,]}`, nil, "is not an object", 1},
		{"bad top key", `{"Records":[],}`, nil, "want an object key", 0},
		{"bad skipped value", `{"x":[1,}],"Records":[]}`, nil, "offset 8", 0},
	}
	for _, c := range cases {
		res := decodeString(t, []byte(c.in))
		if res.err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if c.is != nil && !errors.Is(res.err, c.is) {
			t.Errorf("%s: error %v is not %v", c.name, res.err, c.is)
		}
		if !strings.Contains(res.err.Error(), c.msg) {
			t.Errorf("%s: error %q does not contain %q", c.name, res.err, c.msg)
		}
		if c.events >= 0 && res.stats.Events != c.events {
			t.Errorf("%s: %d events emitted before the error, want %d", c.name, res.stats.Events, c.events)
		}
		// Whatever was emitted must be whole entries.
		if _, err := transcodetest.DecodeEntries(res.out); err != nil {
			t.Errorf("%s: emitted output is broken: %v", c.name, err)
		}
	}
}

// TestGzipBomb feeds 1 GiB of valid-looking JSON (whitespace inside Records)
// compressed to about 1 MB. Only the ratio limit can stop it, and it must do
// so after a few MB, with little memory.
func TestGzipBomb(t *testing.T) {
	member := gz(t, bytes.Repeat([]byte(" "), 1<<20))
	bomb := gz(t, []byte(`{"Records":[`))
	for range 1024 {
		bomb = append(bomb, member...)
	}
	t.Logf("bomb: %d compressed bytes for 1 GiB", len(bomb))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	res := decodeString(t, bomb)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if !errors.Is(res.err, ErrLimit) || !strings.Contains(res.err.Error(), "MaxRatio") {
		t.Fatalf("err = %v, want the ratio limit", res.err)
	}
	if res.stats.UncompressedBytes > 64<<20 {
		t.Errorf("decompressed %d bytes before stopping", res.stats.UncompressedBytes)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("allocated %d bytes", alloc)
	}
	t.Logf("stopped after %d bytes in %v: %v", res.stats.UncompressedBytes, elapsed, res.err)

	// Zeros are not JSON: they must fail at once, whatever the size.
	zeros := gz(t, make([]byte, 64<<20))
	res = decodeString(t, zeros)
	if res.err == nil || res.stats.UncompressedBytes > 1<<20 {
		t.Errorf("zeros: err %v after %d bytes", res.err, res.stats.UncompressedBytes)
	}

	// The absolute limit applies to plain and gzip input alike.
	c := transcodetest.Generate(100)
	for _, data := range [][]byte{c.JSON, c.Gzip} {
		res := run(t, New(&transcode.Raw{}, Limits{MaxDecompressedBytes: 50000}), bytes.NewReader(data), 1<<20)
		if !errors.Is(res.err, ErrLimit) || !strings.Contains(res.err.Error(), "MaxDecompressedBytes") {
			t.Errorf("MaxDecompressedBytes: err = %v", res.err)
		}
	}
}

func TestNestingBomb(t *testing.T) {
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	for name, in := range map[string]string{
		"in event":         `{"Records":[{"eventVersion":"1","x":` + deep + `}]}`,
		"in skipped value": `{"other":` + deep + `,"Records":[]}`,
		"in json line":     `{"eventVersion":"1","x":` + deep + `}`,
	} {
		for _, enc := range []record.Encoder{&transcode.Raw{}, appendOnly{&transcode.Raw{}}} {
			res := run(t, New(enc, Limits{}), strings.NewReader(in), 1<<20)
			if res.err == nil || !strings.Contains(res.err.Error(), "nesting depth exceeds") {
				t.Errorf("%s (%T): err = %v", name, enc, res.err)
			}
		}
	}
}

func TestLargeEvent(t *testing.T) {
	big := strings.Repeat("x", 300<<10) // larger than the 64 KiB window
	ev := `{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","big":"` + big + `","arr":[` + strings.Repeat(`{"a":1},`, 20000) + `{}]}`
	small := `{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z"}`
	in := `{"Records":[` + small + "," + ev + "," + small + `]}`
	events := []json.RawMessage{json.RawMessage(small), json.RawMessage(ev), json.RawMessage(small)}
	for _, enc := range []record.Encoder{&transcode.Raw{}, appendOnly{&transcode.Raw{}}} {
		d := New(enc, Limits{})
		res := run(t, d, iotest.HalfReader(strings.NewReader(in)), 1000)
		if res.err != nil {
			t.Fatalf("%T: %v", enc, res.err)
		}
		checkEntries(t, "large event", res.out, events)
		// The next object starts with a small window again.
		c := transcodetest.Generate(10)
		if res := run(t, d, bytes.NewReader(c.Gzip), 1000); res.err != nil || len(d.win.buf) != windowSize {
			t.Errorf("window after a large event: %d bytes, err %v", len(d.win.buf), res.err)
		}
	}
	// An event above MaxEventBytes is an error, not unbounded growth.
	for _, enc := range []record.Encoder{&transcode.Raw{}, appendOnly{&transcode.Raw{}}} {
		res := run(t, New(enc, Limits{MaxEventBytes: 100 << 10}), strings.NewReader(in), 1000)
		if !errors.Is(res.err, ErrLimit) || !strings.Contains(res.err.Error(), "MaxEventBytes") || res.stats.Events != 1 {
			t.Errorf("%T: err = %v, events %d", enc, res.err, res.stats.Events)
		}
	}
}

func TestInvalidEventTime(t *testing.T) {
	in := `{"Records":[{"eventVersion":"1","eventTime":"yesterday"},{"eventVersion":"1"},{"eventVersion":"1","eventTime":"2024-01-02T03:04:05+01:00"}]}`
	res := decodeString(t, []byte(in))
	if res.err != nil {
		t.Fatal(res.err)
	}
	es := mustEntries(t, res.out)
	for i, want := range []time.Time{testSrc.Received, testSrc.Received, time.Date(2024, 1, 2, 2, 4, 5, 0, time.UTC)} {
		if !es[i].Time.Equal(want) {
			t.Errorf("event %d: time %v, want %v", i, es[i].Time, want)
		}
		src, _ := es[i].Body.Get(record.SourceKey)
		v, invalid := src.(transcodetest.Map).Get("event_time_invalid")
		if invalid != (i < 2) || invalid && v != true {
			t.Errorf("event %d: event_time_invalid = %v, %v", i, v, invalid)
		}
	}
}

func TestBatches(t *testing.T) {
	c := transcodetest.Generate(1000)
	whole := decodeString(t, c.Gzip)
	for _, bb := range []int{0, 1, 5000, 64 << 10, 1 << 20, 1 << 30} {
		d := New(&transcode.Raw{}, Limits{})
		var copies [][]byte
		var batches [][]byte
		events := 0
		st, err := d.Decode(bytes.NewReader(c.Gzip), testSrc, bb, func(b []byte, n int) error {
			es, err := transcodetest.DecodeEntries(b)
			if err != nil || len(es) != n {
				t.Fatalf("batchBytes %d: batch of %d entries claims %d: %v", bb, len(es), n, err)
			}
			events += n
			batches = append(batches, b)
			copies = append(copies, bytes.Clone(b))
			return nil
		})
		if err != nil || st.Events != 1000 || events != 1000 {
			t.Fatalf("batchBytes %d: %v, %d events", bb, err, events)
		}
		var all []byte
		for i, b := range batches {
			if i < len(batches)-1 && len(b) < bb {
				t.Errorf("batchBytes %d: batch %d has %d bytes", bb, i, len(b))
			}
			// The decoder must not have written to a batch after
			// handing it over.
			if !bytes.Equal(b, copies[i]) {
				t.Fatalf("batchBytes %d: batch %d changed after emit", bb, i)
			}
			all = append(all, b...)
		}
		if !bytes.Equal(all, whole.out) {
			t.Errorf("batchBytes %d: output differs", bb)
		}
		if bb <= 1 && len(batches) != 1000 || bb == 1<<30 && len(batches) != 1 {
			t.Errorf("batchBytes %d: %d batches", bb, len(batches))
		}
	}
}

func TestEmitError(t *testing.T) {
	c := transcodetest.Generate(1000)
	boom := errors.New("boom")
	calls := 0
	st, err := New(&transcode.Raw{}, Limits{}).Decode(bytes.NewReader(c.Gzip), testSrc, 10000, func(b []byte, n int) error {
		calls++
		if calls == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls != 3 || st.Events == 0 || st.Events >= 1000 {
		t.Fatalf("err %v after %d calls, %d events", err, calls, st.Events)
	}
}

// TestPeakHeap checks that memory does not grow with the object: a
// 10,000-event object (about 18 MB of JSON) must decode within a few MiB of
// heap. Reading the whole object, compressed or not, would exceed it.
func TestPeakHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short mode: decodes an 18 MB object to measure peak heap; make test runs it (no -short)")
	}
	c := transcodetest.Generate(10000)
	data := c.Gzip
	c = transcodetest.Corpus{}
	d := New(&transcode.Raw{}, Limits{})
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }

	runtime.GC()
	runtime.GC()
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-time.After(50 * time.Microsecond):
			}
		}
	}()
	events := 0
	st, err := d.Decode(bytes.NewReader(data), testSrc, 1<<20, func(b []byte, n int) error {
		events += n
		if v := read(); v > peak.Load() {
			peak.Store(v)
		}
		return nil
	})
	close(done)
	<-stopped
	if err != nil || events != 10000 {
		t.Fatalf("%v, %d events", err, events)
	}
	grow := int64(peak.Load()) - int64(base)
	t.Logf("%d MB JSON: peak heap +%.1f MiB, window %d KiB", st.UncompressedBytes>>20, float64(grow)/(1<<20), len(d.win.buf)>>10)
	if grow > 16<<20 {
		t.Errorf("peak heap grew by %d MiB while decoding", grow>>20)
	}
	if len(d.win.buf) != windowSize {
		t.Errorf("window grew to %d bytes for events of at most ~25 KB", len(d.win.buf))
	}
}

func ExampleDecoder_Decode() {
	d := New(&transcode.Raw{}, DefaultLimits())
	obj := strings.NewReader(`{"Records":[{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventName":"ListBuckets"}]}`)
	st, err := d.Decode(obj, &record.Source{Bucket: "b", Key: "k"}, 1<<20, func(batch []byte, events int) error {
		fmt.Println(events, "entries,", len(batch), "bytes")
		return nil
	})
	fmt.Println(st.Events, err)
	// Output:
	// 1 entries, 179 bytes
	// 1 <nil>
}
