package transcode

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode/transcodetest"
)

var testSrc = &record.Source{
	QueueURL:  "https://sqs.us-east-1.amazonaws.com/123456789012/q",
	MessageID: "m-1",
	Bucket:    "bkt",
	Key:       "AWSLogs/o/123456789012/CloudTrail/us-east-1/2024/01/02/x.json.gz",
	Received:  time.Date(2024, 5, 6, 7, 8, 9, 500, time.UTC),
}

// entryOf transcodes one event and decodes the result with the independent
// test reader, checking that exactly one entry came out.
func entryOf(t *testing.T, r *Raw, event string) transcodetest.Entry {
	t.Helper()
	prefix := []byte("prefix")
	out, err := r.Append(prefix, []byte(event), testSrc)
	if err != nil {
		t.Fatalf("Append(%q): %v", event, err)
	}
	if string(out[:len(prefix)]) != "prefix" {
		t.Fatalf("Append clobbered dst prefix")
	}
	es, err := transcodetest.DecodeEntries(out[len(prefix):])
	if err != nil || len(es) != 1 {
		t.Fatalf("decoding output of %q: %d entries, %v", event, len(es), err)
	}
	return es[0]
}

// body returns the entry body without the source key, for comparison with
// encoding/json.
func body(e transcodetest.Entry) transcodetest.Map {
	var m transcodetest.Map
	for _, kv := range e.Body {
		if kv.Key != record.SourceKey {
			m = append(m, kv)
		}
	}
	return m
}

func checkSource(t *testing.T, e transcodetest.Entry, invalid bool) {
	t.Helper()
	last := e.Body[len(e.Body)-1]
	if last.Key != record.SourceKey {
		t.Fatalf("last key = %q, want %q", last.Key, record.SourceKey)
	}
	m, ok := last.Val.(transcodetest.Map)
	if !ok {
		t.Fatalf("source is %T", last.Val)
	}
	want := transcodetest.Map{
		{Key: "bucket", Val: testSrc.Bucket}, {Key: "key", Val: testSrc.Key},
		{Key: "sqs_message_id", Val: testSrc.MessageID}, {Key: "queue_url", Val: testSrc.QueueURL},
		// No test event here has an eventID.
		{Key: record.IDKey, Val: string(record.AppendDerivedID(nil, testSrc))},
	}
	if invalid {
		want = append(want, transcodetest.KV{Key: "event_time_invalid", Val: true})
	}
	if len(m) != len(want) {
		t.Fatalf("source = %v, want %v", m, want)
	}
	for k := range want {
		if m[k] != want[k] {
			t.Fatalf("source = %v, want %v", m, want)
		}
	}
}

func TestValues(t *testing.T) {
	cases := []string{
		`{}`,
		` {"a":1} `,
		`{"s":"plain","e":"a\nb\tc\"d\\e\/f\b\f\r","u":"\u00e9\u4e2d\uD83D\uDE00"}`,
		`{"lone":"\ud800","lone2":"\udc00x","rev":"\udc00\ud800","bad2":"\ud800\u0041","hi":"\uD800\uD800\uDC00"}`,
		`{"utf8":"héllo 中文 😀","invalid":"a` + "\xff\xfe" + `b","trunc":"` + "\xe4\xb8" + `","sur":"` + "\xed\xa0\x80" + `"}`,
		`{"i":[0,-0,1,-1,127,128,255,256,-32,-33,-128,-129,65535,65536,-32768,-32769,4294967295,4294967296,-2147483648,-2147483649]}`,
		`{"big":[9223372036854775807,9223372036854775808,-9223372036854775808,-9223372036854775809,18446744073709551615,18446744073709551616,123456789012345678901234567890]}`,
		`{"f":[1.0,-1.5,1e3,1E-3,2.5e+10,0.1,-0.0,1e-400,123456789.123456789,5e-324,1.7976931348623157e308]}`,
		`{"lit":[true,false,null],"nested":{"a":{"b":{"c":[[],{},[{}]]}}}}`,
		`{"long":"` + strings.Repeat("x", 300) + `","longesc":"` + strings.Repeat(`\"`, 200) + `"}`,
		`{"arr":[` + strings.Repeat(`1,`, 70000) + `1]}`,
		"{\n\t\"ws\" :\r [ 1 , 2 ] , \"k\" : { } }",
	}
	for _, c := range cases {
		var r Raw
		e := entryOf(t, &r, c)
		want, err := transcodetest.UnmarshalJSON([]byte(c))
		if err != nil {
			t.Fatalf("encoding/json rejects test case %q: %v", c, err)
		}
		if d := transcodetest.Equal(body(e), want); d != "" {
			t.Errorf("%.80q: %s", c, d)
		}
		checkSource(t, e, true)
		if !e.Time.Equal(testSrc.Received) {
			t.Errorf("%.80q: time %v, want Received %v", c, e.Time, testSrc.Received)
		}
	}
}

func TestIntegerEncoding(t *testing.T) {
	// Integers must stay integers with their exact value, big ones float.
	var r Raw
	e := entryOf(t, &r, `{"a":9223372036854775807,"b":18446744073709551615,"c":-9223372036854775808,"d":18446744073709551616,"e":-0,"f":1.0}`)
	want := map[string]any{
		"a": int64(math.MaxInt64), "b": uint64(math.MaxUint64), "c": int64(math.MinInt64),
		"d": float64(18446744073709551616), "e": int64(0), "f": float64(1),
	}
	for _, kv := range body(e) {
		if kv.Val != want[kv.Key] {
			t.Errorf("%s = %#v (%T), want %#v (%T)", kv.Key, kv.Val, kv.Val, want[kv.Key], want[kv.Key])
		}
	}
}

func TestKeyOrderAndDuplicates(t *testing.T) {
	var r Raw
	e := entryOf(t, &r, `{"z":1,"a":2,"m":{"y":1,"b":2},"dup":1,"x":3,"dup":{"k":2},"_cloudtrail":"theirs"}`)
	var keys []string
	for _, kv := range e.Body {
		keys = append(keys, kv.Key)
	}
	if got, want := strings.Join(keys, ","), "z,a,m,x,dup,_cloudtrail"; got != want {
		t.Errorf("keys = %s, want %s", got, want)
	}
	if v, _ := e.Body.Get("dup"); transcodetest.Equal(v, map[string]any{"k": json.Number("2")}) != "" {
		t.Errorf("dup = %#v, want the last value", v)
	}
	checkSource(t, e, true)

	// Many keys takes the sorted path; duplicates with colliding
	// fingerprints (same length, first and last 8 bytes) must still be
	// told apart exactly.
	var b strings.Builder
	b.WriteString("{")
	for k := range 100 {
		b.WriteString(`"aaaaaaaa` + string(rune('A'+k%26)) + `zzzzzzzz":` + string(rune('0'+k%10)) + ",")
	}
	b.WriteString(`"last":true}`)
	e = entryOf(t, &r, b.String())
	want, _ := transcodetest.UnmarshalJSON([]byte(b.String()))
	if d := transcodetest.Equal(body(e), want); d != "" {
		t.Error(d)
	}
}

func TestEventTime(t *testing.T) {
	cases := []struct {
		in    string
		want  time.Time
		valid bool
	}{
		{`"2024-01-02T03:04:05Z"`, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), true},
		{`"2024-01-02T03:04:05.123Z"`, time.Date(2024, 1, 2, 3, 4, 5, 123e6, time.UTC), true},
		{`"2024-01-02T03:04:05.123456789Z"`, time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC), true},
		{`"2024-01-02T03:04:05+02:00"`, time.Date(2024, 1, 2, 1, 4, 5, 0, time.UTC), true},
		{`"2024-01-02T03:04:05.5-01:30"`, time.Date(2024, 1, 2, 4, 34, 5, 5e8, time.UTC), true},
		{`"2024-02-29T00:00:00Z"`, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), true},
		{`"2024-01-02T03:04:05\u005a"`, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), true},
		{`"2023-02-29T00:00:00Z"`, time.Time{}, false},
		{`"2024-01-02 03:04:05Z"`, time.Time{}, false},
		{`"2024-01-02T03:04:05"`, time.Time{}, false},
		{`"2024-13-02T03:04:05Z"`, time.Time{}, false},
		{`"2024-01-02T24:00:00Z"`, time.Time{}, false},
		{`""`, time.Time{}, false},
		{`1704164645`, time.Time{}, false},
		{`null`, time.Time{}, false},
	}
	for _, c := range cases {
		var r Raw
		e := entryOf(t, &r, `{"eventVersion":"1.08","eventTime":`+c.in+`,"x":{"eventTime":"2000-01-01T00:00:00Z"}}`)
		want := c.want
		if !c.valid {
			want = testSrc.Received
		}
		if !e.Time.Equal(want) {
			t.Errorf("eventTime %s: time %v, want %v", c.in, e.Time.UTC(), want)
		}
		checkSource(t, e, !c.valid)
	}
	// The last eventTime wins, as it does for the body.
	var r Raw
	e := entryOf(t, &r, `{"eventTime":"2024-01-02T03:04:05Z","eventTime":"2025-01-02T03:04:05Z"}`)
	if want := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC); !e.Time.Equal(want) {
		t.Errorf("time %v, want %v", e.Time, want)
	}
}

func TestParseRFC3339MatchesTime(t *testing.T) {
	for _, s := range []string{
		"2024-01-02T03:04:05Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
		"9999-12-31T23:59:59.999999999Z", "2000-02-29T12:00:00+14:00", "2100-02-28T00:00:00-12:59",
		"2024-01-02T03:04:05.1Z", "2024-06-30T23:59:60Z", "2024-01-02T03:04:05.1234567891Z",
		"2024-01-02t03:04:05z", "2024-01-02T03:04:05+0200", "2024-1-02T03:04:05Z",
	} {
		sec, nsec, ok := parseRFC3339([]byte(s))
		tt, err := time.Parse(time.RFC3339, s)
		if ok != (err == nil) {
			t.Errorf("%s: ok=%v, time.Parse err=%v", s, ok, err)
			continue
		}
		if ok && (sec != tt.Unix() || nsec != int64(tt.Nanosecond())) {
			t.Errorf("%s: got %d.%09d, want %d.%09d", s, sec, nsec, tt.Unix(), tt.Nanosecond())
		}
	}
}

func TestErrors(t *testing.T) {
	cases := []struct{ in, msg string }{
		{``, "unexpected end"},
		{`   `, "unexpected end"},
		{`[1]`, "not a JSON object"},
		{`"x"`, "not a JSON object"},
		{`{"a":1`, "unexpected end"},
		{`{"a":"b`, "unexpected end"},
		{`{"a":tru`, "unexpected end"},
		{`{"a":1.`, "unexpected end"},
		{`{"a":"\u12`, "unexpected end"},
		{`{"a":1}x`, "after top-level object"},
		{`{"a":1}{}`, "after top-level object"},
		{`{"a":01}`, "after object key:value"},
		{`{"a":1.e5}`, "after decimal point"},
		{`{"a":-}`, "in numeric literal"},
		{`{"a":1e400}`, "out of float64 range"},
		{`{"a":-1e400}`, "out of float64 range"},
		{`{"a":"x` + "\n" + `"}`, "control character"},
		{`{"a":"\x"}`, "invalid escape"},
		{`{"a":"\u12g4"}`, "hexadecimal"},
		{`{"a":"\ud800\u12g4"}`, "hexadecimal"},
		{`{"a":nul}`, "invalid literal"},
		{`{"a":True}`, "beginning of value"},
		{`{a:1}`, "object key"},
		{`{"a" 1}`, "after object key"},
		{`{"a":1,}`, "object key"},
		{`{"a":[1,]}`, "beginning of value"},
		{`{"a":[1 2]}`, "after array element"},
		{`{"a":+1}`, "beginning of value"},
		{`{"a":NaN}`, "beginning of value"},
		{"\xef\xbb\xbf{}", "not a JSON object"},
		{`{"a":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`, "nesting depth exceeds 512"},
		{strings.Repeat(`{"a":`, 513) + "1" + strings.Repeat("}", 513), "nesting depth exceeds 512"},
	}
	for _, c := range cases {
		var r Raw
		dst := []byte("keep")
		out, err := r.Append(dst, []byte(c.in), testSrc)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%.60q: err = %v, want it to contain %q", c.in, err, c.msg)
		}
		if string(out) != "keep" {
			t.Errorf("%.60q: dst = %q after error, want original", c.in, out)
		}
		var se *SyntaxError
		if err != nil && !errors.As(err, &se) {
			t.Errorf("%.60q: error %T is not a *SyntaxError", c.in, err)
		}
		if strings.Contains(c.msg, "unexpected end") != errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%.60q: errors.Is(err, io.ErrUnexpectedEOF) wrong for %v", c.in, err)
		}
		if _, jerr := transcodetest.UnmarshalJSON([]byte(c.in)); jerr == nil && !strings.Contains(c.msg, "not a JSON object") && !strings.Contains(c.msg, "nesting") {
			t.Errorf("%.60q: encoding/json accepts what we reject", c.in)
		}
	}
	// The depth limit is configurable and exact.
	deep := strings.Repeat("[", 9) + strings.Repeat("]", 9)
	r := Raw{MaxDepth: 10}
	if _, err := r.Append(nil, []byte(`{"a":`+deep+`}`), testSrc); err != nil {
		t.Errorf("depth 10 with MaxDepth 10: %v", err)
	}
	if _, err := r.Append(nil, []byte(`{"a":[`+deep+`]}`), testSrc); err == nil {
		t.Errorf("depth 11 with MaxDepth 10 accepted")
	}
}

func TestAppendPrefix(t *testing.T) {
	ev := `{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","s":"é\"x","n":[1,2.5,true]}`
	var r Raw
	full, n, err := r.AppendPrefix(nil, []byte(ev+" ,{next"), testSrc)
	if err != nil || n != len(ev) {
		t.Fatalf("AppendPrefix = %d, %v; want %d, nil", n, err, len(ev))
	}
	// Every cut inside the object must ask for more input, never fail or
	// produce a partial entry.
	for cut := range len(ev) {
		out, n, err := r.AppendPrefix([]byte("k"), []byte(ev[:cut]), testSrc)
		if err != io.ErrUnexpectedEOF || n != 0 || string(out) != "k" {
			t.Fatalf("cut at %d: out=%q n=%d err=%v; want io.ErrUnexpectedEOF", cut, out, n, err)
		}
	}
	again, _, _ := r.AppendPrefix(nil, []byte(ev), testSrc)
	if string(again) != string(full) {
		t.Fatalf("output differs between calls")
	}
}

func TestCompactHeaders(t *testing.T) {
	// Small containers get minimal headers; every header must decode.
	var r Raw
	out, err := r.Append(nil, []byte(`{"a":{"b":[1,2]}}`), &record.Source{})
	if err != nil {
		t.Fatal(err)
	}
	// 0x92, ext(10), body map32 placeholder kept? The body is small here.
	body := out[11:]
	if body[0] != 0x82 || string(body[1:3]) != "\xa1a" || body[3] != 0x81 || string(body[4:6]) != "\xa1b" || string(body[6:9]) != "\x92\x01\x02" {
		t.Fatalf("unexpected encoding % x", body)
	}
}

func TestNoAllocs(t *testing.T) {
	ev := []byte(`{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/x/y"},"eventTime":"2024-01-02T03:04:05Z","requestParameters":{"policy":"{\"Version\":\"2012-10-17\"}","n":[1,2,3.5]},"readOnly":true,"x":"é"}`)
	var r Raw
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if _, err = r.Append(buf[:0], ev, testSrc); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Append allocates %v times per event, want 0", allocs)
	}
}

// idOf returns _cloudtrail.id of the entry.
func idOf(t *testing.T, e transcodetest.Entry) any {
	t.Helper()
	src, _ := e.Body.Get(record.SourceKey)
	m, ok := src.(transcodetest.Map)
	if !ok {
		t.Fatalf("source is %T", src)
	}
	id, ok := m.Get(record.IDKey)
	if !ok {
		t.Fatalf("source has no %s: %v", record.IDKey, m)
	}
	return id
}

func TestRecordID(t *testing.T) {
	derived := string(record.AppendDerivedID(nil, testSrc))
	for _, c := range []struct{ event, want string }{
		{`{"eventVersion":"1.08","eventID":"7116c6a1-3f24-4b3a-9c1e-0a1b2c3d4e5f","eventName":"X"}`, "7116c6a1-3f24-4b3a-9c1e-0a1b2c3d4e5f"},
		{`{"eventID":"e-1","eventID":"e-2"}`, "e-2"}, // the last one, as in the body
		{`{"eventID":"e-1","eventID":null}`, derived},
		{`{"eventID":"\u0065-1"}`, "e-1"},
		{`{"eventVersion":"1.07","eventType":"AwsCloudTrailInsight"}`, derived},
		{`{"eventID":""}`, derived},
		{`{"eventID":42}`, derived},
		{`{"eventID":{"a":"b"}}`, derived},
		{`{"eventID":"a\"b"}`, derived},
		{`{"eventID":"` + strings.Repeat("x", record.MaxEventIDLen+1) + `"}`, derived},
		{`{"x":{"eventID":"nested"}}`, derived},
	} {
		var r Raw
		if got := idOf(t, entryOf(t, &r, c.event)); got != c.want {
			t.Errorf("%.60s: id %q, want %q", c.event, got, c.want)
		}
	}

	// The derived id depends on the event's position and the object.
	var r Raw
	ev := []byte(`{"eventVersion":"1.07","eventType":"AwsCloudTrailInsight"}`)
	ids := map[string]string{}
	for name, src := range map[string]record.Source{
		"index 0": {Bucket: "b", Key: "k", ETag: `"e1"`},
		"index 1": {Bucket: "b", Key: "k", ETag: `"e1"`, Index: 1},
		"etag":    {Bucket: "b", Key: "k", ETag: `"e2"`},
		"key":     {Bucket: "b", Key: "k2", ETag: `"e1"`},
	} {
		out, err := r.Append(nil, ev, &src)
		if err != nil {
			t.Fatal(err)
		}
		es, err := transcodetest.DecodeEntries(out)
		if err != nil || len(es) != 1 {
			t.Fatal(err)
		}
		id := idOf(t, es[0]).(string)
		if id != string(record.AppendDerivedID(nil, &src)) {
			t.Errorf("%s: id %s is not the derived id", name, id)
		}
		if other, dup := ids[id]; dup {
			t.Errorf("%s and %s have the same id %s", name, other, id)
		}
		ids[id] = name
	}
}

func TestRecordIDNoAllocs(t *testing.T) {
	var r Raw
	buf := make([]byte, 0, 4096)
	for _, ev := range [][]byte{
		[]byte(`{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventID":"7116c6a1-3f24-4b3a-9c1e-0a1b2c3d4e5f"}`),
		[]byte(`{"eventVersion":"1.07","eventTime":"2024-01-02T03:04:05Z","eventType":"AwsCloudTrailInsight"}`),
	} {
		if n := testing.AllocsPerRun(100, func() {
			if _, err := r.Append(buf[:0], ev, testSrc); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per event", ev, n)
		}
	}
}
