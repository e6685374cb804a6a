// Package testenv finds or builds the binaries the integration tests run:
// the plugin .so, the C host harness and, when one is installed, a real
// fluent-bit.
package testenv

import (
	"bytes"
	"encoding/json"
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

// CompleteLines splits what has been read so far of a file another process
// appends to into its complete lines (without their '\n') and the tail after
// the last '\n'. A read that races a write sees the bytes the kernel has
// copied so far, so while the writer runs the tail is a line still being
// written: it is not a line yet.
func CompleteLines(b []byte) (lines [][]byte, tail []byte) {
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return lines, b
		}
		lines = append(lines, b[:i])
		b = b[i+1:]
	}
}

// ReadHarnessOutput reads the JSON lines the harness has written so far to
// its --out file (one per record handed over, see test/harness/README.md),
// each decoded into a T with numbers kept as json.Number. It is the one way
// the tests read that file.
//
// The harness may be writing while this reads: it appends a callback's lines
// with one fwrite+fflush, which stdio splits into several write() calls, and
// even one large write() reaches the file page by page. So the file may end in
// the first part of a line; that tail is left for a later read. exited says
// the harness process had exited before this call (evaluate it before
// reading): every line it writes ends in '\n', so then a tail is an error (it
// died in the middle of a line). A complete line that is not JSON is always an
// error. A missing file is no output yet.
func ReadHarnessOutput[T any](tb testing.TB, path string, exited bool) []T {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) && !exited {
			return nil
		}
		tb.Fatalf("harness output: %v", err)
	}
	lines, tail := CompleteLines(b)
	if exited && len(tail) > 0 {
		tb.Fatalf("harness output %s ends in an unterminated line after the harness exited (it died in the middle of a line): %.200q", path, tail)
	}
	out := make([]T, 0, len(lines))
	for i, l := range lines {
		if len(l) == 0 {
			continue
		}
		var v T
		dec := json.NewDecoder(bytes.NewReader(l))
		dec.UseNumber()
		err := dec.Decode(&v)
		if err == nil && dec.More() {
			err = fmt.Errorf("text after the JSON value")
		}
		if err != nil {
			tb.Fatalf("harness output line %d is not one JSON value: %v: %.200q", i+1, err, l)
		}
		out = append(out, v)
	}
	return out
}
