package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// result is what one run of the command did.
type result struct {
	code           int
	stdout, stderr string
}

// command runs the command in-process, as if stderr were not a terminal.
func command(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	r := result{code: run(context.Background(), args, &out, &errb, false)}
	r.stdout, r.stderr = out.String(), errb.String()
	t.Logf("cloudtrail-backfill %s -> %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	return r
}

// TestUsageErrorsExit2 needs no AWS: every usage error is found before a
// call is made.
func TestUsageErrorsExit2(t *testing.T) {
	q := "-queue=http://127.0.0.1:1/000000000000/q"
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{q}, "-bucket is required"},
		{[]string{q, "-bucket=b", "-start=2024-03-02", "-end=2024-03-01"}, "is not after -start"},
		{[]string{q, "-bucket=b", "-start=yesterday"}, "-start"},
		{[]string{q, "-bucket=b", "-prefix=logs/"}, "AWSLogs/"},
		{[]string{q, "-bucket=b", "-per-message=0"}, "-per-message"},
		{[]string{q, "-bucket=b", "-accounts=123"}, "12-digit"},
		{[]string{"-bucket=b"}, "no queue"},
		{[]string{q, "-bucket=b", "extra"}, "unexpected argument"},
		{[]string{"-c=/nonexistent.conf", "-bucket=b"}, "nonexistent"},
	} {
		r := command(t, c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.says) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.says)
		}
	}
}

// TestDryRunAndRun runs the command against the emulator: a dry run
// counts per account, region and day and enqueues nothing; the run enqueues;
// a second run with the same resume file has nothing to do.
func TestDryRunAndRun(t *testing.T) {
	srv := testenv.Emulator(t)
	for _, kv := range append(srv.Env(), "AWS_PROFILE=", "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent") {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	ctx := context.Background()
	if _, err := seed.PutHistory(ctx, srv, "trail", 1); err != nil {
		t.Fatal(err)
	}
	q, _ := srv.CreateQueue(ctx, "backfill", nil)
	sel := []string{"-p", "queue_url=" + q, "-p", "s3_path_style=on", "-bucket=trail",
		"-start=2024-03-01T12:45:00Z", "-end=2024-03-03T01:30:00Z", "-accounts=111111111111,333333333333"}

	r := command(t, append(sel, "-dry-run")...)
	if r.code != 0 || !strings.Contains(r.stdout, "dry run: 12 objects") || !strings.Contains(r.stdout, "333333333333  us-east-1        2024-03-02         2") {
		t.Fatalf("dry run: exit %d", r.code)
	}
	if v, f, _ := srv.Depth(ctx, q); v+f != 0 {
		t.Fatalf("the dry run enqueued %d messages", v+f)
	}

	state := t.TempDir() + "/state.json"
	r = command(t, append(sel, "-resume="+state, "-per-message=5")...)
	if r.code != 0 || !strings.Contains(r.stdout, "done: 12 objects") || !strings.Contains(r.stdout, "in 3 messages") {
		t.Fatalf("run: exit %d", r.code)
	}
	r = command(t, append(sel, "-resume="+state, "-per-message=5")...)
	if r.code != 0 || !strings.Contains(r.stdout, "nothing to do") {
		t.Fatalf("run again: exit %d", r.code)
	}
	r = command(t, append(sel, "-resume="+state, "-regions=us-east-1")...)
	if r.code != 2 || !strings.Contains(r.stderr, "belongs to another run") {
		t.Fatalf("another run's resume file: exit %d", r.code)
	}
	if v, _, _ := srv.Depth(ctx, q); v != 3 {
		t.Errorf("%d messages in the queue, want 3", v)
	}
}
