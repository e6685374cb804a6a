package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// TestCheckOnStart: with check_on_start on, a queue that does not exist stops
// Init with the FAILED line naming the IAM action, and a working setup starts
// after logging its checks and then drains the queue as usual.
func TestCheckOnStart(t *testing.T) {
	srv := testenv.Emulator(t)
	ctx := context.Background()
	env := append(awsEnv(srv), "AWS_ENDPOINT_URL="+srv.URL)

	h := startHarness(t, env, "--input", "cloudtrail", "queue_url="+srv.URL+"/000000000000/absent", "check_on_start=on")
	select {
	case <-h.done:
	case <-time.After(60 * time.Second):
		t.Fatal("harness kept running although a check failed")
	}
	if code := h.cmd.ProcessState.ExitCode(); code != 255 {
		t.Errorf("exit code %d, want 255 as fluent-bit", code)
	}
	if log := h.stderr.String(); !strings.Contains(log, "check_on_start: FAILED sqs:GetQueueAttributes") || !strings.Contains(log, "does not exist") {
		t.Errorf("no FAILED line naming sqs:GetQueueAttributes:\n%s", log)
	}

	q, err := srv.CreateQueue(ctx, "checked", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateBucket(ctx, "checked-bucket", "checked"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Put(ctx, "checked-bucket", seed.Key("111122223333", emu.Region, 0),
		seed.Gzip([]byte(`{"Records":[{"eventVersion":"1.08","eventID":"chk-1","eventTime":"2024-01-01T00:00:00Z"}]}`))); err != nil {
		t.Fatal(err)
	}
	h = startHarness(t, env, "--input", "cloudtrail", "queue_url="+q, "s3_path_style=on", "wait_time=1s", "delete_delay=0s", "check_on_start=on")
	testenv.WaitFor(t, 30*time.Second, "the record", func() bool { return len(h.records()) == 1 })
	log := h.stderr.String()
	for _, s := range []string{"check ok sqs:ReceiveMessage", "check ok s3:GetObject", "check warn redrive policy", "] started"} {
		if !strings.Contains(log, s) {
			t.Errorf("log lacks %q", s)
		}
	}
	if _, code := h.stop(stopLimit); code != 0 {
		t.Errorf("exit code %d", code)
	}
}
