package transcode

import (
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode/transcodetest"
)

// FuzzTranscode checks the transcoder against encoding/json: whatever
// encoding/json accepts as an object must transcode to the same value, and
// whatever it rejects must be rejected.
func FuzzTranscode(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"a":"b"}`,
		`{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","userIdentity":{"type":"IAMUser"},"readOnly":true}`,
		`{"eventTime":"2024-01-02T03:04:05.123456+05:30"}`,
		`{"eventTime":"2024-02-30T03:04:05Z"}`,
		`{"e":"\n\t\"\\\/\b\f\r\u0041\u00e9\uFFFF"}`,
		`{"s":"\ud83d\ude00","lone":"\ud800","low":"\udc00","pair2":"\ud800\ud800\udc00","bad":"\ud800\u0041"}`,
		`{"n":[0,-0,1,-1,9223372036854775807,9223372036854775808,-9223372036854775808,-9223372036854775809,18446744073709551615,18446744073709551616]}`,
		`{"f":[1.5,-0.0,1e10,1E-10,1e400,-1e400,1e-400,0.1e1,5e-324]}`,
		`{"a":1,"a":2,"b":{"c":1,"c":[1]},"a":3}`,
		`{"_cloudtrail":1}`,
		"{\"utf8\":\"\xff\xfe\xed\xa0\x80\xe4\xb8\xad\xf0\x9f\x98\x80\"}",
		"{\"\xff\":1}",
		`{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
		`{"a":[1,]}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":"\x"}`, `{"a":tru}`, `[1]`, `"x"`, `1`, ``,
		"{\"ctl\":\"\x01\"}", `{"a":1} `, `{"a":1}x`, " \t\r\n{\"a\" : [ ] }",
	} {
		f.Add([]byte(s))
	}
	src := &record.Source{Bucket: "b", Key: "k", MessageID: "m", QueueURL: "q", Received: time.Unix(1700000000, 5)}
	f.Fuzz(func(t *testing.T, in []byte) {
		// encoding/json's own limit, so that accept/reject must agree.
		r := Raw{MaxDepth: 10000}
		out, err := r.Append([]byte("x"), in, src)
		want, jerr := transcodetest.UnmarshalJSON(in)
		obj, isObj := want.(map[string]any)
		if jerr != nil || !isObj {
			if err == nil {
				t.Fatalf("accepted %q, which encoding/json rejects (%v) or is not an object", in, jerr)
			}
			if string(out) != "x" {
				t.Fatalf("dst changed on error: %q", out)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SyntaxError: %v", err, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("rejected %q, which encoding/json accepts: %v", in, err)
		}
		es, derr := transcodetest.DecodeEntries(out[1:])
		if derr != nil || len(es) != 1 {
			t.Fatalf("output of %q does not decode to one entry: %v", in, derr)
		}
		e := es[0]
		// Our source map replaces an event's own SourceKey.
		delete(obj, record.SourceKey)
		if d := transcodetest.Equal(body(e), obj); d != "" {
			t.Fatalf("%q: %s", in, d)
		}
		if last := e.Body[len(e.Body)-1]; last.Key != record.SourceKey {
			t.Fatalf("%q: last key %q", in, last.Key)
		}
		src2, _ := e.Body.Get(record.SourceKey)
		_, invalid := src2.(transcodetest.Map).Get("event_time_invalid")
		wantTime, valid := src.Received, false
		if s, ok := obj["eventTime"].(string); ok {
			if tt, err := time.Parse(time.RFC3339, s); err == nil {
				wantTime, valid = tt, true
			}
		}
		if invalid == valid {
			t.Fatalf("%q: event_time_invalid=%v, time.Parse valid=%v", in, invalid, valid)
		}
		if sec := wantTime.Unix(); sec >= 0 && sec <= math.MaxUint32 && !e.Time.Equal(wantTime) {
			t.Fatalf("%q: time %v, want %v", in, e.Time, wantTime)
		}
		// A cut anywhere inside the object must ask for more input.
		n := len(strings.TrimRight(string(in), " \t\r\n"))
		cut := n / 2
		if _, _, err := r.AppendPrefix(nil, in[:cut], src); err != io.ErrUnexpectedEOF {
			t.Fatalf("%q cut at %d: err = %v, want io.ErrUnexpectedEOF", in, cut, err)
		}
	})
}
