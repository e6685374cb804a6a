package testenv

import (
	"os/exec"
	"testing"
)

// BusyLoops starts n processes that spin on a CPU each (`yes >/dev/null`,
// as a starved Kubernetes node would have them) until the test ends, so a
// test can show that what it checks holds on a machine with no CPU to spare.
func BusyLoops(tb testing.TB, n int) {
	tb.Helper()
	for range n {
		cmd := exec.Command("yes")
		if err := cmd.Start(); err != nil {
			tb.Fatalf("busy loop: %v", err)
		}
		tb.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
}
