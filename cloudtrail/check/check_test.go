package check_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/check"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
)

const secretExternalID = "ext-id-must-not-be-printed-7f3a"

// useEndpoint points the SDK's default chain at url with static credentials.
func useEndpoint(t *testing.T, url string) {
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": url, "AWS_REGION": emu.Region, "AWS_ACCESS_KEY_ID": "test",
		"AWS_SECRET_ACCESS_KEY": "secret-key-must-not-be-printed", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
	} {
		t.Setenv(k, v)
	}
}

func parse(t *testing.T, kv ...string) *config.Config {
	t.Helper()
	m := map[string]string{"s3_path_style": "on"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	cfg, err := config.Parse(func(k string) string { return m[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func runCheck(t *testing.T, cfg *config.Config, opts check.Options) ([]check.Result, string) {
	t.Helper()
	opts.Receive = true
	opts.Timeout = 10 * time.Second
	var res []check.Result
	var b strings.Builder
	check.Run(context.Background(), cfg, opts, func(r check.Result) {
		res = append(res, r)
		fmt.Fprintln(&b, r)
	})
	out := b.String()
	t.Logf("\n%s", out)
	for _, secret := range []string{secretExternalID, "secret-key-must-not-be-printed"} {
		if strings.Contains(out, secret) {
			t.Errorf("a secret was printed: %s", secret)
		}
	}
	return res, out
}

func find(res []check.Result, name string) (check.Result, bool) {
	for _, r := range res {
		if r.Check == name {
			return r, true
		}
	}
	return check.Result{}, false
}

func want(t *testing.T, res []check.Result, name string, st check.Status, substr ...string) {
	t.Helper()
	r, ok := find(res, name)
	if !ok {
		t.Errorf("no %s line", name)
		return
	}
	if r.Status != st {
		t.Errorf("%s: status %s, want %s: %s", name, r.Status, st, r.Detail)
	}
	for _, s := range substr {
		if !strings.Contains(r.Detail, s) {
			t.Errorf("%s: %q does not contain %q", name, r.Detail, s)
		}
	}
}

const queuePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"*"}]}`

// goodSetup is the documented setup: a queue with a queue policy and a
// dead-letter queue, a bucket that notifies it, and one CloudTrail object.
func goodSetup(t *testing.T, srv *emu.Server) (queueURL, key string) {
	ctx := context.Background()
	if _, err := srv.CreateQueue(ctx, "good-dlq", map[string]string{"MessageRetentionPeriod": "1209600"}); err != nil {
		t.Fatal(err)
	}
	q, err := srv.CreateQueue(ctx, "good", map[string]string{
		"MessageRetentionPeriod": "345600",
		"Policy":                 queuePolicy,
		"RedrivePolicy":          `{"deadLetterTargetArn":"` + emu.QueueARN("good-dlq") + `","maxReceiveCount":"5"}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateBucket(ctx, "trail", "good"); err != nil {
		t.Fatal(err)
	}
	key = seed.Key("111122223333", emu.Region, 1)
	if _, err := srv.S3().PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("trail"), Key: aws.String(key),
		Body:                 bytes.NewReader(seed.Gzip([]byte(`{"Records":[{"eventVersion":"1.08","eventID":"e1"}]}`))),
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("arn:aws:kms:us-east-1:000000000000:key/k1"),
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if v, _, _ := srv.Depth(ctx, q); v > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no notification arrived")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return q, key
}

func TestCorrectSetupAllOK(t *testing.T) {
	srv, err := emu.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	useEndpoint(t, srv.URL)
	q, key := goodSetup(t, srv)

	for _, role := range []bool{false, true} {
		kv := []string{"queue_url", q, "bucket_allowlist", "trail"}
		if role {
			kv = append(kv, "role_arn", "arn:aws:iam::000000000000:role/cloudtrail-reader", "external_id", secretExternalID)
		}
		res, out := runCheck(t, parse(t, kv...), check.Options{})
		for _, r := range res {
			if r.Status != check.OK {
				t.Errorf("role %v: not ok: %s", role, r)
			}
		}
		want(t, res, "credentials", check.OK, "environment")
		if role {
			want(t, res, "sts:AssumeRole", check.OK, "cloudtrail-reader", "with the external ID")
		} else if _, ok := find(res, "sts:AssumeRole"); ok {
			t.Error("AssumeRole checked without role_arn")
		}
		want(t, res, "sqs:GetQueueAttributes", check.OK, "retention 4d")
		want(t, res, "redrive policy", check.OK, "good-dlq", "5 receives")
		want(t, res, "dead-letter queue", check.OK, "empty")
		want(t, res, "sqs:ReceiveMessage", check.OK, "gave it back")
		want(t, res, "sqs:ChangeMessageVisibility", check.OK)
		want(t, res, "sqs:DeleteMessage", check.OK, "invalid receipt handle")
		want(t, res, "notification", check.OK, "s3://trail/"+key)
		want(t, res, "s3:GetObject", check.OK, "aws:kms")
		want(t, res, "kms:Decrypt", check.OK, "key/k1")
		if !strings.Contains(out, "principal arn:") {
			t.Error("the principal is not named")
		}
	}
	// Nothing was consumed: the notification is still there, visible.
	if n, err := srv.Visible(context.Background(), q); err != nil || n != 1 {
		t.Fatalf("after the checks the queue shows %d messages (%v), want the 1 it had", n, err)
	}
}

func TestMisconfigured(t *testing.T) {
	srv, err := emu.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	useEndpoint(t, srv.URL)
	ctx := context.Background()

	t.Run("missing queue", func(t *testing.T) {
		res, _ := runCheck(t, parse(t, "queue_url", srv.URL+"/000000000000/absent"), check.Options{})
		want(t, res, "sqs:GetQueueAttributes", check.Failed, "does not exist", "queue_url")
		if _, ok := find(res, "sqs:ReceiveMessage"); ok {
			t.Error("receive probed on a missing queue")
		}
	})

	bare, err := srv.CreateQueue(ctx, "bare", map[string]string{"MessageRetentionPeriod": "3600"})
	if err != nil {
		t.Fatal(err)
	}
	srv.CreateBucket(ctx, "present", "")
	t.Run("no DLQ, no policy, short retention, empty queue", func(t *testing.T) {
		res, _ := runCheck(t, parse(t, "queue_url", bare), check.Options{})
		want(t, res, "redrive policy", check.Warn, "dead-letter queue")
		want(t, res, "queue policy", check.Warn, "sqs:SendMessage")
		want(t, res, "queue retention", check.Warn, "1h")
		want(t, res, "sqs:ReceiveMessage", check.OK, "no message")
		want(t, res, "s3:GetObject", check.Warn, "-sample-key")
		for _, r := range res {
			if r.Status == check.Failed {
				t.Errorf("unexpected failure: %s", r)
			}
		}
	})
	t.Run("missing bucket", func(t *testing.T) {
		res, _ := runCheck(t, parse(t, "queue_url", bare), check.Options{SampleKey: "s3://no-such-bucket/AWSLogs/x.json.gz"})
		want(t, res, "s3:GetObject", check.Failed, "s3://no-such-bucket/AWSLogs/x.json.gz", "bucket does not exist")
	})
	t.Run("missing key", func(t *testing.T) {
		res, _ := runCheck(t, parse(t, "queue_url", bare), check.Options{SampleKey: "s3://present/AWSLogs/missing.json.gz"})
		want(t, res, "s3:GetObject", check.Failed, "object does not exist")
	})
	t.Run("bucket not allowed", func(t *testing.T) {
		srv.Put(ctx, "present", "AWSLogs/x.json.gz", seed.Gzip([]byte(`{"Records":[]}`)))
		res, _ := runCheck(t, parse(t, "queue_url", bare, "bucket_allowlist", "other"), check.Options{SampleKey: "s3://present/AWSLogs/x.json.gz"})
		want(t, res, "bucket_allowlist", check.Failed, "present")
		want(t, res, "s3:GetObject", check.OK)
	})
	t.Run("DLQ missing and full", func(t *testing.T) {
		q, _ := srv.CreateQueue(ctx, "redriven", map[string]string{
			"Policy":        queuePolicy,
			"RedrivePolicy": `{"deadLetterTargetArn":"` + emu.QueueARN("gone-dlq") + `","maxReceiveCount":"1"}`,
		})
		res, _ := runCheck(t, parse(t, "queue_url", q), check.Options{})
		want(t, res, "redrive policy", check.Warn, "too few")
		want(t, res, "dead-letter queue", check.Failed, "does not exist")

		dlq, _ := srv.CreateQueue(ctx, "full-dlq", map[string]string{"MessageRetentionPeriod": "60"})
		srv.Send(ctx, dlq, "x")
		q2, _ := srv.CreateQueue(ctx, "redriven2", map[string]string{
			"Policy":        queuePolicy,
			"RedrivePolicy": `{"deadLetterTargetArn":"` + emu.QueueARN("full-dlq") + `","maxReceiveCount":"5"}`,
		})
		res, out := runCheck(t, parse(t, "queue_url", q2), check.Options{})
		want(t, res, "dead-letter queue", check.Warn)
		if !strings.Contains(out, "1 message(s)") || !strings.Contains(out, "shorter than the queue's") {
			t.Error("the dead-letter queue's depth and short retention are not both reported")
		}
	})
}

// TestAccessDenied runs the checks against an endpoint that denies every
// call, as AWS does when a permission is missing: each FAILED line names the
// IAM action and the resource to grant.
func TestAccessDenied(t *testing.T) {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS."):
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.Header().Set("x-amzn-query-error", "AccessDenied;Sender")
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"__type":"com.amazon.coral.service#AccessDeniedException","message":"User is not authorized to perform: %s"}`,
				strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS."))
		case bytes.Contains(body, []byte("Action=GetCallerIdentity")):
			w.Header().Set("Content-Type", "text/xml")
			fmt.Fprint(w, `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/reader</Arn>`+
				`<UserId>X</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`)
		case bytes.Contains(body, []byte("Action=AssumeRole")):
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(403)
			fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform sts:AssumeRole</Message></Error></ErrorResponse>`)
		default: // S3
			w.WriteHeader(403)
			if r.Method != http.MethodHead {
				fmt.Fprint(w, `<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
			}
		}
	}))
	defer fake.Close()
	useEndpoint(t, fake.URL)
	q := "https://sqs.us-east-1.amazonaws.com/123456789012/cloudtrail"
	t.Setenv("AWS_ENDPOINT_URL_SQS", fake.URL)

	res, _ := runCheck(t, parse(t, "queue_url", q), check.Options{SampleKey: "s3://trail/AWSLogs/x.json.gz"})
	want(t, res, "credentials", check.OK, "arn:aws:iam::123456789012:user/reader")
	arn := "arn:aws:sqs:us-east-1:123456789012:cloudtrail"
	for _, action := range []string{"sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage"} {
		want(t, res, action, check.Failed, "access denied", "allow "+action+" on "+arn+" to arn:aws:iam::123456789012:user/reader")
	}
	want(t, res, "s3:GetObject", check.Failed, "allow s3:GetObject on arn:aws:s3:::trail/AWSLogs/x.json.gz")

	res, _ = runCheck(t, parse(t, "queue_url", q, "role_arn", "arn:aws:iam::123456789012:role/r", "external_id", secretExternalID), check.Options{})
	want(t, res, "sts:AssumeRole", check.Failed, "arn:aws:iam::123456789012:role/r", "sts:ExternalId", "trust policy")
	if len(res) != 2 {
		t.Errorf("checks went on after AssumeRole failed: %v", res)
	}
}

func TestSourceName(t *testing.T) {
	for src, want := range map[string]string{
		"EnvConfigCredentials":              "environment",
		"SharedConfigCredentials: /x/creds": "shared profile (/x/creds)",
		"WebIdentityCredentials":            "IRSA",
		"EC2RoleProvider":                   "EC2",
		"EndpointCredentialsProvider":       "ECS",
	} {
		if got := check.SourceName(src); !strings.Contains(got, want) {
			t.Errorf("SourceName(%q) = %q, want it to contain %q", src, got, want)
		}
	}
}
