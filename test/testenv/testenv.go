// Package testenv finds or builds the binaries the integration tests run:
// the plugin .so, the C host harness and, when one is installed, a real
// fluent-bit.
package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
)

var (
	buildOnce sync.Once
	buildErr  error
)

// build runs `make build harness awsemu` once per test binary when the
// Makefile has not provided the artifacts (a plain `go test ./...`).
func build() error {
	buildOnce.Do(func() {
		if os.Getenv("IN_CLOUDTRAIL_SO") != "" && os.Getenv("HARNESS_BIN") != "" {
			return
		}
		cmd := exec.Command("make", "build", "harness", "awsemu")
		cmd.Dir = emu.Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("make build harness awsemu: %v\n%s", err, out)
		}
	})
	return buildErr
}

func artifact(tb testing.TB, env, rel string) string {
	tb.Helper()
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			tb.Fatalf("%s=%s: %v", env, p, err)
		}
		return p
	}
	if err := build(); err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(emu.Root(), rel)
}

// Plugin returns the path of the built in_cloudtrail.so.
func Plugin(tb testing.TB) string { return artifact(tb, "IN_CLOUDTRAIL_SO", "build/in_cloudtrail.so") }

// Harness returns the path of the C host harness.
func Harness(tb testing.TB) string { return artifact(tb, "HARNESS_BIN", "build/harness") }

// FluentBit returns a real fluent-bit binary from $FLUENT_BIT or PATH, or
// skips the test saying so plainly.
func FluentBit(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("FLUENT_BIT"); p != "" {
		if _, err := os.Stat(p); err != nil {
			tb.Fatalf("FLUENT_BIT=%s: %v", p, err)
		}
		return p
	}
	p, err := exec.LookPath("fluent-bit")
	if err != nil {
		tb.Skip("SKIPPED: no fluent-bit found (set FLUENT_BIT=/path/to/fluent-bit or put it on PATH); this end-to-end test needs a real Fluent Bit 5.1")
	}
	return p
}

// Emulator starts an AWS emulator for the test and stops it at the end.
func Emulator(tb testing.TB) *emu.Server {
	tb.Helper()
	s, err := emu.Start()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// SyncBuffer is a bytes.Buffer safe for a process writing while a test
// reads, used to capture a child process's output.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WaitFor polls cond every 200 ms and fails the test when it is still false
// after limit.
func WaitFor(tb testing.TB, limit time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
