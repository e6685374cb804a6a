package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
)

func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	t.Logf("cloudtrail-check %s -> %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	return code, out.String(), errb.String()
}

func TestCommand(t *testing.T) {
	srv, err := emu.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, kv := range append(srv.Env(), "AWS_PROFILE=", "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent") {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	ctx := context.Background()
	srv.CreateQueue(ctx, "dlq", map[string]string{"MessageRetentionPeriod": "1209600"})
	q, err := srv.CreateQueue(ctx, "ct", map[string]string{
		"Policy":        `{"Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"*"}]}`,
		"RedrivePolicy": `{"deadLetterTargetArn":"` + emu.QueueARN("dlq") + `","maxReceiveCount":"5"}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.CreateBucket(ctx, "trail", "")
	key := seed.Key("111122223333", emu.Region, 0)
	srv.Put(ctx, "trail", key, seed.Gzip([]byte(`{"Records":[]}`)))
	t.Setenv("CHECK_QUEUE_URL", q)
	t.Setenv("CHECK_EXTERNAL_ID", "do-not-print-this-external-id")

	dir := t.TempDir()
	conf := filepath.Join(dir, "fluent-bit.conf")
	os.WriteFile(conf, []byte(`[SERVICE]
    flush 1
[INPUT]
    name        cloudtrail
    alias       audit
    queue_url   ${CHECK_QUEUE_URL}
    s3_path_style on
    role_arn    arn:aws:iam::000000000000:role/reader
    external_id ${CHECK_EXTERNAL_ID}
    storage.type filesystem
[INPUT]
    name        cloudtrail
    queue_url   ${CHECK_QUEUE_URL}-missing
    wokers      2
[OUTPUT]
    name  stdout
    match *
`), 0o644)
	yml := filepath.Join(dir, "fluent-bit.yaml")
	os.WriteFile(yml, []byte(`pipeline:
  inputs:
    - name: cloudtrail
      queue_url: ${CHECK_QUEUE_URL}
      s3_path_style: on
`), 0o644)

	t.Run("correct setup", func(t *testing.T) {
		code, out, _ := runMain(t, "-c", conf, "-input", "audit", "-sample-key", "s3://trail/"+key)
		if code != 0 || !strings.Contains(out, "all checks passed") || strings.Contains(out, "warn") {
			t.Errorf("exit %d, want 0 and every line ok", code)
		}
		for _, s := range []string{"cloudtrail.0 at " + conf + ":3", "sts:AssumeRole", "sqs:DeleteMessage", "s3:GetObject"} {
			if !strings.Contains(out, s) {
				t.Errorf("output lacks %q", s)
			}
		}
		if strings.Contains(out, "do-not-print-this-external-id") {
			t.Error("the external ID was printed")
		}
	})
	t.Run("yaml and flags", func(t *testing.T) {
		code, out, _ := runMain(t, "-c", yml, "-p", "bucket_allowlist=other", "-sample-key", "s3://trail/"+key)
		if code != 1 || !strings.Contains(out, "FAILED bucket_allowlist") {
			t.Errorf("exit %d, want 1 with a bucket_allowlist failure", code)
		}
		code, _, _ = runMain(t, "-p", "queue_url="+q, "-p", "s3_path_style=on", "-sample-key", "s3://trail/"+key)
		if code != 0 {
			t.Errorf("flags only: exit %d", code)
		}
	})
	t.Run("misconfigured", func(t *testing.T) {
		code, out, _ := runMain(t, "-c", conf, "-input", "1")
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		for _, s := range []string{`FAILED config                      unknown key "wokers" (did you mean "workers"?)`, "FAILED sqs:GetQueueAttributes", "does not exist", "2 check(s) FAILED"} {
			if !strings.Contains(out, s) {
				t.Errorf("output lacks %q", s)
			}
		}
		code, out, _ = runMain(t, "-p", "queue_url="+q, "-p", "visibility_timeout=5 minutes")
		if code != 1 || !strings.Contains(out, `FAILED config`) || !strings.Contains(out, `visibility_timeout "5 minutes"`) {
			t.Errorf("bad value: exit %d", code)
		}
		code, out, _ = runMain(t, "-p", "queue_url="+q, "-p", "s3_path_style=on", "-sample-key", "s3://trail/AWSLogs/none.json.gz")
		if code != 1 || !strings.Contains(out, "FAILED s3:GetObject") {
			t.Errorf("missing key: exit %d", code)
		}
	})
	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{
			{},
			{"-c", conf},                         // two inputs, none chosen
			{"-c", conf, "-input", "nope"},       // no such alias
			{"-c", filepath.Join(dir, "absent")}, // no file
			{"-p", "novalue"},                    // not key=value
			{"-p", "queue_url=" + q, "extra"},    // stray argument
			{"-p", "queue_url=" + q, "-wait", "1m"},
		} {
			if code, _, _ := runMain(t, args...); code != 2 {
				t.Errorf("%v: exit %d, want 2", args, code)
			}
		}
	})
}
