package ecs_test

import (
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/ecs"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/testutil"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

// TestCorpus normalizes every test event: none may fail, each entry must
// decode as [EventTime, map] with the source map and @timestamp.
func TestCorpus(t *testing.T) {
	events := testutil.Corpus(t)
	if len(events) < 790 {
		t.Fatalf("only %d test events found", len(events))
	}
	src := &record.Source{Bucket: "bkt", Key: "AWSLogs/x.json.gz", MessageID: "m-1", QueueURL: "https://q", Received: time.Unix(1700000000, 0)}
	enc := ecs.New()
	var buf []byte
	var err error
	for _, ev := range events {
		n := len(buf)
		buf, err = enc.Append(buf, ev.JSON, src)
		if err != nil {
			t.Errorf("%s[%d]: %v", ev.File, ev.Index, err)
			continue
		}
		_, body, err := testutil.Entry(buf[n:])
		if err != nil {
			t.Fatalf("%s[%d]: bad entry: %v", ev.File, ev.Index, err)
		}
		for _, k := range []string{"_cloudtrail.bucket", "@timestamp", "event.kind", "event.outcome", "ecs.version"} {
			if _, ok := testutil.Get(body, k); !ok {
				t.Errorf("%s[%d]: %s missing", ev.File, ev.Index, k)
			}
		}
	}
	t.Logf("%d events, %d bytes of msgpack", len(events), len(buf))
}
