package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// TestHotReloadInRealFluentBit reloads Fluent Bit through its HTTP API in the
// middle of an ingestion, with a changed setting (the output file), and
// checks that every event arrives, the new setting takes effect and the
// queue drains, on every Fluent Bit version where a Go input survives a
// reload (before 4.1 the new instance is found by its thread).
func TestHotReloadInRealFluentBit(t *testing.T) {
	testenv.ForEachFluentBit(t, testHotReload)
}

func testHotReload(t *testing.T, bin testenv.FluentBitBinary) {
	bin.SkipUnless(t, bin.HotReload(), "after a hot reload, Fluent Bit 3.2.10 takes the Go input's records (the new instance hands 720 of 800 over, its messages are deleted) and none reaches the output: do not use hot reload with this plugin before 4.0 (README, Compatibility)")
	srv := testenv.Emulator(t)
	ctx := context.Background()
	sc, err := seed.Full(ctx, srv, "ct", "trail")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(testenv.FreeAddr(t))
	dir := t.TempDir()
	conf := func(file string) string {
		return fmt.Sprintf(`[SERVICE]
    flush       1
    grace       5
    log_level   info
    hot_reload  on
    http_server on
    http_listen 127.0.0.1
    http_port   %s

[INPUT]
    name            cloudtrail
    tag             aws.cloudtrail
    queue_url       %s
    wait_time       1s
    workers         1
    buffer_max_size 64K

[OUTPUT]
    name   file
    match  aws.cloudtrail
    path   %s
    file   %s
    format plain
`, port, sc.QueueURL, dir, file)
	}
	cfg := filepath.Join(dir, "fluent-bit.conf")
	write(t, cfg, conf("before.jsonl"))
	fb := startOn(t, bin, srv, dir, "-e", testenv.Plugin(t), "-c", cfg)
	testenv.WaitFor(t, 30*time.Second, "first records", func() bool { return len(records(t, filepath.Join(dir, "before.jsonl"))) > 0 })
	write(t, cfg, conf("after.jsonl"))
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%s/api/v2/reload", port), "application/json", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := func() map[string]int {
		m := map[string]int{}
		for _, f := range []string{"before.jsonl", "after.jsonl"} {
			for _, r := range records(t, filepath.Join(dir, f)) {
				id, _ := r["eventID"].(string)
				m[id]++
			}
		}
		return m
	}
	testenv.WaitFor(t, 2*time.Minute, "every event across the reload", func() bool {
		g := got()
		for id, n := range sc.Want {
			if g[id] < n {
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
	fb.stop()
	if _, err := os.Stat(filepath.Join(dir, "after.jsonl")); err != nil {
		t.Fatalf("the reloaded configuration did not take effect: %v", err)
	}
	log := fb.log.String()
	if !strings.Contains(log, "reload") {
		t.Fatal("no reload in the log")
	}
	checkStartLines(t, bin, log, 2) // before and after the reload
	dups := 0
	for id, n := range got() {
		if n > sc.Want[id] {
			dups += n - sc.Want[id]
		}
	}
	t.Logf("%d records, %d duplicates across the reload", sc.Events(), dups)
}
