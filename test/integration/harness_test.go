// Package integration runs the built plugin through the C host harness,
// which loads in_cloudtrail.so the way Fluent Bit v5 does, against a real
// AWS emulator process.
package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// run is one harness process.
type run struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    string
	stderr *testenv.SyncBuffer
	done   chan struct{}
	err    error
}

// startHarness runs the harness; args before the first --input are harness
// options, the rest instance sections.
func startHarness(t *testing.T, env []string, args ...string) *run {
	t.Helper()
	r := &run{t: t, out: filepath.Join(t.TempDir(), "out.jsonl"), stderr: &testenv.SyncBuffer{}, done: make(chan struct{})}
	split := 0
	for split < len(args) && args[split] != "--input" {
		split++
	}
	full := append(append(append([]string{"--out", r.out}, args[:split]...), testenv.Plugin(t)), args[split:]...)
	r.cmd = exec.Command(testenv.Harness(t), full...)
	r.cmd.Env = append(os.Environ(), env...)
	r.cmd.Stderr = r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.cmd.Process.Kill()
			<-r.done
		}
		if t.Failed() {
			t.Logf("harness stderr:\n%s", r.stderr.String())
		}
	})
	return r
}

// line is one record as the harness prints it.
type line struct {
	Tag    string         `json:"tag"`
	TS     float64        `json:"ts"`
	Record map[string]any `json:"record"`
}

// exited reports whether the harness process has exited.
func (r *run) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// records returns the records the harness has printed so far.
func (r *run) records() []line {
	r.t.Helper()
	// r.exited() is evaluated before the file is read.
	return testenv.ReadHarnessOutput[line](r.t, r.out, r.exited())
}

// stopLimit is how long stop waits for the harness to exit after SIGTERM.
// It only catches a hang (shutdown time is checked where it matters), so it
// leaves room for a machine starved of CPU.
const stopLimit = 60 * time.Second

// stop sends SIGTERM and waits for the harness to exit, returning how long
// the shutdown took and the exit code.
func (r *run) stop(limit time.Duration) (time.Duration, int) {
	start := time.Now()
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(limit):
		r.t.Fatalf("harness did not exit within %s of SIGTERM", limit)
	}
	return time.Since(start), r.cmd.ProcessState.ExitCode()
}

func awsEnv(srv *emu.Server) []string {
	return []string{"AWS_REGION=" + emu.Region, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true"}
}

func TestPluginDrainsEveryNotificationShape(t *testing.T) {
	srv := testenv.Emulator(t)
	ctx := context.Background()
	sc, err := seed.Full(ctx, srv, "ct", "trail")
	if err != nil {
		t.Fatal(err)
	}
	h := startHarness(t, awsEnv(srv), "--input", "cloudtrail", "queue_url="+sc.QueueURL, "endpoint_url="+srv.URL,
		"wait_time=1s", "delete_delay=0s", "--tag", "aws.cloudtrail")
	count := func() map[string]int {
		got := map[string]int{}
		for _, l := range h.records() {
			id, _ := l.Record["eventID"].(string)
			got[id]++
		}
		return got
	}
	testenv.WaitFor(t, 90*time.Second, "every event", func() bool {
		got := count()
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
	took, code := h.stop(stopLimit)
	if code != 0 {
		t.Fatalf("harness exit code %d", code)
	}
	t.Logf("shutdown took %s", took)
	got := count()
	for id, n := range got {
		if n > sc.Want[id] {
			t.Errorf("eventID %q arrived %d times, expected %d", id, n, sc.Want[id])
		}
	}
	for _, l := range h.records() {
		if l.Tag != "aws.cloudtrail" {
			t.Fatalf("record with tag %q", l.Tag)
		}
		src, _ := l.Record[record.SourceKey].(map[string]any)
		key, _ := src["key"].(string)
		if strings.Contains(key, "Digest") || l.Record["digestStartTime"] != nil {
			t.Fatalf("digest content emitted: %v", l.Record)
		}
		if src["bucket"] == "" || src["sqs_message_id"] == "" {
			t.Fatalf("record without its source: %v", src)
		}
		et, _ := l.Record["eventTime"].(string)
		if ts, err := time.Parse(time.RFC3339, et); err == nil && ts.Unix() != int64(l.TS) {
			t.Fatalf("record time %v is not eventTime %s", l.TS, et)
		}
	}
	t.Logf("%d records, %d distinct eventIDs, %d messages", sc.Events(), len(got), sc.Messages)
}

func TestTwoInstancesTwoQueues(t *testing.T) {
	srv := testenv.Emulator(t)
	ctx := context.Background()
	files, err := seed.Corpus(filepath.Join(emu.Root(), "test", "testdata", "cloudtrail", "stratus-red-team"))
	if err != nil {
		t.Fatal(err)
	}
	queues := map[string]string{}
	want := map[string]map[string]bool{}
	for i, name := range []string{"a", "b"} {
		q, err := srv.CreateQueue(ctx, "q-"+name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.CreateBucket(ctx, "bucket-"+name, "q-"+name); err != nil {
			t.Fatal(err)
		}
		queues[name] = q
		want[name] = map[string]bool{}
		for j := i; j < len(files); j += 2 {
			if err := srv.Put(ctx, "bucket-"+name, seed.Key("111122223333", "us-east-1", j), seed.Gzip(files[j].JSON)); err != nil {
				t.Fatal(err)
			}
			for _, id := range files[j].EventIDs {
				want[name][id] = true
			}
		}
	}
	// The endpoint comes from the SDK's own variable here, not endpoint_url.
	env := append(awsEnv(srv), "AWS_ENDPOINT_URL="+srv.URL)
	h := startHarness(t, env,
		"--input", "cloudtrail", "queue_url="+queues["a"], "wait_time=1s", "delete_delay=0s", "workers=1", "--tag", "ct.a",
		"--input", "cloudtrail", "queue_url="+queues["b"], "wait_time=2s", "delete_delay=0s", "workers=2", "--tag", "ct.b")
	testenv.WaitFor(t, 60*time.Second, "both queues drained", func() bool {
		v1, f1, _ := srv.Depth(ctx, queues["a"])
		v2, f2, _ := srv.Depth(ctx, queues["b"])
		return v1+f1+v2+f2 == 0
	})
	time.Sleep(1500 * time.Millisecond)
	if _, code := h.stop(stopLimit); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	got := map[string]map[string]bool{"a": {}, "b": {}}
	for _, l := range h.records() {
		name := strings.TrimPrefix(l.Tag, "ct.")
		src, _ := l.Record[record.SourceKey].(map[string]any)
		if src["queue_url"] != queues[name] || src["bucket"] != "bucket-"+name {
			t.Fatalf("record tagged %s came from %v", l.Tag, src)
		}
		got[name][l.Record["eventID"].(string)] = true
	}
	for name := range want {
		for id := range want[name] {
			if !got[name][id] {
				t.Errorf("instance %s: eventID %s missing", name, id)
			}
		}
	}
	for _, name := range []string{"cloudtrail.0", "cloudtrail.1"} {
		if !strings.Contains(h.stderr.String(), "[input:cloudtrail:"+name+"] started") {
			t.Errorf("no start line for %s", name)
		}
	}
	// The harness exports no Fluent Bit metrics API: the plugin must say it
	// falls back to the delay, once per instance.
	if n := strings.Count(h.stderr.String(), "; ack=delay (the host exports no metrics API"); n != 2 {
		t.Errorf("%d of 2 start lines say ack=delay with the reason", n)
	}
	// So the plugin cannot pace its own handover timer: the Go proxy's 1 s
	// callback hands records over, with the larger buffer.
	if n := strings.Count(h.stderr.String(), "; handover once a second by the Go proxy's callback (without Fluent Bit's counters"); n != 2 {
		t.Errorf("%d of 2 start lines say the proxy's callback hands over", n)
	}
	if n := strings.Count(h.stderr.String(), " buffer_max_size=24M "); n != 2 {
		t.Errorf("%d of 2 start lines give the 24M buffer of the proxy's callback", n)
	}
}

func TestBadConfigFailsInit(t *testing.T) {
	for _, tc := range []struct{ kv, want string }{
		{"max_messages=11", `max_messages "11"`},
		{"schema=cef", `schema "cef"`},
		{"wait_time=forever", `wait_time "forever"`},
	} {
		h := startHarness(t, nil, "--input", "cloudtrail", "queue_url=https://sqs.us-east-1.amazonaws.com/123456789012/q", tc.kv)
		select {
		case <-h.done:
		case <-time.After(60 * time.Second):
			t.Fatal("harness did not exit on a bad configuration")
		}
		if code := h.cmd.ProcessState.ExitCode(); code != 255 {
			t.Errorf("%s: exit code %d, want 255 as fluent-bit", tc.kv, code)
		}
		if !strings.Contains(h.stderr.String(), tc.want) {
			t.Errorf("%s: stderr does not name the key and value:\n%s", tc.kv, h.stderr.String())
		}
	}
}

func TestPauseStopsIntakeAndResumeDrains(t *testing.T) {
	srv := testenv.Emulator(t)
	ctx := context.Background()
	q, _ := srv.CreateQueue(ctx, "ct", nil)
	srv.CreateBucket(ctx, "trail", "ct")
	h := startHarness(t, awsEnv(srv), "--interval-ms", "300", "--input", "cloudtrail", "queue_url="+q,
		"endpoint_url="+srv.URL, "wait_time=1s", "delete_delay=0s")
	testenv.WaitFor(t, 60*time.Second, "start", func() bool { return strings.Contains(h.stderr.String(), "started") })
	// The harness has no counters: ack=delay, where a short delete_delay
	// is a risk the plugin names at start.
	if !strings.Contains(h.stderr.String(), "delete_delay 0s with ack=delay") {
		t.Errorf("no warning about delete_delay 0s without counters:\n%s", h.stderr.String())
	}
	h.cmd.Process.Signal(syscall.SIGUSR1)
	// A long poll in flight at pause time goes on: let it end (wait_time=1s,
	// with room for a machine starved of CPU) before objects arrive.
	time.Sleep(4 * time.Second)
	files, _ := seed.Corpus(filepath.Join(emu.Root(), "test", "testdata", "cloudtrail", "stratus-red-team"))
	for i, f := range files[:4] {
		srv.Put(ctx, "trail", seed.Key("111122223333", "us-east-1", i), seed.Gzip(f.JSON))
	}
	time.Sleep(3 * time.Second)
	if n := len(h.records()); n != 0 {
		t.Fatalf("paused input emitted %d records", n)
	}
	if v, _, _ := srv.Depth(ctx, q); v != 4 {
		t.Fatalf("paused input received messages: %d of 4 visible", v)
	}
	h.cmd.Process.Signal(syscall.SIGUSR2)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := srv.WaitEmpty(wctx, q); err != nil {
		t.Fatal(err)
	}
	if _, code := h.stop(stopLimit); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if len(h.records()) == 0 {
		t.Fatal("no records after resume")
	}
}

func TestShutdownReturnsUnfinishedMessages(t *testing.T) {
	srv := testenv.Emulator(t)
	ctx := context.Background()
	q, _ := srv.CreateQueue(ctx, "ct", nil)
	srv.CreateBucket(ctx, "trail", "ct")
	files, _ := seed.Corpus(filepath.Join(emu.Root(), "test", "testdata", "cloudtrail", "stratus-red-team"))
	for i, f := range files[:6] {
		srv.Put(ctx, "trail", seed.Key("111122223333", "us-east-1", i), seed.Gzip(f.JSON))
	}
	// Paused by a tiny memory limit that never drains: messages are received
	// and decoded but their records cannot all be handed over.
	h := startHarness(t, awsEnv(srv), "--mem-buf-limit", "1", "--input", "cloudtrail", "queue_url="+q,
		"endpoint_url="+srv.URL, "wait_time=1s", "delete_delay=0s", "workers=2", "buffer_max_size=64K")
	testenv.WaitFor(t, 60*time.Second, "first records", func() bool { return len(h.records()) > 0 })
	time.Sleep(2 * time.Second)
	took, code := h.stop(stopLimit)
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if took > 5*time.Second {
		t.Errorf("shutdown took %s, more than Fluent Bit's default 5 s grace", took)
	}
	// Whatever was not deleted must be receivable again at once.
	v, err := srv.Visible(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	deleted := 6 - v
	t.Logf("%d messages deleted, %d returned, %d records emitted", deleted, v, len(h.records()))
	if v == 0 {
		t.Fatal("every message was deleted although the input was paused")
	}
}

// TestPauseBugTwoInstances reproduces Fluent Bit v5.1.1's pause bug with two
// instances of one .so (the pause stops the wrong instance's timer, ABI doc
// 6.1): the paused instance keeps being called, and must hand nothing over.
func TestPauseBugTwoInstances(t *testing.T) {
	srv := testenv.Emulator(t)
	ctx := context.Background()
	files, _ := seed.Corpus(filepath.Join(emu.Root(), "test", "testdata", "cloudtrail", "stratus-red-team"))
	var queues []string
	for i, name := range []string{"a", "b"} {
		q, _ := srv.CreateQueue(ctx, "q-"+name, nil)
		srv.CreateBucket(ctx, "bucket-"+name, "q-"+name)
		queues = append(queues, q)
		for j := i; j < 16; j += 2 {
			srv.Put(ctx, "bucket-"+name, seed.Key("111122223333", "us-east-1", j), seed.Gzip(files[j].JSON))
		}
	}
	h := startHarness(t, awsEnv(srv), "--emulate-pause-bug", "--interval-ms", "300",
		"--input", "cloudtrail", "queue_url="+queues[0], "endpoint_url="+srv.URL, "wait_time=1s", "buffer_max_size=64K", "mem_buf_limit=1", "--tag", "a",
		"--input", "cloudtrail", "queue_url="+queues[1], "endpoint_url="+srv.URL, "wait_time=1s", "--tag", "b")
	countA := func() int {
		n := 0
		for _, l := range h.records() {
			if l.Tag == "a" {
				n++
			}
		}
		return n
	}
	testenv.WaitFor(t, 60*time.Second, "instance a paused", func() bool {
		return strings.Contains(h.stderr.String(), "cloudtrail.0 paused")
	})
	before := countA()
	time.Sleep(3 * time.Second) // ten callbacks of the (wrongly) running instance a
	if after := countA(); after != before {
		t.Fatalf("paused instance a handed over %d more records", after-before)
	}
	if v, f, _ := srv.Depth(ctx, queues[0]); v+f == 0 {
		t.Fatal("instance a's queue drained although it was paused")
	}
	if _, code := h.stop(stopLimit); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
