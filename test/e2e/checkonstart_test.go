package e2e

import (
	"testing"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// TestCheckOnStartStopsFluentBit: with check_on_start on and a queue that
// does not exist, a real fluent-bit refuses the input (exits non-zero from
// 4.0) and its log names the failed check, on every Fluent Bit version.
func TestCheckOnStartStopsFluentBit(t *testing.T) {
	testenv.ForEachFluentBit(t, testCheckOnStart)
}

func testCheckOnStart(t *testing.T, bin testenv.FluentBitBinary) {
	srv := testenv.Emulator(t)
	refused(t, bin, srv, "check_on_start: FAILED sqs:GetQueueAttributes",
		"-p", "queue_url="+srv.URL+"/000000000000/absent", "-p", "check_on_start=on")
}
