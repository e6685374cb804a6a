package testenv

import (
	"cmp"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// FluentBitBinary is one real Fluent Bit the end-to-end tests run against,
// with what its version can do. Users run 3.x and 4.0 for years after a
// release, so the tests run every binary of FLUENT_BIT_VERSIONS, each as a
// subtest named after its version (TestX/fluent-bit-4.0.14).
type FluentBitBinary struct {
	Path    string
	Version string // as fluent-bit --version prints it: "4.0.14"

	major, minor, patch int
}

// Name names the binary's subtests and skip messages: fluent-bit-4.0.14.
func (b FluentBitBinary) Name() string { return "fluent-bit-" + b.Version }

// AtLeast reports whether the binary is release major.minor or later.
func (b FluentBitBinary) AtLeast(major, minor int) bool {
	return b.major > major || b.major == major && b.minor >= minor
}

// Counters reports whether the binary has the per-instance ring buffer
// counters (fluentbit_input_ring_buffer_writes_total, since 4.1) by which
// the plugin acknowledges; without them it acknowledges by delay.
func (b FluentBitBinary) Counters() bool { return b.AtLeast(4, 1) }

// CtxCallbacks reports whether the binary calls FLBPluginInputCallbackCtx
// (since 4.1); before, the plugin tells its instances apart by thread.
func (b FluentBitBinary) CtxCallbacks() bool { return b.AtLeast(4, 1) }

// InitFailureStops reports whether Fluent Bit exits when an input's init
// fails. 3.2 logs "could not initialize threaded plugin instance" and runs
// on without the input.
func (b FluentBitBinary) InitFailureStops() bool { return b.AtLeast(4, 0) }

// AckMode is the acknowledgement mode the plugin's start line names on this
// binary: "ack=counters" or "ack=delay".
func (b FluentBitBinary) AckMode() string {
	if b.Counters() {
		return "ack=counters"
	}
	return "ack=delay"
}

// SkipUnless skips a test that needs what the binary lacks, naming the
// binary and the reason, so that it counts as skipped and not as passed.
func (b FluentBitBinary) SkipUnless(tb testing.TB, has bool, why string) {
	tb.Helper()
	if !has {
		tb.Skipf("SKIPPED on %s: %s", b.Name(), why)
	}
}

var (
	versionsMu sync.Mutex
	versions   = map[string]FluentBitBinary{}
	versionRE  = regexp.MustCompile(`Fluent Bit v(\d+)\.(\d+)\.(\d+)`)
)

// probe runs path --version once per test binary.
func probe(tb testing.TB, path string) FluentBitBinary {
	tb.Helper()
	versionsMu.Lock()
	defer versionsMu.Unlock()
	if b, ok := versions[path]; ok {
		return b
	}
	out, err := exec.Command(path, "--version").CombinedOutput()
	m := versionRE.FindStringSubmatch(string(out))
	if m == nil {
		tb.Fatalf("%s --version: %v: no \"Fluent Bit vX.Y.Z\" in %q", path, err, out)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	patch, _ := strconv.Atoi(m[3])
	b := FluentBitBinary{Path: path, Version: m[1] + "." + m[2] + "." + m[3], major: major, minor: minor, patch: patch}
	versions[path] = b
	return b
}

// FluentBits returns the binaries to test: the paths of FLUENT_BIT_VERSIONS
// (space-separated), else the one of $FLUENT_BIT or PATH. Without any it
// skips the test, saying so.
func FluentBits(tb testing.TB) []FluentBitBinary {
	tb.Helper()
	list := strings.Fields(os.Getenv("FLUENT_BIT_VERSIONS"))
	if len(list) == 0 {
		list = []string{defaultFluentBit(tb)}
	}
	out := make([]FluentBitBinary, 0, len(list))
	for _, p := range list {
		if _, err := os.Stat(p); err != nil {
			tb.Fatalf("FLUENT_BIT_VERSIONS names %s: %v", p, err)
		}
		out = append(out, probe(tb, p))
	}
	return out
}

// Newest returns the newest binary of FluentBits, which the heavy tests
// (SIGKILL loops, ring-buffer drops, load) run on alone to keep make test
// short on two cores.
func Newest(tb testing.TB) FluentBitBinary {
	tb.Helper()
	all := FluentBits(tb)
	best := all[0]
	for _, b := range all[1:] {
		if cmp.Or(cmp.Compare(b.major, best.major), cmp.Compare(b.minor, best.minor), cmp.Compare(b.patch, best.patch)) > 0 {
			best = b
		}
	}
	return best
}

// ForEachFluentBit runs f as a subtest per binary of FluentBits, one after
// another, named after its version.
func ForEachFluentBit(t *testing.T, f func(t *testing.T, fb FluentBitBinary)) {
	t.Helper()
	for _, b := range FluentBits(t) {
		t.Run(b.Name(), func(t *testing.T) { f(t, b) })
	}
}

// FluentBit returns the path of the newest real fluent-bit to test, or skips
// the test saying so plainly.
func FluentBit(tb testing.TB) string {
	tb.Helper()
	return Newest(tb).Path
}

// defaultFluentBit is $FLUENT_BIT, else fluent-bit on PATH.
func defaultFluentBit(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("FLUENT_BIT"); p != "" {
		return p
	}
	p, err := exec.LookPath("fluent-bit")
	if err != nil {
		tb.Skip(`SKIPPED: no fluent-bit found (set FLUENT_BIT=/path/to/fluent-bit or FLUENT_BIT_VERSIONS="/path/a /path/b", or put fluent-bit on PATH); this end-to-end test needs a real Fluent Bit (3.2 or later)`)
	}
	return p
}
