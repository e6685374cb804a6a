package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// TestCheckOnStartStopsFluentBit: with check_on_start on and a queue that
// does not exist, a real fluent-bit exits non-zero and its log names the
// failed check.
func TestCheckOnStartStopsFluentBit(t *testing.T) {
	testenv.FluentBit(t)
	srv := testenv.Emulator(t)
	fb := start(t, srv, t.TempDir(), "-e", testenv.Plugin(t), "-i", "cloudtrail",
		"-p", "queue_url="+srv.URL+"/000000000000/absent", "-p", "check_on_start=on", "-o", "null")
	select {
	case <-fb.done:
	case <-time.After(30 * time.Second):
		t.Fatal("fluent-bit kept running although a check failed")
	}
	if fb.cmd.ProcessState.ExitCode() == 0 {
		t.Fatal("fluent-bit exited 0 although a check failed")
	}
	if log := fb.log.String(); !strings.Contains(log, "check_on_start: FAILED sqs:GetQueueAttributes") {
		t.Fatalf("no line naming the failed check:\n%s", log)
	}
}
