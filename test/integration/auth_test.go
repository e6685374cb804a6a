package integration

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// TestAssumeRoleWithExternalID reads the queue with credentials from STS
// AssumeRole (the emulator's STS issues real-looking session credentials),
// and checks that no secret reaches the log.
func TestAssumeRoleWithExternalID(t *testing.T) {
	srv := testenv.Emulator(t)
	ctx := context.Background()
	q, _ := srv.CreateQueue(ctx, "ct", nil)
	srv.CreateBucket(ctx, "trail", "ct")
	files, _ := seed.Corpus(filepath.Join(emu.Root(), "test", "testdata", "cloudtrail", "stratus-red-team"))
	want := 0
	for i, f := range files[:4] {
		srv.Put(ctx, "trail", seed.Key("111122223333", "us-east-1", i), seed.Gzip(f.JSON))
		want += len(f.EventIDs)
	}
	env := []string{"AWS_REGION=" + emu.Region, "AWS_ACCESS_KEY_ID=AKIABASECREDENTIAL01", "AWS_SECRET_ACCESS_KEY=base-secret-never-logged",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL_STS=" + srv.URL}
	h := startHarness(t, env, "--input", "cloudtrail", "queue_url="+q, "endpoint_url="+srv.URL, "wait_time=1s",
		"delete_delay=0s", "role_arn=arn:aws:iam::000000000000:role/cloudtrail-reader", "external_id=ext-secret-42",
		"role_session_name=ct-test", "log_level=debug")
	testenv.WaitFor(t, 30*time.Second, "records read with the assumed role", func() bool { return len(h.records()) >= want })
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := srv.WaitEmpty(wctx, q); err != nil {
		t.Fatal(err)
	}
	h.stop(stopLimit)
	log := h.stderr.String()
	for _, secret := range []string{"base-secret-never-logged", "ext-secret-42"} {
		if strings.Contains(log, secret) {
			t.Errorf("secret %q appears in the log", secret)
		}
	}
	if !strings.Contains(log, "external_id=***") {
		t.Error("the start line does not show external_id masked")
	}
}

// TestAssumeRoleIsUsed shows the role really is assumed: with STS
// unreachable, nothing is read and the error says AssumeRole failed.
func TestAssumeRoleIsUsed(t *testing.T) {
	srv := testenv.Emulator(t)
	ctx := context.Background()
	q, _ := srv.CreateQueue(ctx, "ct", nil)
	srv.Send(ctx, q, `{"s3Bucket":"trail","s3ObjectKey":["x.json.gz"]}`)
	env := []string{"AWS_REGION=" + emu.Region, "AWS_ACCESS_KEY_ID=AKIABASECREDENTIAL01", "AWS_SECRET_ACCESS_KEY=base-secret-never-logged",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL=" + srv.URL, "AWS_ENDPOINT_URL_STS=http://" + testenv.FreeAddr(t)}
	// endpoint_url would apply to STS too; the SDK's per-service variables
	// send SQS and S3 to the emulator and STS nowhere.
	h := startHarness(t, env, "--input", "cloudtrail", "queue_url="+q, "wait_time=1s",
		"role_arn=arn:aws:iam::000000000000:role/cloudtrail-reader", "external_id=ext-secret-42")
	testenv.WaitFor(t, 30*time.Second, "an AssumeRole error", func() bool { return strings.Contains(h.stderr.String(), "AssumeRole") })
	h.stop(stopLimit)
	if v, _, _ := srv.Depth(ctx, q); v != 1 {
		t.Fatalf("the message was received without the role: %d visible", v)
	}
	if strings.Contains(h.stderr.String(), "base-secret-never-logged") || strings.Contains(h.stderr.String(), "ext-secret-42") {
		t.Error("a secret appears in the log")
	}
}
