// Package e2e runs the plugin inside a real fluent-bit (from $FLUENT_BIT or
// PATH) against the AWS emulator. Without a fluent-bit the tests are skipped
// and say so.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", filepath.Base(cmd.Path), p.log.String())
		}
	})
	return p
}

type fluentBit struct{ *process }

func start(t *testing.T, srv *emu.Server, dir string, args ...string) *fluentBit {
	t.Helper()
	cmd := exec.Command(testenv.FluentBit(t), args...)
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
// file and every notification shape into out_file, and checks every eventID.
func TestClassicConfigDrainsSeededQueue(t *testing.T) {
	testenv.FluentBit(t)
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
	testenv.WaitFor(t, 2*time.Minute, "every eventID in out_file", func() bool {
		got := count()
		for id, n := range sc.Want {
			if got[id] < n {
				return false
			}
		}
		return true
	})
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
	if strings.Contains(log, "remote context not available") {
		t.Error("the remote_context mirror did not match this Fluent Bit's struct layout")
	}
	if !strings.Contains(log, "[input:cloudtrail:cloudtrail.0] started") {
		t.Error("no start line in Fluent Bit's log format")
	}
	if !strings.Contains(log, "; ack=counters") {
		t.Error("the start line does not say ack=counters: this Fluent Bit's counters were not found")
	}
	t.Logf("%d records, %d messages", sc.Events(), sc.Messages)
}

// TestYAMLTwoInstances runs two cloudtrail inputs on two queues from a YAML
// config with a YAML plugins file.
func TestYAMLTwoInstances(t *testing.T) {
	testenv.FluentBit(t)
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
	fb := start(t, srv, dir, "-c", "fluent-bit.yaml")
	testenv.WaitFor(t, time.Minute, "both queues drained", func() bool {
		v1, f1, _ := srv.Depth(ctx, queues["a"])
		v2, f2, _ := srv.Depth(ctx, queues["b"])
		return v1+f1+v2+f2 == 0
	})
	fb.stop()
	if n := strings.Count(fb.log.String(), "; ack=counters"); n != 2 {
		t.Errorf("%d of 2 instances acknowledge by Fluent Bit's counters", n)
	}
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

// TestBadConfigExitsNonZero checks that a bad key makes fluent-bit exit with
// one line naming the key and value.
func TestBadConfigExitsNonZero(t *testing.T) {
	testenv.FluentBit(t)
	srv := testenv.Emulator(t)
	fb := start(t, srv, t.TempDir(), "-e", testenv.Plugin(t), "-i", "cloudtrail",
		"-p", "queue_url=https://sqs.us-east-1.amazonaws.com/123456789012/q", "-p", "visibility_timeout=5 minutes", "-o", "null")
	select {
	case <-fb.done:
	case <-time.After(20 * time.Second):
		t.Fatal("fluent-bit kept running with a bad configuration")
	}
	if fb.cmd.ProcessState.ExitCode() == 0 {
		t.Fatal("fluent-bit exited 0 with a bad configuration")
	}
	if !strings.Contains(fb.log.String(), `visibility_timeout "5 minutes"`) {
		t.Fatalf("no error line naming the key and value:\n%s", fb.log.String())
	}
}
