package fault

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/faultproxy"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// exactlyOnce checks that every wanted eventID arrived, and arrived once
// unless its object is in dupOK.
func exactlyOnce(t *testing.T, w *seed.Workload, got map[string]int, dupOK map[string]bool) {
	t.Helper()
	if miss := w.Missing(got); len(miss) > 0 {
		t.Fatalf("%d eventIDs lost, e.g. %v", len(miss), miss[:min(5, len(miss))])
	}
	dups := 0
	for id, n := range got {
		if w.Want[id] == 0 {
			t.Errorf("unexpected eventID %q", id)
			continue
		}
		if n > 1 {
			dups++
			if !dupOK[w.Key[id]] {
				t.Errorf("eventID %s arrived %d times though its object %s was never faulted", id, n, w.Key[id])
			}
		}
	}
	t.Logf("%d eventIDs, %d duplicated", len(w.Want), dups)
}

// faultedKeys lists the S3 keys of GetObject requests the proxy faulted.
func faultedKeys(px *faultproxy.Proxy) map[string]bool {
	out := map[string]bool{}
	for _, r := range px.Requests() {
		if r.Op == "s3:GetObject" && r.Fault != "" {
			out[r.Key] = true
		}
	}
	return out
}

func TestS3ServerErrorsLoseNothing(t *testing.T) {
	t.Parallel()
	e := setup(t, 50)
	ctx := context.Background()
	e.px.Add(
		&faultproxy.Rule{Name: "500", Op: "s3:GetObject", Times: 12, Fault: faultproxy.Fault{Status: 500, Code: "InternalError"}},
		&faultproxy.Rule{Name: "503", Op: "s3:GetObject", Prob: 0.3, Times: 40, Fault: faultproxy.Fault{Status: 503, Code: "SlowDown", Message: "Please reduce your request rate."}},
	)
	w, err := seed.PutSynthetic(ctx, e.srv, e.bucket, "s3err", 20, 200)
	if err != nil {
		t.Fatal(err)
	}
	r := e.start()
	got := e.waitAll(r, w.Want, 90*time.Second)
	r.stop()
	// An error answer carries no body: no record of a faulted attempt was
	// handed over, so nothing may arrive twice.
	exactlyOnce(t, w, got, nil)
	if e.px.Fired("500") < 12 || e.px.Fired("503") == 0 {
		t.Fatalf("faults not injected: 500×%d 503×%d", e.px.Fired("500"), e.px.Fired("503"))
	}
	if len(e.dlqBodies()) != 0 {
		t.Fatal("a message went to the DLQ on transient errors")
	}
	noSecrets(t, r.stderr.String())
}

func TestConnectionResetMidBody(t *testing.T) {
	t.Parallel()
	e := setup(t, 50)
	ctx := context.Background()
	e.px.Add(&faultproxy.Rule{Name: "reset", Op: "s3:GetObject", Times: 8, Fault: faultproxy.Fault{Reset: true, ResetAfter: 3000}})
	w, err := seed.PutSynthetic(ctx, e.srv, e.bucket, "reset", 12, 2000)
	if err != nil {
		t.Fatal(err)
	}
	r := e.start()
	got := e.waitAll(r, w.Want, 90*time.Second)
	r.stop()
	// Records decoded before the reset may have been handed over: only
	// those objects may show duplicates.
	exactlyOnce(t, w, got, faultedKeys(e.px))
	if e.px.Fired("reset") < 8 {
		t.Fatalf("only %d resets injected", e.px.Fired("reset"))
	}
	if len(r.lines("s3://trail/")) == 0 {
		t.Error("no error line names the object whose download was reset")
	}
	noSecrets(t, r.stderr.String())
}

func TestSlowBodyOutlivesVisibilityTimeout(t *testing.T) {
	t.Parallel()
	e := setup(t, 50)
	ctx := context.Background()
	// Each of the first objects takes 7 s to download, more than twice the
	// 3 s visibility timeout: the heartbeat must keep the messages.
	e.px.Add(&faultproxy.Rule{Name: "slow", Op: "s3:GetObject", Times: 3, Fault: faultproxy.Fault{SlowBody: 7 * time.Second}})
	w, err := seed.PutSynthetic(ctx, e.srv, e.bucket, "slow", 6, 500)
	if err != nil {
		t.Fatal(err)
	}
	r := e.start("visibility_timeout=3s")
	got := e.waitAll(r, w.Want, 90*time.Second)
	r.stop()
	exactlyOnce(t, w, got, nil)
	for id, n := range e.px.Delivered() {
		if n != 1 {
			t.Errorf("message %s was delivered %d times: its visibility ran out while it was being read", id, n)
		}
	}
	if e.px.Fired("slow") != 3 {
		t.Fatalf("%d slow bodies", e.px.Fired("slow"))
	}
	if e.px.Count("sqs:ChangeMessageVisibility") < 3 {
		t.Errorf("only %d visibility extensions", e.px.Count("sqs:ChangeMessageVisibility"))
	}
}

func TestReceiveErrorsBackOffAndLogOnce(t *testing.T) {
	t.Parallel()
	e := setup(t, 50)
	ctx := context.Background()
	e.px.Add(&faultproxy.Rule{Name: "recv", Op: "sqs:ReceiveMessage", Times: 15, Fault: faultproxy.Fault{Status: 500, Code: "InternalError", Message: "We encountered an internal error. Please try again."}})
	w, err := seed.PutSynthetic(ctx, e.srv, e.bucket, "recv", 5, 100)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := e.start()
	got := e.waitAll(r, w.Want, 120*time.Second)
	r.stop()
	exactlyOnce(t, w, got, nil)
	lines := r.lines("receive failed")
	if len(lines) == 0 || len(lines) > 3 {
		t.Errorf("%d 'receive failed' lines for %d failed receives; want the burst grouped:\n%s", len(lines), e.px.Fired("recv"), strings.Join(lines, "\n"))
	}
	if len(r.lines("repeated")) == 0 {
		t.Error("no line gives the count of the repeated error")
	}
	// Backoff with jitter: the failures are spread out, not a tight loop.
	var times []time.Time
	for _, q := range e.px.Requests() {
		if q.Op == "sqs:ReceiveMessage" && q.Fault != "" {
			times = append(times, q.Time)
		}
	}
	// The SDK retries each receive a few times within milliseconds; the
	// pauses between those bursts are the collector's backoff and must grow.
	var pauses []time.Duration
	for i := 1; i < len(times); i++ {
		if g := times[i].Sub(times[i-1]); g > 200*time.Millisecond {
			pauses = append(pauses, g)
		}
	}
	t.Logf("backoff pauses: %v", pauses)
	if len(pauses) < 4 || pauses[len(pauses)-1] < 3*pauses[0] {
		t.Errorf("the pauses between failed receives do not grow: %v", pauses)
	}
	t.Logf("%d failed receives over %s; drained %s after start", len(times), times[len(times)-1].Sub(times[0]).Round(time.Millisecond), time.Since(start).Round(time.Second))
}

func TestDeleteFailuresDuplicateButLoseNothing(t *testing.T) {
	t.Parallel()
	e := setup(t, 50)
	ctx := context.Background()
	e.px.Add(
		&faultproxy.Rule{Name: "del500", Op: "sqs:DeleteMessageBatch", Times: 6, Fault: faultproxy.Fault{Status: 500, Code: "InternalError"}},
		&faultproxy.Rule{Name: "delentries", Op: "sqs:DeleteMessageBatch", Times: 3, Fault: faultproxy.Fault{FailEntries: true}},
	)
	w, err := seed.PutSynthetic(ctx, e.srv, e.bucket, "del", 10, 100)
	if err != nil {
		t.Fatal(err)
	}
	r := e.start("visibility_timeout=2s")
	e.waitAll(r, w.Want, 90*time.Second)
	time.Sleep(time.Second)
	r.stop()
	got := r.counts()
	if miss := w.Missing(got); len(miss) > 0 {
		t.Fatalf("%d eventIDs lost", len(miss))
	}
	dups := 0
	for _, n := range got {
		if n > 1 {
			dups++
		}
	}
	if e.px.Fired("del500") == 0 || e.px.Fired("delentries") == 0 {
		t.Fatal("delete faults not injected")
	}
	if len(r.lines("delete failed")) == 0 && len(r.lines("could not delete")) == 0 {
		t.Error("no line reports the failed deletes")
	}
	t.Logf("%d eventIDs, %d duplicated after failed deletes", len(w.Want), dups)
}

func TestAssumeRoleFailuresAndExpiringCredentials(t *testing.T) {
	t.Parallel()
	e := setup(t, 50)
	ctx := context.Background()
	// AssumeRole is refused for a while, and the credentials it gives
	// expire 4 s after they are issued; the proxy then refuses them as AWS
	// would.
	e.px.Add(&faultproxy.Rule{Name: "sts", Op: "sts:AssumeRole", Times: 4, Fault: faultproxy.Fault{Status: 403, Code: "AccessDenied", Message: "User is not authorized to perform: sts:AssumeRole"}})
	e.px.ShortenCredentials(4 * time.Second)
	w, err := seed.PutSynthetic(ctx, e.srv, e.bucket, "sts", 8, 200)
	if err != nil {
		t.Fatal(err)
	}
	const extID = "faultSuiteExternalId-5f3c9a"
	r := e.start("role_arn=arn:aws:iam::000000000000:role/cloudtrail-reader", "external_id="+extID)
	// More objects arrive after the first credentials expired: 4 refused
	// AssumeRole calls, the first credentials, then their renewal (the plugin
	// long-polls SQS meanwhile, so it needs them).
	testenv.WaitFor(t, 60*time.Second, "the first assumed credentials renewed", func() bool {
		r.alive()
		return e.px.Count("sts:AssumeRole") >= 6
	})
	if err := w.Add(ctx, e.srv, e.bucket, "sts-late", 4, 200); err != nil {
		t.Fatal(err)
	}
	got := e.waitAll(r, w.Want, 120*time.Second)
	r.stop()
	exactlyOnce(t, w, got, nil)
	if n := e.px.Count("sts:AssumeRole"); n < 6 {
		t.Errorf("AssumeRole called %d times: the short-lived credentials were not refreshed", n)
	}
	if n := e.px.ExpiredUses(); n > 0 {
		t.Errorf("%d requests were signed with expired credentials", n)
	}
	if len(r.lines("AccessDenied")) == 0 {
		t.Error("the refused AssumeRole is not reported")
	}
	log := r.stderr.String()
	if strings.Contains(log, extID) {
		t.Error("the external ID appears in the log")
	}
	secrets := e.px.Secrets()
	if len(secrets) == 0 {
		t.Fatal("the proxy saw no STS secret")
	}
	noSecrets(t, log, secrets...)
	for _, q := range e.px.Requests() {
		if strings.HasPrefix(q.Op, "sqs:") && q.AccessKey == baseKeyID {
			t.Fatalf("SQS was called with the base credentials, not the role's")
		}
	}
}
