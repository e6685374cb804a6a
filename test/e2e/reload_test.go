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

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// TestHotReloadInRealFluentBit reloads Fluent Bit through its HTTP API in the
// middle of an ingestion, with a changed setting (the output file), and
// checks that every event arrives, the new instance's records reach the new
// output, and the queue drains, on every Fluent Bit version: 3.2.10 and
// 4.0.14 included, where the plugin finds the new instance by its thread
// (no *Ctx callbacks before 4.1) and acknowledges by delay. Every version
// stops and destroys the old context before it starts the new one
// (src/flb_reload.c), so old and new instances never run at once.
//
// The reload comes right after the first records, while the old instance is
// still handing batches over: that is where 3.2.10 loses records. Its engine
// stops as soon as no task is running (src/flb_engine.c), and the batches
// still in the input's ring buffer or in chunks made since its last flush
// are destroyed with the old context; 4.0 flushes pending chunks until they
// are gone before it stops. A plugin that deleted their messages
// at exit lost them: 21 of 80 of the old instance's records in one run
// (before.jsonl had 59, after.jsonl all 720 of the new one). The old
// instance gives back what it handed over within its delete margin
// (ack=delay) or that was not counted yet (ack=counters), so those events
// arrive twice: duplicates are counted, not failed.
func TestHotReloadInRealFluentBit(t *testing.T) {
	testenv.ForEachFluentBit(t, testHotReload)
}

func testHotReload(t *testing.T, bin testenv.FluentBitBinary) {
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
    visibility_timeout 10s

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
	if !reloaded(fb) {
		restartAfterHungReload(t, bin, srv, sc, fb, dir, cfg)
		return
	}
	before, after := filepath.Join(dir, "before.jsonl"), filepath.Join(dir, "after.jsonl")
	got := func() map[string]int { return eventIDs(t, before, after) }
	testenv.WaitFor(t, 2*time.Minute, "every event across the reload", func() bool { return sc.AllArrived(got()) })
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := srv.WaitEmpty(wctx, sc.QueueURL); err != nil {
		t.Fatal(err)
	}
	fb.stop()
	if _, err := os.Stat(filepath.Join(dir, "after.jsonl")); err != nil {
		t.Fatalf("the reloaded configuration did not take effect: %v", err)
	}
	if n := len(records(t, filepath.Join(dir, "after.jsonl"))); n == 0 {
		t.Fatal("no record of the new instance reached the reloaded output")
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

// reloaded waits for Fluent Bit to start the new context. Every version
// logs "[reload] start everything" once the old context has stopped; that
// takes a second or two, so 90 s means the old engine hung.
func reloaded(fb *fluentBit) bool {
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(fb.log.String(), "[reload] start everything") {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// restartAfterHungReload handles a Fluent Bit whose old engine never
// stopped during the reload, a hang of Fluent Bit's own (open upstream:
// fluent/fluent-bit#9354, #10518; 4.1 and later abort after
// hot_reload.timeout instead). CI saw it once on 3.2.10, and a stress run
// here hung 2 times in 3,375 reloads under heavy load. The stacks then:
// the main thread in flb_stop's pthread_join on the old engine thread, the
// engine idle in its event loop (its timers still read) without ever
// finishing the shutdown, the input, logger and output threads idle, and no
// thread in the plugin's code. What a user then does is restart Fluent Bit, and
// what must hold is that nothing is lost: no message of a record that
// never reached the output was deleted. So the hung process is killed, a
// new one started on the reloaded configuration, and every event must
// arrive and the queue drain; the reload itself is reported as not
// checked (a skip, with the stacks in the log), never as passed.
func restartAfterHungReload(t *testing.T, bin testenv.FluentBitBinary, srv *emu.Server, sc *seed.Scenario, fb *fluentBit, dir, cfg string) {
	t.Helper()
	t.Logf("%s did not finish its reload within 90 s; its threads:\n%s\nits log:\n%s", bin.Name(), threadStacks(fb.cmd.Process.Pid), fb.log.String())
	fb.cmd.Process.Kill()
	<-fb.done
	again := startOn(t, bin, srv, dir, "-e", testenv.Plugin(t), "-c", cfg)
	testenv.WaitFor(t, 2*time.Minute, "every event after the restart", func() bool {
		return sc.AllArrived(eventIDs(t, filepath.Join(dir, "before.jsonl"), filepath.Join(dir, "after.jsonl")))
	})
	wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.WaitEmpty(wctx, sc.QueueURL); err != nil {
		t.Fatal(err)
	}
	again.stop()
	t.Skipf("SKIPPED on %s: its hot reload hung in Fluent Bit's engine (the old context never stopped; fluent/fluent-bit#9354, #10518), so the reload was not checked; killed and restarted instead, every event arrived and the queue drained", bin.Name())
}
