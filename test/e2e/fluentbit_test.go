// Package e2e runs the plugin inside a real fluent-bit against the AWS
// emulator: the light tests on every binary of FLUENT_BIT_VERSIONS (a
// subtest per version), the heavy ones on the newest (package testenv).
// Without a fluent-bit the tests are skipped and say so.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// process is a child process of a test with its output captured. It is
// killed at the end of the test if still running, and its output is logged
// when the test failed.
type process struct {
	t    *testing.T
	cmd  *exec.Cmd
	log  *testenv.SyncBuffer
	done chan struct{}
}

func startProcess(t *testing.T, cmd *exec.Cmd) *process {
	t.Helper()
	p := &process{t: t, cmd: cmd, log: &testenv.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			if t.Failed() {
				t.Logf("%s was still running: its threads\n%s", filepath.Base(cmd.Path), threadStacks(cmd.Process.Pid))
			}
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", filepath.Base(cmd.Path), p.log.String())
		}
	})
	return p
}

// threadStacks returns every thread's stack of a live process, read with
// gdb when it is installed: a Fluent Bit that hangs (an engine that never
// stops, a callback that never returns) shows where in the failing test's log.
func threadStacks(pid int) string {
	gdb, err := exec.LookPath("gdb")
	if err != nil {
		return "(no gdb on PATH to read them)"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, gdb, "-batch", "-p", strconv.Itoa(pid), "-ex", "thread apply all bt").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("%s(gdb: %v)", out, err)
	}
	return string(out)
}

type fluentBit struct{ *process }

// start runs the newest fluent-bit under test.
func start(t *testing.T, srv *emu.Server, dir string, args ...string) *fluentBit {
	t.Helper()
	return startOn(t, testenv.Newest(t), srv, dir, args...)
}

// startOn runs fluent-bit binary bin with args in dir, its AWS SDK pointed
// at the emulator.
func startOn(t *testing.T, bin testenv.FluentBitBinary, srv *emu.Server, dir string, args ...string) *fluentBit {
	t.Helper()
	cmd := exec.Command(bin.Path, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "AWS_REGION="+emu.Region, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL="+srv.URL)
	return &fluentBit{startProcess(t, cmd)}
}

// stop sends SIGTERM and requires fluent-bit to exit by itself, with status
// 0, within its 5 s grace period plus a margin.
func (fb *fluentBit) stop() time.Duration {
	start := time.Now()
	fb.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-fb.done:
	case <-time.After(9 * time.Second):
		fb.t.Fatalf("fluent-bit did not exit within 9 s of SIGTERM")
	}
	if code := fb.cmd.ProcessState.ExitCode(); code != 0 {
		fb.t.Fatalf("fluent-bit exit status %d", code)
	}
	return time.Since(start)
}

// records reads out_file's "plain" output: one JSON record per line. A
// tail without its '\n' is a line still being written, or one torn by a kill
// (each run writes its own file, so it cannot glue to another line): it is
// left out. A complete line that is not JSON fails the test.
func records(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, _ := os.ReadFile(path)
	lines, _ := testenv.CompleteLines(b)
	out := make([]map[string]any, 0, len(lines))
	for i, l := range lines {
		if len(l) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("%s line %d is not a JSON record: %v: %.200q", path, i+1, err, l)
		}
		out = append(out, m)
	}
	return out
}

func write(t *testing.T, path, text string) {
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestClassicConfigDrainsSeededQueue loads the plugin through a plugins file
// from a classic config, drains a queue seeded with every real CloudTrail
// file and every notification shape into out_file, and checks every eventID,
// on every Fluent Bit version.
func TestClassicConfigDrainsSeededQueue(t *testing.T) {
	testenv.ForEachFluentBit(t, testClassicConfigDrainsSeededQueue)
}

func testClassicConfigDrainsSeededQueue(t *testing.T, bin testenv.FluentBitBinary) {
	srv := testenv.Emulator(t)
	ctx := context.Background()
	sc, err := seed.Full(ctx, srv, "ct", "trail")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "plugins.conf"), "[PLUGINS]\n    path "+testenv.Plugin(t)+"\n")
	write(t, filepath.Join(dir, "fluent-bit.conf"), fmt.Sprintf(`[SERVICE]
    flush        1
    grace        5
    log_level    debug
    plugins_file plugins.conf

[INPUT]
    name         cloudtrail
    tag          aws.cloudtrail
    queue_url    %s
    wait_time    1s
    delete_delay 1s

[OUTPUT]
    name   file
    match  aws.cloudtrail
    path   %s
    file   out.jsonl
    format plain
`, sc.QueueURL, dir))
	fb := startOn(t, bin, srv, dir, "-c", "fluent-bit.conf")
	out := filepath.Join(dir, "out.jsonl")
	testenv.WaitFor(t, 2*time.Minute, "every eventID in out_file", func() bool { return sc.AllArrived(eventIDs(t, out)) })
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := srv.WaitEmpty(wctx, sc.QueueURL); err != nil {
		t.Fatal(err)
	}
	took := fb.stop()
	t.Logf("fluent-bit exited %s after SIGTERM", took.Round(time.Millisecond))
	for _, r := range records(t, out) {
		src, _ := r[record.SourceKey].(map[string]any)
		if k, _ := src["key"].(string); strings.Contains(k, "CloudTrail-Digest") || r["digestStartTime"] != nil {
			t.Fatalf("digest content emitted: %v", r)
		}
	}
	log := fb.log.String()
	checkStartLines(t, bin, log, 1)
	t.Logf("%d records, %d messages", sc.Events(), sc.Messages)
}

// TestYAMLTwoInstances runs two cloudtrail inputs on two queues from a YAML
// config with a YAML plugins file, on every Fluent Bit version.
func TestYAMLTwoInstances(t *testing.T) {
	testenv.ForEachFluentBit(t, testYAMLTwoInstances)
}

func testYAMLTwoInstances(t *testing.T, bin testenv.FluentBitBinary) {
	srv := testenv.Emulator(t)
	ctx := context.Background()
	files, err := seed.Corpus(filepath.Join(emu.Root(), "test", "testdata", "cloudtrail", "stratus-red-team"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	queues := map[string]string{}
	want := map[string]map[string]bool{}
	for i, name := range []string{"a", "b"} {
		q, _ := srv.CreateQueue(ctx, "q-"+name, nil)
		srv.CreateBucket(ctx, "bucket-"+name, "q-"+name)
		queues[name] = q
		want[name] = map[string]bool{}
		for j := i; j < len(files); j += 2 {
			srv.Put(ctx, "bucket-"+name, seed.Key("111122223333", "us-east-1", j), seed.Gzip(files[j].JSON))
			for _, id := range files[j].EventIDs {
				want[name][id] = true
			}
		}
	}
	write(t, filepath.Join(dir, "plugins.yaml"), "plugins:\n  - "+testenv.Plugin(t)+"\n")
	write(t, filepath.Join(dir, "fluent-bit.yaml"), fmt.Sprintf(`service:
  flush: 1
  grace: 5
  log_level: info
  plugins_file: plugins.yaml
pipeline:
  inputs:
    - name: cloudtrail
      tag: ct.a
      queue_url: %s
      wait_time: 1s
      workers: 1
    - name: cloudtrail
      tag: ct.b
      queue_url: %s
      wait_time: 2s
      workers: 2
  outputs:
    - name: file
      match: ct.a
      path: %s
      file: a.jsonl
      format: plain
    - name: file
      match: ct.b
      path: %s
      file: b.jsonl
      format: plain
`, queues["a"], queues["b"], dir, dir))
	fb := startOn(t, bin, srv, dir, "-c", "fluent-bit.yaml")
	testenv.WaitFor(t, time.Minute, "both queues drained", func() bool {
		v1, f1, _ := srv.Depth(ctx, queues["a"])
		v2, f2, _ := srv.Depth(ctx, queues["b"])
		return v1+f1+v2+f2 == 0
	})
	fb.stop()
	checkStartLines(t, bin, fb.log.String(), 2)
	for _, name := range []string{"a", "b"} {
		got := map[string]bool{}
		for _, r := range records(t, filepath.Join(dir, name+".jsonl")) {
			src, _ := r[record.SourceKey].(map[string]any)
			if src["queue_url"] != queues[name] {
				t.Fatalf("output %s holds a record from %v", name, src["queue_url"])
			}
			got[r["eventID"].(string)] = true
		}
		for id := range want[name] {
			if !got[id] {
				t.Errorf("instance %s: eventID %s missing", name, id)
			}
		}
	}
}

// TestBadConfigExitsNonZero checks that a bad value makes fluent-bit exit
// with one line naming the key and value, on every Fluent Bit version.
func TestBadConfigExitsNonZero(t *testing.T) {
	testenv.ForEachFluentBit(t, func(t *testing.T, bin testenv.FluentBitBinary) {
		refused(t, bin, testenv.Emulator(t), `visibility_timeout "5 minutes"`, "-p", "queue_url="+anyQueue, "-p", "visibility_timeout=5 minutes")
	})
}

// anyQueue is a queue URL for tests that never reach the queue.
const anyQueue = "https://sqs.us-east-1.amazonaws.com/123456789012/q"

// refused starts fluent-bit with the plugin and the -p properties and
// requires it to refuse the input with a line holding want: Fluent Bit
// exits non-zero (3.2 runs on without the input).
func refused(t *testing.T, bin testenv.FluentBitBinary, srv *emu.Server, want string, props ...string) {
	t.Helper()
	args := append([]string{"-e", testenv.Plugin(t), "-i", "cloudtrail"}, props...)
	fb := startOn(t, bin, srv, t.TempDir(), append(args, "-o", "null")...)
	if !bin.InitFailureStops() {
		// The input is refused and Fluent Bit runs on without it (and
		// 3.2.10 then dies of SIGSEGV at its own shutdown, after its
		// outputs stopped): the test ends it with SIGKILL.
		testenv.WaitFor(t, 20*time.Second, "the refusal in the log", func() bool {
			return strings.Contains(fb.log.String(), want) && strings.Contains(fb.log.String(), "could not initialize threaded plugin instance")
		})
		return
	}
	select {
	case <-fb.done:
	case <-time.After(20 * time.Second):
		t.Fatal("fluent-bit kept running with a bad configuration")
	}
	if fb.cmd.ProcessState.ExitCode() == 0 {
		t.Fatal("fluent-bit exited 0 with a bad configuration")
	}
	if !strings.Contains(fb.log.String(), want) {
		t.Fatalf("no error line holding %s:\n%s", want, fb.log.String())
	}
}

// checkStartLines checks the start lines of n instances: each says the
// acknowledgement mode this Fluent Bit allows, and on a Fluent Bit without
// the *Ctx callbacks, that instances are told apart by thread.
func checkStartLines(t *testing.T, bin testenv.FluentBitBinary, log string, n int) {
	t.Helper()
	starts := regexp.MustCompile(`\[input:cloudtrail:cloudtrail\.\d+\] started: [^\n]*`).FindAllString(log, -1)
	if len(starts) != n {
		t.Fatalf("%d start lines in Fluent Bit's log format, want %d", len(starts), n)
	}
	for _, l := range starts {
		if !strings.Contains(l, "; "+bin.AckMode()) {
			t.Errorf("on %s the start line should say %s: %s", bin.Name(), bin.AckMode(), l)
		}
		if byThread := strings.Contains(l, "instances told apart by thread"); byThread == bin.CtxCallbacks() {
			t.Errorf("on %s (*Ctx callbacks: %v) the start line says otherwise: %s", bin.Name(), bin.CtxCallbacks(), l)
		}
		if strings.Contains(l, "unknown keys not checked") {
			t.Errorf("on %s the property list was not recognised: %s", bin.Name(), l)
		}
		if want := mallocNote(); !strings.Contains(l, want) {
			t.Errorf("on %s the start line should say %q: %s", bin.Name(), want, l)
		}
	}
}

// mallocNote is what the start line says about glibc's malloc with the
// default malloc_tuning on: tuned, unless this environment tunes it.
func mallocNote() string {
	if strings.Contains(os.Getenv("GLIBC_TUNABLES"), "glibc.malloc.") {
		return "; malloc left as GLIBC_TUNABLES sets it"
	}
	return "; malloc tuned for Fluent Bit's chunk copies (mmap threshold 32M, trim threshold 64M"
}

// TestMallocTuningLeavesOperatorsChoice: the plugin tunes glibc's malloc for
// the whole process only when nobody else did: GLIBC_TUNABLES set by the
// operator wins, and malloc_tuning off leaves glibc's defaults.
func TestMallocTuningLeavesOperatorsChoice(t *testing.T) {
	bin := testenv.Newest(t)
	srv := testenv.Emulator(t)
	q, err := srv.CreateQueue(context.Background(), "ct", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, env, key, want, not string
	}{
		{"operator's GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1048576", "on", "; malloc left as GLIBC_TUNABLES sets it", "malloc tuned"},
		{"malloc_tuning off", "", "off", "malloc_tuning=off", "malloc "},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("GLIBC_TUNABLES", c.env)
			fb := startOn(t, bin, srv, t.TempDir(), "-e", testenv.Plugin(t), "-i", "cloudtrail", "-p", "queue_url="+q,
				"-p", "wait_time=1s", "-p", "malloc_tuning="+c.key, "-o", "null", "-f", "1")
			start := regexp.MustCompile(`started: [^\n]*`)
			testenv.WaitFor(t, time.Minute, "the start line", func() bool { return start.MatchString(fb.log.String()) })
			fb.stop()
			l := start.FindString(fb.log.String())
			if !strings.Contains(l, c.want) {
				t.Errorf("the start line does not say %q: %s", c.want, l)
			}
			if strings.Contains(strings.ReplaceAll(l, "malloc_tuning=", ""), c.not) {
				t.Errorf("the start line says %q: %s", c.not, l)
			}
		})
	}
}
