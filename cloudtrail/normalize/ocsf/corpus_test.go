package ocsf_test

import (
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/testutil"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/ocsf"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

// TestCorpus normalizes every test event in every OCSF variant: none may
// fail, each entry must decode as [EventTime, map] with the source map, and
// the record time must be eventTime.
func TestCorpus(t *testing.T) {
	events := testutil.Corpus(t)
	if len(events) < 790 {
		t.Fatalf("only %d test events found", len(events))
	}
	src := &record.Source{Bucket: "bkt", Key: "AWSLogs/x.json.gz", MessageID: "m-1", QueueURL: "https://q", Received: time.Unix(1700000000, 0)}
	for _, opts := range []ocsf.Options{
		{}, {Version: "1.5.0"}, {Classes: "api_activity"}, {Version: "1.5.0", Classes: "api_activity"},
	} {
		enc, err := ocsf.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		classes := map[float64]int{}
		var buf []byte
		for _, ev := range events {
			n := len(buf)
			buf, err = enc.Append(buf, ev.JSON, src)
			if err != nil {
				t.Errorf("%+v %s[%d]: %v", opts, ev.File, ev.Index, err)
				continue
			}
			_, body, err := testutil.Entry(buf[n:])
			if err != nil {
				t.Fatalf("%+v %s[%d]: bad entry: %v", opts, ev.File, ev.Index, err)
			}
			if _, ok := testutil.Get(body, "_cloudtrail.bucket"); !ok {
				t.Errorf("%s[%d]: no _cloudtrail map", ev.File, ev.Index)
			}
			for _, k := range []string{"class_uid", "activity_id", "type_uid", "severity_id", "status_id", "metadata.version", "metadata.product.name"} {
				if _, ok := testutil.Get(body, k); !ok {
					t.Errorf("%s[%d]: %s missing", ev.File, ev.Index, k)
				}
			}
			c, _ := testutil.Normalize(body["class_uid"]).(float64)
			classes[c]++
		}
		t.Logf("%+v: %d events, classes %v, %d bytes of msgpack", opts, len(events), classes, len(buf))
	}
}
