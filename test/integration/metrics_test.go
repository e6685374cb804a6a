package integration

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// value returns the sample of a metric line matching name and containing
// every label fragment, or -1.
func value(text, name string, labels ...string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(?:\{([^}]*)\})? (\S+)$`)
next:
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		for _, l := range labels {
			if !strings.Contains(m[1], l) {
				continue next
			}
		}
		{
			v, _ := strconv.ParseFloat(m[2], 64)
			return v
		}
	}
	return -1
}

// TestMetricsAndSummary serves two instances' metrics on one address and
// checks the counters against what really happened.
func TestMetricsAndSummary(t *testing.T) {
	srv := testenv.Emulator(t)
	ctx := context.Background()
	files, _ := seed.Corpus(filepath.Join(emu.Root(), "test", "testdata", "cloudtrail", "stratus-red-team"))
	addr := testenv.FreeAddr(t)
	var args []string
	events := map[string]int{}
	for i, name := range []string{"a", "b"} {
		q, _ := srv.CreateQueue(ctx, "q-"+name, nil)
		srv.CreateBucket(ctx, "bucket-"+name, "q-"+name)
		for j := i; j < 10; j += 2 {
			srv.Put(ctx, "bucket-"+name, seed.Key("111122223333", "us-east-1", j), seed.Gzip(files[j].JSON))
			events[name] += len(files[j].EventIDs)
		}
		srv.Send(ctx, q, `{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"bucket-`+name+`"}`)
		args = append(args, "--input", "cloudtrail", "queue_url="+q, "endpoint_url="+srv.URL, "wait_time=1s",
			"delete_delay=0s", "metrics_listen="+addr, "metrics_log_interval=1s", "--tag", name)
	}
	h := startHarness(t, awsEnv(srv), append([]string{"--interval-ms", "500"}, args...)...)
	testenv.WaitFor(t, 30*time.Second, "metrics for both instances", func() bool {
		text := testenv.Scrape(addr)
		return value(text, "cloudtrail_messages_deleted_total", `instance="cloudtrail.0"`) == 6 &&
			value(text, "cloudtrail_messages_deleted_total", `instance="cloudtrail.1"`) == 6
	})
	text := testenv.Scrape(addr)
	for i, name := range []string{"a", "b"} {
		inst := fmt.Sprintf(`instance="cloudtrail.%d"`, i)
		checks := map[string]float64{
			"cloudtrail_records_total":           float64(events[name]),
			"cloudtrail_objects_total":           5,
			"cloudtrail_messages_received_total": 6,
			"cloudtrail_inflight_messages":       0,
		}
		for metric, want := range checks {
			if got := value(text, metric, inst); got != want {
				t.Errorf("%s %s = %v, want %v", metric, inst, got, want)
			}
		}
		if got := value(text, "cloudtrail_notifications_ignored_total", inst, `reason="s3:TestEvent"`); got != 1 {
			t.Errorf("ignored test events %s = %v", inst, got)
		}
		if got := value(text, "cloudtrail_event_lag_seconds_count", inst); got < 1 {
			t.Errorf("no event lag observed for %s", inst)
		}
	}
	if !strings.Contains(text, "# TYPE cloudtrail_event_lag_seconds histogram") {
		t.Error("lag histogram missing")
	}
	testenv.WaitFor(t, 30*time.Second, "a stats summary line", func() bool {
		return strings.Contains(h.stderr.String(), "[input:cloudtrail:cloudtrail.1] stats: messages received=6 deleted=6")
	})
	h.stop(stopLimit)
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Error("metrics still served after the instances exited")
	}
}

// TestHotReloadMidIngestion reloads the plugin in the middle of a drain:
// every event arrives, nothing is deleted without its records, and the
// old instances leave no goroutines behind.
func TestHotReloadMidIngestion(t *testing.T) {
	srv := testenv.Emulator(t)
	ctx := context.Background()
	sc, err := seed.Full(ctx, srv, "ct", "trail")
	if err != nil {
		t.Fatal(err)
	}
	addr := testenv.FreeAddr(t)
	h := startHarness(t, awsEnv(srv), "--hot-reload-after-s", "2", "--input", "cloudtrail", "queue_url="+sc.QueueURL,
		"endpoint_url="+srv.URL, "wait_time=1s", "delete_delay=0s", "workers=1", "buffer_max_size=64K", "metrics_listen="+addr)
	testenv.WaitFor(t, 90*time.Second, "every event after the reload", func() bool {
		got := map[string]int{}
		for _, l := range h.records() {
			id, _ := l.Record["eventID"].(string)
			got[id]++
		}
		for id, n := range sc.Want {
			if got[id] < n {
				return false
			}
		}
		return true
	})
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := srv.WaitEmpty(wctx, sc.QueueURL); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.stderr.String(), "reload") {
		t.Fatal("no hot reload happened")
	}
	text := testenv.Scrape(addr)
	if n := strings.Count(text, "cloudtrail_records_total{"); n != 1 {
		t.Errorf("%d instances report metrics after the reload, want 1", n)
	}
	// One instance's goroutines: poller, heartbeat, deleter, workers, the
	// summary ticker and the HTTP server; the old instance's must be gone.
	if g := value(text, "cloudtrail_go_goroutines"); g > 25 {
		t.Errorf("%v goroutines after the reload: the old instance left some behind", g)
	}
	if _, code := h.stop(stopLimit); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
