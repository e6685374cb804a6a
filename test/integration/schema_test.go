package integration

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// TestNormalizedSchemas runs one instance per schema, each on its own queue,
// over the AWS Security Lake sample inputs and the aws-docs files, and checks
// that every event arrives in the schema's shape with its time and source.
func TestNormalizedSchemas(t *testing.T) {
	srv := testenv.Emulator(t)
	ctx := context.Background()
	var files []seed.File
	for _, d := range []string{"aws-security-lake-ocsf-validation", "aws-docs"} {
		fs, err := seed.Corpus(filepath.Join(emu.Root(), "test", "testdata", "cloudtrail", d))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	schemas := []string{"raw", "ocsf", "ecs"}
	args := []string{"--interval-ms", "500"}
	queues := map[string]string{}
	events := 0
	for _, s := range schemas {
		q, err := srv.CreateQueue(ctx, "q-"+s, nil)
		if err != nil {
			t.Fatal(err)
		}
		queues[s] = q
		srv.CreateBucket(ctx, "b-"+s, "q-"+s)
		args = append(args, "--input", "cloudtrail", "queue_url="+q, "endpoint_url="+srv.URL, "wait_time=1s",
			"delete_delay=0s", "schema="+s, "--tag", s)
	}
	for i, f := range files {
		key := seed.Key("111122223333", "us-east-1", i)
		if f.Digest {
			key = seed.DigestKey("111122223333", "us-east-1", i)
		}
		for _, s := range schemas {
			if err := srv.Put(ctx, "b-"+s, key, seed.Gzip(f.JSON)); err != nil {
				t.Fatal(err)
			}
		}
		events += len(f.EventIDs)
	}
	h := startHarness(t, awsEnv(srv), args...)
	perTag := func() map[string]int {
		n := map[string]int{}
		for _, l := range h.records() {
			n[l.Tag]++
		}
		return n
	}
	testenv.WaitFor(t, 60*time.Second, "every event in every schema", func() bool {
		n := perTag()
		return n["raw"] >= events && n["ocsf"] >= events && n["ecs"] >= events
	})
	if _, code := h.stop(stopLimit); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	byID := map[string]map[string]map[string]any{"raw": {}, "ocsf": {}, "ecs": {}}
	for _, l := range h.records() {
		r := l.Record
		switch l.Tag {
		case "raw":
			if id, _ := r["eventID"].(string); id != "" {
				byID["raw"][id] = r
			}
		case "ocsf":
			md, _ := r["metadata"].(map[string]any)
			uid, _ := md["uid"].(string)
			if r["class_uid"] == nil || r["time"] == nil || md["version"] == nil {
				t.Fatalf("ocsf record without class_uid, time or metadata.version: %v", r)
			}
			if uid != "" {
				byID["ocsf"][uid] = r
			}
		case "ecs":
			ev, _ := r["event"].(map[string]any)
			id, _ := ev["id"].(string)
			if r["@timestamp"] == nil || ev["kind"] != "event" {
				t.Fatalf("ecs record without @timestamp or event.kind: %v", r)
			}
			if id != "" {
				byID["ecs"][id] = r
			}
		}
		if src, _ := r["_cloudtrail"].(map[string]any); src["bucket"] != "b-"+l.Tag {
			t.Fatalf("%s record without its source: %v", l.Tag, r["_cloudtrail"])
		}
	}
	for id, raw := range byID["raw"] {
		o, e := byID["ocsf"][id], byID["ecs"][id]
		if o == nil || e == nil {
			t.Errorf("event %s missing in ocsf (%v) or ecs (%v)", id, o != nil, e != nil)
			continue
		}
		if raw["eventName"] == nil {
			continue // Insights events have no eventName
		}
		if api, _ := o["api"].(map[string]any); api["operation"] != raw["eventName"] {
			t.Errorf("event %s: ocsf api.operation %v, eventName %v", id, api["operation"], raw["eventName"])
		}
		if ev, _ := e["event"].(map[string]any); ev["action"] != raw["eventName"] {
			t.Errorf("event %s: ecs event.action %v, eventName %v", id, ev["action"], raw["eventName"])
		}
	}
	t.Logf("%d events in each of raw, ocsf, ecs", len(byID["raw"]))
}
