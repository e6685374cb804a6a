package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/faultproxy"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// syntheticQueue creates queue "ct" (with attrs) notified by bucket "trail",
// and puts objects synthetic objects of events events each into it.
func syntheticQueue(t *testing.T, srv *emu.Server, attrs map[string]string, prefix string, objects, events int) (string, *seed.Workload) {
	t.Helper()
	ctx := context.Background()
	q, err := srv.CreateQueue(ctx, "ct", attrs)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateBucket(ctx, "trail", "ct"); err != nil {
		t.Fatal(err)
	}
	w, err := seed.PutSynthetic(ctx, srv, "trail", prefix, objects, events)
	if err != nil {
		t.Fatal(err)
	}
	return q, w
}

// TestUnknownKeyRefused: a misspelt key would switch a guard off silently,
// since Fluent Bit gives Go plugins no configuration map. The plugin finds
// the instance's property list itself (package flbabi) and refuses the key,
// naming the closest one, on every Fluent Bit version.
func TestUnknownKeyRefused(t *testing.T) {
	testenv.ForEachFluentBit(t, func(t *testing.T, bin testenv.FluentBitBinary) {
		refused(t, bin, testenv.Emulator(t), `unknown key "bucket_alowlist" (did you mean "bucket_allowlist"?)`,
			"-p", "queue_url="+anyQueue, "-p", "Bucket_Alowlist=trail", "-p", "wait_time=1s")
	})
}

// TestTwoInputsOneQueue: two [INPUT]s of the plugin read one queue. Each
// event must arrive once, and each instance's records under its own tag: on
// Fluent Bit before 4.1, which has no *Ctx callbacks, the plugin tells the
// instances apart by thread, and a mix-up would put one instance's records
// under the other's tag (its count would not match its own output).
func TestTwoInputsOneQueue(t *testing.T) {
	testenv.ForEachFluentBit(t, testTwoInputsOneQueue)
}

func testTwoInputsOneQueue(t *testing.T, bin testenv.FluentBitBinary) {
	srv := testenv.Emulator(t)
	ctx := context.Background()
	q, w := syntheticQueue(t, srv, nil, "two", 40, 50)
	dir := t.TempDir()
	input := func(name string) string {
		return fmt.Sprintf("[INPUT]\n    name cloudtrail\n    tag ct.%s\n    queue_url %s\n    wait_time 1s\n    workers 2\n\n"+
			"[OUTPUT]\n    name file\n    match ct.%s\n    path %s\n    file %s.jsonl\n    format plain\n\n", name, q, name, dir, name)
	}
	write(t, filepath.Join(dir, "fluent-bit.conf"), "[SERVICE]\n    flush 1\n    grace 5\n    log_level info\n\n"+input("a")+input("b"))
	fb := startOn(t, bin, srv, dir, "-e", testenv.Plugin(t), "-c", "fluent-bit.conf")
	outs := []string{filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")}
	testenv.WaitFor(t, 2*time.Minute, "every event and an empty queue", func() bool {
		v, f, _ := srv.Depth(ctx, q)
		return v+f == 0 && len(w.Missing(eventIDs(t, outs...))) == 0
	})
	fb.stop()
	log := fb.log.String()
	checkStartLines(t, bin, log, 2)
	for id, n := range eventIDs(t, outs...) {
		if n != 1 {
			t.Errorf("eventID %s arrived %d times", id, n)
		}
	}
	for i, out := range outs {
		inst := fmt.Sprintf("cloudtrail.%d", i)
		got := 0
		for _, n := range eventIDs(t, out) {
			got += n
		}
		if recs := statsValue(t, log, inst, "records"); recs != got {
			t.Errorf("%s handed over %d records, its output %s holds %d: instances mixed up", inst, recs, filepath.Base(out), got)
		}
		if statsValue(t, log, inst, "received") == 0 {
			t.Errorf("%s received no message: the test did not make both instances work", inst)
		}
	}
}

// TestSIGTERMWithMessagesInFlight stops Fluent Bit with SIGTERM while
// objects are still being read (each download slowed down), on every Fluent
// Bit version: it must exit 0 within its grace period, release (not delete)
// the messages it had not finished, and a second run must bring every event.
func TestSIGTERMWithMessagesInFlight(t *testing.T) {
	testenv.ForEachFluentBit(t, testSIGTERMWithMessagesInFlight)
}

func testSIGTERMWithMessagesInFlight(t *testing.T, bin testenv.FluentBitBinary) {
	srv := testenv.Emulator(t)
	ctx := context.Background()
	q, w := syntheticQueue(t, srv, map[string]string{"VisibilityTimeout": "30"}, "term", 30, 200)
	px, err := faultproxy.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.Close)
	px.Add(&faultproxy.Rule{Name: "pace", Op: "s3:GetObject", Fault: faultproxy.Fault{Delay: 300 * time.Millisecond}})
	dir := t.TempDir()
	run := func(n int) (*fluentBit, string) {
		name := fmt.Sprintf("run%d", n)
		write(t, filepath.Join(dir, name+".conf"), fmt.Sprintf(`[SERVICE]
    flush     1
    grace     5
    log_level info

[INPUT]
    name               cloudtrail
    tag                aws.cloudtrail
    queue_url          %s
    endpoint_url       %s
    wait_time          1s
    workers            2
    visibility_timeout 30s

[OUTPUT]
    name   file
    match  aws.cloudtrail
    path   %s
    file   %s.jsonl
    format plain
`, q, px.URL, dir, name))
		return startOn(t, bin, srv, dir, "-e", testenv.Plugin(t), "-c", name+".conf"), filepath.Join(dir, name+".jsonl")
	}
	fb, out1 := run(1)
	testenv.WaitFor(t, 2*time.Minute, "a fifth of the events", func() bool { return len(eventIDs(t, out1)) >= len(w.Want)/5 })
	inflight := len(px.InFlight())
	took := fb.stop()
	released := statsValue(t, fb.log.String(), "cloudtrail.0", "released")
	t.Logf("SIGTERM with %d messages in flight: exit 0 after %s, %d released, %d of %d events out", inflight, took.Round(time.Millisecond), released, len(eventIDs(t, out1)), len(w.Want))
	if inflight == 0 {
		t.Fatal("no message was in flight at SIGTERM: the test did not provoke what it checks")
	}

	fb, out2 := run(2)
	testenv.WaitFor(t, 2*time.Minute, "every event and an empty queue after the restart", func() bool {
		v, f, _ := srv.Depth(ctx, q)
		return v+f == 0 && len(w.Missing(eventIDs(t, out1, out2))) == 0
	})
	fb.stop()
	dups := 0
	for _, n := range eventIDs(t, out1, out2) {
		dups += n - 1
	}
	t.Logf("%d events across the two runs, %d duplicates", len(w.Want), dups)
}
