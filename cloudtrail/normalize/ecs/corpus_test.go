package ecs_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/ecs"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/testutil"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

// corpus returns every event of the project's test data plus, when the
// shared folder is present, Elastic's inputs.
func corpus(t testing.TB) []testutil.Event {
	t.Helper()
	events, err := testutil.LoadEvents(testutil.ProjectTestData())
	if err != nil {
		t.Fatal(err)
	}
	if dir := testutil.SharedDir(); dir != "" {
		more, err := testutil.LoadEvents(filepath.Join(dir, "testdata", "cloudtrail", "elastic-integrations"))
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, more...)
	} else {
		t.Log("shared folder not found (set SHARED_DIR): Elastic's inputs are not part of this run")
	}
	return events
}

// TestCorpus normalizes every test event: none may fail, each entry must
// decode as [EventTime, map] with the source map and @timestamp.
func TestCorpus(t *testing.T) {
	events := corpus(t)
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
