package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// TestIntegrityFindingReachesItsOutput runs integrity on in a real Fluent
// Bit with the rewrite_tag routing of conf/integrity.conf: a log file and a
// digest that lists it (signed as CloudTrail signs, with the test's key)
// arrive; the events reach the events output, the finding the findings
// output, and every message is deleted.
func TestIntegrityFindingReachesItsOutput(t *testing.T) {
	testenv.FluentBit(t)
	srv := testenv.Emulator(t)
	ctx := context.Background()
	q, err := srv.CreateQueue(ctx, "ct", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateBucket(ctx, "trail", "ct"); err != nil {
		t.Fatal(err)
	}
	chain, err := seed.NewDigests("trail", "111122223333", "us-east-1", "main")
	if err != nil {
		t.Fatal(err)
	}
	body, ids := seed.Synthetic("integrity", 10)
	lf := seed.LogFile{Key: seed.Key("111122223333", "us-east-1", 7), JSON: body}
	if err := srv.Put(ctx, "trail", lf.Key, seed.Gzip(lf.JSON)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "keys.pem"), string(chain.PublicPEM()))
	write(t, filepath.Join(dir, "plugins.conf"), "[PLUGINS]\n    path "+testenv.Plugin(t)+"\n")
	write(t, filepath.Join(dir, "fluent-bit.conf"), fmt.Sprintf(`[SERVICE]
    flush        1
    grace        5
    log_level    info
    plugins_file plugins.conf

[INPUT]
    name                  cloudtrail
    tag                   aws.cloudtrail
    queue_url             %s
    wait_time             1s
    integrity             on
    integrity_public_keys keys.pem
    schema                ocsf

[FILTER]
    name         rewrite_tag
    match        aws.cloudtrail
    rule         $_cloudtrail['type'] ^integrity$ aws.cloudtrail.integrity false
    emitter_name cloudtrail_integrity

[OUTPUT]
    name   file
    match  aws.cloudtrail
    path   %s
    file   events.jsonl
    format plain

[OUTPUT]
    name   file
    match  aws.cloudtrail.integrity
    path   %s
    file   findings.jsonl
    format plain
`, q, dir, dir))
	fb := start(t, srv, dir, "-c", "fluent-bit.conf")
	events, findings := filepath.Join(dir, "events.jsonl"), filepath.Join(dir, "findings.jsonl")
	testenv.WaitFor(t, time.Minute, "the log file's events", func() bool { return len(records(t, events)) == len(ids) })
	d := chain.Next([]seed.LogFile{lf})
	if err := seed.PutDigest(ctx, srv, "trail", d); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, time.Minute, "a finding in the findings output", func() bool { return len(records(t, findings)) == 1 })
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := srv.WaitEmpty(wctx, q); err != nil {
		t.Fatal(err)
	}
	fb.stop()
	f := records(t, findings)[0]
	src, _ := f[record.SourceKey].(map[string]any)
	comp, _ := f["compliance"].(map[string]any)
	det, _ := f["unmapped"].(map[string]any)["integrity"].(map[string]any)
	if src["type"] != "integrity" || src["key"] != d.Key || f["class_uid"] != 2003.0 || comp["status"] != "Pass" ||
		det["result"] != "valid" || det["files"].(map[string]any)["verified_from_ingest"] != 1.0 {
		t.Errorf("finding: %v", f)
	}
	for _, r := range records(t, events) {
		if s, _ := r[record.SourceKey].(map[string]any); s["type"] != nil {
			t.Errorf("a finding in the events output: %v", r)
		}
	}
	if log := fb.log.String(); strings.Contains(log, "within ack_timeout") || strings.Contains(log, "[error]") || strings.Contains(log, "[ warn] [input:cloudtrail") {
		t.Errorf("unexpected log lines:\n%s", log)
	}
}
