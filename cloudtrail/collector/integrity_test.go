package collector_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/collector"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/decode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/integrity"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
)

// countingS3 counts GetObject per key.
type countingS3 struct {
	collector.S3API
	mu   sync.Mutex
	gets map[string]int
}

func (c *countingS3) GetObject(ctx context.Context, in *s3.GetObjectInput, o ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	c.mu.Lock()
	c.gets[aws.ToString(in.Key)]++
	c.mu.Unlock()
	return c.S3API.GetObject(ctx, in, o...)
}

func (c *countingS3) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gets[key]
}

// TestIntegrityFindings runs a chain of digests signed as CloudTrail signs
// them, over log files in the emulator, through the collector: log files
// are ingested first (and hashed on the way), then the digests arrive and
// each becomes one finding record, and its message is deleted once the
// record is handed over.
func TestIntegrityFindings(t *testing.T) {
	srv := startEmu(t)
	ctx := context.Background()
	const acct, region, bucket = "111122223333", "us-east-1", "trail"
	q, err := srv.CreateQueue(ctx, "ct", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateBucket(ctx, bucket, ""); err != nil {
		t.Fatal(err)
	}
	chain, err := seed.NewDigests(bucket, acct, region, "main")
	if err != nil {
		t.Fatal(err)
	}
	other, err := seed.NewDigests(bucket, acct, region, "other")
	if err != nil {
		t.Fatal(err)
	}
	file := func(name string) seed.LogFile {
		body, _ := seed.Synthetic(name, 4)
		return seed.LogFile{Key: fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/2024/01/01/%s_CloudTrail_%s_20240101T0000Z_%s.json.gz", acct, region, acct, region, name), JSON: body}
	}
	put := func(f seed.LogFile) {
		t.Helper()
		if err := srv.Put(ctx, bucket, f.Key, seed.Gzip(f.JSON)); err != nil {
			t.Fatal(err)
		}
	}
	// Before the bucket notifies: files the plugin never ingests. One is
	// then modified, one never exists (deleted).
	notIngested, modified, deleted := file("x-not-ingested"), file("x-modified"), file("x-deleted")
	put(notIngested)
	put(modified)
	put(seed.LogFile{Key: modified.Key, JSON: []byte(`{"Records":[]}`)})
	_, err = srv.S3().PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String(bucket),
		NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{
			QueueArn: aws.String(emu.QueueARN("ct")), Events: []s3types.Event{"s3:ObjectCreated:*"},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}

	pemFile := filepath.Join(t.TempDir(), "keys.pem")
	if err := os.WriteFile(pemFile, chain.PublicPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	props := map[string]string{"queue_url": q, "wait_time": "1s", "delete_delay": "0s", "visibility_timeout": "30s",
		"integrity": "on", "integrity_public_keys": pemFile, "bucket_allowlist": bucket}
	cfg, err := config.Parse(func(k string) string { return props[k] })
	if err != nil {
		t.Fatal(err)
	}
	s3c := &countingS3{S3API: srv.S3(), gets: map[string]int{}}
	log := &testLog{t: t}
	c, err := collector.New(collector.Options{Config: cfg, SQS: srv.SQS(), S3: s3c,
		NewEncoder: func() (record.Encoder, error) { return &transcode.Raw{}, nil }, Limits: decode.DefaultLimits(), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var sk sink
	go sk.run(sctx, c, 20*time.Millisecond, true)

	// Phase 1: the log files arrive and are ingested.
	a, b, cf, f := file("a"), file("b"), file("c"), file("f")
	for _, lf := range []seed.LogFile{a, b, cf, f} {
		put(lf)
	}
	waitFor(t, "16 events ingested", func() bool { return len(sk.ids()) >= 16 })

	// Phase 2: the digests. d2 is never delivered (deleted), d4 carries a
	// bad signature, e0 is signed with a key the plugin does not have.
	d0 := chain.Next([]seed.LogFile{a, b, notIngested})
	d1 := chain.Next([]seed.LogFile{cf, modified, deleted})
	d2 := chain.Next(nil)
	d3 := chain.Next([]seed.LogFile{f})
	d4 := chain.Next(nil)
	d4.Signature = strings.Repeat("00", 256)
	e0 := other.Next(nil)
	for _, d := range []seed.DigestObject{d0, d1, d3, d4, e0} {
		if err := seed.PutDigest(ctx, srv, bucket, d); err != nil {
			t.Fatal(err)
		}
	}
	findings := func() map[string]map[string]any {
		sk.mu.Lock()
		defer sk.mu.Unlock()
		out := map[string]map[string]any{}
		for _, e := range sk.entries {
			if ct, _ := e.Body[record.SourceKey].(map[string]any); ct["type"] == integrity.RecordType {
				out[ct["key"].(string)] = e.Body["integrity"].(map[string]any)
			}
		}
		return out
	}
	waitFor(t, "5 findings", func() bool { return len(findings()) == 5 })
	if err := srv.WaitEmpty(ctx, q); err != nil {
		t.Error(err)
	}
	got := findings()
	type want struct {
		result, signature, chain    string
		verified, missing, modified int64
	}
	for d, w := range map[string]want{
		d0.Key: {"valid", "valid", "start", 3, 0, 0},
		d1.Key: {"invalid", "valid", "ok", 1, 1, 1},
		d3.Key: {"invalid", "valid", "previous_missing", 1, 0, 0},
		d4.Key: {"invalid", "invalid", "ok", 0, 0, 0},
		e0.Key: {"invalid", "unknown_key", "start", 0, 0, 0},
	} {
		g := got[d]
		fs, _ := g["files"].(map[string]any)
		if g["result"] != w.result || g["signature"] != w.signature || g["chain"] != w.chain ||
			fs["verified"] != w.verified || fs["missing"] != w.missing || fs["modified"] != w.modified {
			t.Errorf("%s: got %v, want %+v", d[strings.LastIndex(d, "_")+1:], g, w)
		}
	}
	_ = d2
	// Ingested files were hashed on the way: read once, for ingestion.
	for _, lf := range []seed.LogFile{a, b, cf, f} {
		if n := s3c.count(lf.Key); n != 1 {
			t.Errorf("%s read %d times, want 1 (no second download)", lf.Key, n)
		}
	}
	if n := s3c.count(notIngested.Key); n != 1 {
		t.Errorf("a file not ingested read %d times, want 1 (for the check)", n)
	}
	if n := len(log.grep("integrity:")); n < 5 {
		t.Errorf("%d integrity warn lines, want one per problem (>= 5)", n)
	}
	if n := c.Stats.MessagesDeleted.Load(); n != c.Stats.MessagesReceived.Load() {
		t.Errorf("deleted %d of %d messages", n, c.Stats.MessagesReceived.Load())
	}
	st := c.Integrity().Stats.Digests.Snapshot()
	if st["valid"] != 1 || st["invalid"] != 4 {
		t.Errorf("digest metrics %v", st)
	}
}

// TestIntegrityOffSkipsDigests: with integrity off (the default) a digest
// is skipped before download, as before.
func TestIntegrityOffSkipsDigests(t *testing.T) {
	srv := startEmu(t)
	ctx := context.Background()
	q, _ := srv.CreateQueue(ctx, "ct", nil)
	srv.CreateBucket(ctx, "trail", "ct")
	chain, err := seed.NewDigests("trail", "111122223333", "us-east-1", "main")
	if err != nil {
		t.Fatal(err)
	}
	if err := seed.PutDigest(ctx, srv, "trail", chain.Next(nil)); err != nil {
		t.Fatal(err)
	}
	c, _ := newCollector(t, srv, q)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	// The emulator delivers the notification asynchronously: an empty
	// queue alone may come before it. Wait for the message to be settled.
	waitFor(t, "the digest's message deleted", func() bool { return c.Stats.MessagesDeleted.Load() == 1 })
	if c.Integrity() != nil || c.Stats.Objects.Load() != 0 || c.Stats.IgnoredBy.Snapshot()["digest file"] != 1 {
		t.Errorf("objects %d ignored %v", c.Stats.Objects.Load(), c.Stats.IgnoredBy.Snapshot())
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
