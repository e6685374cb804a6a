// Package fault is the fault suite: the built plugin runs in the C host
// harness (which loads it as Fluent Bit v5.1.1 does) against the AWS
// emulator through test/faultproxy, which injects faults; every eventID is
// counted, and every log line the plugin printed is checked for secrets.
package fault

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/faultproxy"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// Distinctive base credentials, so that a log line carrying them is found.
const (
	baseKeyID  = "AKIAFAULTSUITEBASE01"
	baseSecret = "faultSuiteBaseSecretKey0123456789abcdefXYZ"
	baseToken  = "faultSuiteBaseSessionToken0123456789abcdefXYZ"
)

// env is an emulator, a fault proxy in front of it, a queue with a
// dead-letter queue, and a bucket that notifies the queue.
type env struct {
	t      *testing.T
	srv    *emu.Server
	px     *faultproxy.Proxy
	queue  string
	dlq    string
	bucket string
}

// setup creates the environment; maxReceives is the queue's redrive
// maxReceiveCount.
func setup(t *testing.T, maxReceives int) *env {
	t.Helper()
	srv := testenv.Emulator(t)
	px, err := faultproxy.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.Close)
	return setupWith(t, srv, px, maxReceives)
}

func setupWith(t *testing.T, srv *emu.Server, px *faultproxy.Proxy, maxReceives int) *env {
	ctx := context.Background()
	dlq, err := srv.CreateQueue(ctx, "ct-dlq", nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := srv.CreateQueue(ctx, "ct", map[string]string{
		"VisibilityTimeout": "5",
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`, emu.QueueARN("ct-dlq"), maxReceives),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateBucket(ctx, "trail", "ct"); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, srv: srv, px: px, queue: q, dlq: dlq, bucket: "trail"}
}

// run is one harness process.
type run struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    string
	stderr *testenv.SyncBuffer
	done   chan struct{}
}

// start runs the plugin in the harness against the proxy. kv are extra
// instance properties (key=value), overriding the defaults.
func (e *env) start(kv ...string) *run {
	e.t.Helper()
	props := map[string]string{
		"queue_url":          e.queue,
		"endpoint_url":       e.px.URL,
		"wait_time":          "1s",
		"delete_delay":       "0s",
		"visibility_timeout": "3s",
		"log_level":          "debug",
	}
	order := []string{"queue_url", "endpoint_url", "wait_time", "delete_delay", "visibility_timeout", "log_level"}
	for _, p := range kv {
		k, v, _ := strings.Cut(p, "=")
		if _, ok := props[k]; !ok {
			order = append(order, k)
		}
		props[k] = v
	}
	args := []string{"--input", "cloudtrail"}
	for _, k := range order {
		args = append(args, k+"="+props[k])
	}
	return startHarness(e.t, []string{"AWS_REGION=" + emu.Region, "AWS_ACCESS_KEY_ID=" + baseKeyID,
		"AWS_SECRET_ACCESS_KEY=" + baseSecret, "AWS_SESSION_TOKEN=" + baseToken, "AWS_EC2_METADATA_DISABLED=true"}, args...)
}

func startHarness(t *testing.T, env []string, args ...string) *run {
	t.Helper()
	r := &run{t: t, out: filepath.Join(t.TempDir(), "out.jsonl"), stderr: &testenv.SyncBuffer{}, done: make(chan struct{})}
	full := append([]string{"--out", r.out, testenv.Plugin(t)}, args...)
	r.cmd = exec.Command(testenv.Harness(t), full...)
	// The tests choose the CA bundle themselves (see TestTLS...).
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_CA_BUNDLE=") {
			base = append(base, kv)
		}
	}
	r.cmd.Env = append(base, env...)
	r.cmd.Stderr = r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.cmd.Process.Kill()
			<-r.done
		}
		if t.Failed() {
			log := r.stderr.String()
			if len(log) > 200000 {
				log = log[:100000] + "\n...\n" + log[len(log)-100000:]
			}
			t.Logf("harness stderr:\n%s", log)
		}
	})
	return r
}

// exited reports whether the harness process has exited.
func (r *run) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// counts returns how many records carry each eventID.
func (r *run) counts() map[string]int {
	r.t.Helper()
	type line struct {
		Record map[string]any `json:"record"`
	}
	got := map[string]int{}
	// r.exited() is evaluated before the file is read.
	for _, l := range testenv.ReadHarnessOutput[line](r.t, r.out, r.exited()) {
		id, _ := l.Record["eventID"].(string)
		got[id]++
	}
	return got
}

// stop sends SIGTERM and requires a clean exit. The limit only catches a
// hang: it leaves room for a machine starved of CPU.
func (r *run) stop() {
	r.t.Helper()
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(60 * time.Second):
		r.t.Fatal("harness did not exit within 60 s of SIGTERM")
	}
	if code := r.cmd.ProcessState.ExitCode(); code != 0 {
		r.t.Fatalf("harness exit code %d (a crash, or a malformed record handed over)", code)
	}
}

// alive fails the test when the harness has exited.
func (r *run) alive() {
	r.t.Helper()
	select {
	case <-r.done:
		r.t.Fatalf("the harness (the plugin's host process) exited: %v", r.cmd.ProcessState)
	default:
	}
}

func (r *run) lines(sub string) []string {
	var out []string
	for _, l := range strings.Split(r.stderr.String(), "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

// waitAll waits until every wanted eventID arrived and the queue is empty.
func (e *env) waitAll(r *run, want map[string]int, limit time.Duration) map[string]int {
	e.t.Helper()
	ctx := context.Background()
	var got map[string]int
	testenv.WaitFor(e.t, limit, "every eventID and an empty queue", func() bool {
		r.alive()
		got = r.counts()
		for id := range want {
			if got[id] == 0 {
				return false
			}
		}
		v, f, err := e.srv.Depth(ctx, e.queue)
		return err == nil && v == 0 && f == 0
	})
	return got
}

// dlqBodies returns the body of every message in the DLQ, each message
// once. It reads with a short visibility timeout until it has seen as many
// distinct messages as the DLQ held when it started. Reading once with a
// long timeout until a receive came back empty missed messages under load:
// with two busy loops, 10 and then 6 of 16 that the DLQ did hold (most
// likely a receive the SDK retried after the emulator had already hidden the
// first attempt's messages); a short timeout lets such messages come back.
func (e *env) dlqBodies() []string {
	ctx := context.Background()
	c := e.srv.SQS()
	visible, inflight, err := e.srv.Depth(ctx, e.dlq)
	if err != nil {
		e.t.Fatal(err)
	}
	total := visible + inflight
	e.t.Logf("DLQ: %d messages visible, %d in flight", visible, inflight)
	seen := map[string]bool{}
	var out []string
	for deadline := time.Now().Add(time.Minute); len(seen) < total; {
		if time.Now().After(deadline) {
			e.t.Fatalf("read %d of the %d messages in the DLQ within a minute", len(seen), total)
		}
		res, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.dlq), MaxNumberOfMessages: 10, VisibilityTimeout: 2, WaitTimeSeconds: 1})
		if err != nil {
			e.t.Fatal(err)
		}
		for _, m := range res.Messages {
			if id := aws.ToString(m.MessageId); !seen[id] {
				seen[id] = true
				out = append(out, aws.ToString(m.Body))
			}
		}
	}
	return out
}

// signedRE finds what a signed request carries in a log line.
var signedRE = regexp.MustCompile(`(?i)AWS4-HMAC-SHA256|Signature=[0-9a-f]{16}|X-Amz-Security-Token|Authorization:|SignedHeaders=`)

// noSecrets fails the test if the plugin's log holds a credential, a
// session token, the external ID or a signed header.
func noSecrets(t *testing.T, log string, extra ...string) {
	t.Helper()
	for _, s := range append([]string{baseSecret, baseToken}, extra...) {
		if s != "" && strings.Contains(log, s) {
			t.Errorf("a secret (%.6s...) appears in the plugin's log", s)
		}
	}
	if m := signedRE.FindString(log); m != "" {
		t.Errorf("signed request material %q appears in the plugin's log", m)
	}
}
