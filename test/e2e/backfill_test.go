package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/notify"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

var (
	backfillOnce sync.Once
	backfillBin  string
	backfillErr  error
)

// backfillCommand returns the cloudtrail-backfill binary: $CLOUDTRAIL_BACKFILL
// (set by make test), else one built for this test binary.
func backfillCommand(t *testing.T) string {
	t.Helper()
	backfillOnce.Do(func() {
		if p := os.Getenv("CLOUDTRAIL_BACKFILL"); p != "" {
			backfillBin, backfillErr = p, nil
			if _, err := os.Stat(p); err != nil {
				backfillErr = fmt.Errorf("CLOUDTRAIL_BACKFILL=%s: %w", p, err)
			}
			return
		}
		dir, err := os.MkdirTemp("", "cloudtrail-backfill")
		if err != nil {
			backfillErr = err
			return
		}
		backfillBin = filepath.Join(dir, "cloudtrail-backfill")
		cmd := exec.Command("go", "build", "-o", backfillBin, "./cloudtrail/cmd/cloudtrail-backfill")
		cmd.Dir = emu.Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			backfillErr = fmt.Errorf("go build cloudtrail-backfill: %v\n%s", err, out)
		}
	})
	if backfillErr != nil {
		t.Fatal(backfillErr)
	}
	return backfillBin
}

func startBackfill(t *testing.T, srv *emu.Server, args ...string) *process {
	t.Helper()
	cmd := exec.Command(backfillCommand(t), args...)
	cmd.Env = append(os.Environ(), srv.Env()...)
	return startProcess(t, cmd)
}

// exitCode waits for a process to exit and returns its exit status.
func exitCode(t *testing.T, p *process, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		t.Fatalf("%s still running after %s:\n%s", filepath.Base(p.cmd.Path), limit, p.log.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// backfillSubset is the selection of the tests: 2 of the 3 accounts (one
// under an organization trail's prefix), from exactly one file's time to
// exactly another's (excluded).
func backfillSubset(h *seed.History) (args []string, want []seed.HistoryFile) {
	start, _ := time.Parse(time.RFC3339, "2024-03-01T12:45:00Z")
	end, _ := time.Parse(time.RFC3339, "2024-03-03T01:30:00Z")
	accounts := []string{seed.HistoryAccounts[0], seed.HistoryAccounts[2]}
	want = h.Select(func(f seed.HistoryFile) bool {
		return slices.Contains(accounts, f.Account) && !f.Time.Before(start) && f.Time.Before(end)
	})
	return []string{"-bucket=" + h.Bucket, "-start=2024-03-01T12:45:00Z", "-end=2024-03-03T01:30:00Z",
		"-accounts=" + strings.Join(accounts, ","), "-poll=200ms", "-progress=1s"}, want
}

// TestBackfillThroughFluentBit backfills part of a bucket uploaded without
// notifications into the queue a real Fluent Bit reads, while live
// notifications arrive on the same queue: exactly the selected files' events
// and the live ones reach the output, nothing else, and the queue drains.
// The backfill starts before Fluent Bit, so it first waits at -max-queued
// with the live notification queued behind it.
func TestBackfillThroughFluentBit(t *testing.T) {
	testenv.FluentBit(t)
	srv := testenv.Emulator(t)
	ctx := context.Background()
	q, err := srv.CreateQueue(ctx, "ct", nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := seed.PutHistory(ctx, srv, "history", 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateBucket(ctx, "live", "ct"); err != nil {
		t.Fatal(err)
	}
	args, files := backfillSubset(h)
	want := seed.Events(files)
	if len(files) != 12 {
		t.Fatalf("%d files selected, want 12", len(files))
	}

	// -per-message 1 -max-queued 3: the 12 files need many rounds of
	// flow control, during which live objects keep arriving.
	bf := startBackfill(t, srv, append(args, "-p", "queue_url="+q, "-p", "s3_path_style=on", "-per-message=1", "-max-queued=3")...)
	testenv.WaitFor(t, time.Minute, "the backfill waiting at -max-queued 3", func() bool {
		return strings.Contains(bf.log.String(), "queue full (3 messages)")
	})
	live, err := seed.PutSynthetic(ctx, srv, "live", "live", 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	for id := range live.Want {
		want[id]++
	}

	dir := t.TempDir()
	write(t, filepath.Join(dir, "plugins.conf"), "[PLUGINS]\n    path "+testenv.Plugin(t)+"\n")
	write(t, filepath.Join(dir, "fluent-bit.conf"), fmt.Sprintf(`[SERVICE]
    flush        1
    grace        5
    log_level    info
    plugins_file plugins.conf

[INPUT]
    name         cloudtrail
    tag          aws.cloudtrail
    queue_url    %s
    wait_time    1s

[OUTPUT]
    name   file
    match  aws.cloudtrail
    path   %s
    file   out.jsonl
    format plain
`, q, dir))
	fb := start(t, srv, dir, "-c", "fluent-bit.conf")
	out := filepath.Join(dir, "out.jsonl")
	count := func() map[string]int {
		got := map[string]int{}
		for _, r := range records(t, out) {
			id, _ := r["eventID"].(string)
			got[id]++
		}
		return got
	}
	if code := exitCode(t, bf, 3*time.Minute); code != 0 {
		t.Fatalf("cloudtrail-backfill exit %d", code)
	}
	testenv.WaitFor(t, 2*time.Minute, "every selected and live event in out_file", func() bool {
		got := count()
		for id := range want {
			if got[id] == 0 {
				return false
			}
		}
		return true
	})
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := srv.WaitEmpty(wctx, q); err != nil {
		t.Fatal(err)
	}
	fb.stop()
	got := count()
	for id, n := range got {
		if want[id] == 0 {
			t.Errorf("event %s (%d times) was not selected", id, n)
		}
	}
	if !strings.Contains(bf.log.String(), "done: 12 objects") {
		t.Errorf("no summary of 12 objects:\n%s", bf.log.String())
	}
	t.Logf("%d events (%d from the backfill, %d live), %d distinct; backfill: %s", len(want), len(want)-len(live.Want), len(live.Want), len(got), lastLine(bf.log.String()))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestBackfillResumeAfterKill kills the command (SIGKILL, as a crash) while
// it waits at -max-queued, then runs it again with the same -resume file:
// every selected file is enqueued, files enqueued twice are at most the
// one batch a crash can repeat, a dry run enqueues nothing and a bad range
// exits 2 with nothing enqueued.
func TestBackfillResumeAfterKill(t *testing.T) {
	srv := testenv.Emulator(t)
	ctx := context.Background()
	q, _ := srv.CreateQueue(ctx, "backfill", nil)
	h, err := seed.PutHistory(ctx, srv, "history", 1)
	if err != nil {
		t.Fatal(err)
	}
	args, files := backfillSubset(h)
	args = append(args, "-p", "queue_url="+q, "-p", "s3_path_style=on")

	bad := startBackfill(t, srv, append(args, "-end=2024-03-01")...)
	if code := exitCode(t, bad, time.Minute); code != 2 || !strings.Contains(bad.log.String(), "is not after -start") {
		t.Fatalf("a range ending before it starts: exit %d, want 2", code)
	}
	dry := startBackfill(t, srv, append(args, "-dry-run")...)
	if code := exitCode(t, dry, time.Minute); code != 0 || !strings.Contains(dry.log.String(), "dry run: 12 objects") {
		t.Fatalf("dry run: exit %d", code)
	}
	if v, f, _ := srv.Depth(ctx, q); v+f != 0 {
		t.Fatalf("bad range and dry run left %d messages", v+f)
	}

	state := filepath.Join(t.TempDir(), "backfill.state")
	first := startBackfill(t, srv, append(args, "-resume="+state, "-per-message=1", "-max-queued=4")...)
	testenv.WaitFor(t, time.Minute, "the first run waiting at -max-queued 4 with its state saved", func() bool {
		b, _ := os.ReadFile(state)
		return strings.Contains(first.log.String(), "queue full (4 messages)") && strings.Contains(string(b), `"objects": 4`)
	})
	first.cmd.Process.Kill()
	exitCode(t, first, time.Minute)
	var keys []string
	testenv.WaitFor(t, time.Minute, "the 4 messages of the killed run", func() bool {
		keys = append(keys, drainKeys(t, srv, q)...)
		return len(keys) >= 4
	})
	if len(keys) != 4 {
		t.Fatalf("the killed run enqueued %d, want 4", len(keys))
	}

	second := startBackfill(t, srv, append(args, "-resume="+state, "-per-message=1", "-max-queued=4")...)
	for done := false; !done; {
		select {
		case <-second.done:
			done = true
		case <-time.After(200 * time.Millisecond):
		}
		keys = append(keys, drainKeys(t, srv, q)...) // the consumer
	}
	if code := second.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("resumed run: exit %d", code)
	}
	testenv.WaitFor(t, time.Minute, "the queue drained", func() bool {
		keys = append(keys, drainKeys(t, srv, q)...)
		v, f, err := srv.Depth(ctx, q)
		return err == nil && v+f == 0
	})
	seen := map[string]int{}
	for _, k := range keys {
		seen[k]++
	}
	for _, f := range files {
		if seen[f.Key] == 0 {
			t.Errorf("not enqueued: %s", f.Key)
		}
		delete(seen, f.Key)
	}
	for k := range seen {
		t.Errorf("enqueued but not selected: %s", k)
	}
	if len(keys) != len(files) {
		t.Errorf("%d keys enqueued for %d files: a kill while waiting must repeat nothing", len(keys), len(files))
	}
	if !strings.Contains(second.log.String(), "resuming from") || !strings.Contains(second.log.String(), "12 objects in all with the earlier runs") {
		t.Errorf("the resumed run does not say it resumed:\n%s", second.log.String())
	}
}

// drainKeys receives and deletes the messages visible now and returns the
// keys they name, parsed as the plugin parses them.
func drainKeys(t *testing.T, srv *emu.Server, queue string) []string {
	t.Helper()
	ctx := context.Background()
	c := srv.SQS()
	var keys []string
	for {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queue), MaxNumberOfMessages: 10, VisibilityTimeout: 60})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return keys
		}
		for _, m := range out.Messages {
			res, err := notify.Parse([]byte(aws.ToString(m.Body)))
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range res.Objects {
				keys = append(keys, o.Key)
			}
			c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queue), ReceiptHandle: m.ReceiptHandle})
		}
	}
}
