package fault

import (
	"bytes"
	"context"
	"fmt"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/faultproxy"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
)

// hostile is one broken or hostile input.
type hostile struct {
	name   string // also the object's file name, or the marker in the SQS body
	body   []byte // object content; nil: no object is put
	notify string // a hand-sent SQS body instead of the bucket's notification
	reason string // text the error line must carry (any of "|"-separated)
	ok     bool   // not an error: the message must succeed
}

const ctPrefix = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/"

func gz(b []byte) []byte { return seed.Gzip(b) }

func hostileInputs() []hostile {
	valid, _ := seed.Synthetic("trunc", 300)
	validGz := gz(valid)
	rnd := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		return b
	}
	notObject, _ := seed.Synthetic("nobj", 2)
	notObject = bytes.Replace(notObject, []byte(`},{"eventVersion"`), []byte(`},42,{"eventVersion"`), 1)
	bomb := gz(append(append([]byte(`{"Records":[`), bytes.Repeat([]byte(" "), 64<<20)...), ']', '}'))
	nest := []byte(`{"Records":[{"eventVersion":"1.09","eventID":"nest-0","eventTime":"2024-01-01T00:00:00Z","requestParameters":` +
		strings.Repeat(`[`, 100000) + strings.Repeat(`]`, 100000) + `}]}`)
	utf8 := []byte("{\"Records\":[{\"eventVersion\":\"1.09\",\"eventID\":\"utf8-0\",\"eventTime\":\"2024-01-01T00:00:00Z\",\"eventName\":\"Get\xff\xfeObject\",\"userAgent\":\"a\xc3(b\"}]}")
	junk := fmt.Sprintf(`{"pad":%q}`, strings.Repeat("x", 255<<10))
	return []hostile{
		{name: "corrupt.json.gz", body: append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, random(4000)...), reason: "gzip"},
		{name: "truncated.json.gz", body: validGz[:len(validGz)/2], reason: "truncated|unexpected EOF"},
		{name: "truncated-json.json", body: valid[:len(valid)/2], reason: "unexpected end of input"},
		{name: "records-not-array.json", body: []byte(`{"Records":{"eventID":"x"}}`), reason: "not an array"},
		{name: "record-not-object.json.gz", body: gz(notObject), reason: "not an object"},
		{name: "gzip-bomb.json.gz", body: bomb, reason: "max_compression_ratio|ratio above"},
		{name: "nesting-bomb.json.gz", body: gz(nest), reason: "depth|nest"},
		{name: "invalid-utf8.json", body: utf8, ok: true},
		{name: "empty.json.gz", body: []byte{}, reason: "empty"},
		{name: "not-cloudtrail.json", body: []byte(`{"hello":"world"}`), reason: "not a CloudTrail"},
		{name: "oversize.json.gz", body: gz(random(1536 << 10)), reason: "max_object_size"},
		{name: "denied.json.gz", body: validGz, reason: "AccessDenied"},
		{name: "missing.json.gz", notify: `{"s3Bucket":"trail","s3ObjectKey":["` + ctPrefix + `missing.json.gz"]}`, reason: "NoSuchKey"},
		{name: "evil-bucket", notify: `{"s3Bucket":"evil","s3ObjectKey":["` + ctPrefix + `x.json.gz"]}`, reason: "bucket_allowlist"},
		{name: "foreign-owner", notify: `{"s3Bucket":"foreign","s3ObjectKey":["` + ctPrefix + `foreign.json.gz"]}`, reason: "AccessDenied"},
		{name: "malformed-body", notify: `{"Records":[{"eventSource":"aws:s3","s3":{"bucket":` + "\x00\x01 not json", reason: "invalid JSON"},
		{name: "junk-256k", notify: junk, reason: "unknown shape"},
	}
}

// TestHostileInputs feeds every broken and hostile input to one plugin with
// good objects in between: the good ones all arrive, every bad message ends
// in the dead-letter queue through the redrive policy, each with an error
// line that names the queue, the bucket, the key and the reason, and the
// process survives.
func TestHostileInputs(t *testing.T) {
	t.Parallel()
	e := setup(t, 2)
	ctx := context.Background()
	for _, b := range []string{"foreign", "trail-bulk"} {
		if err := e.srv.CreateBucket(ctx, b, ""); err != nil {
			t.Fatal(err)
		}
	}
	e.px.SetBucketOwner("foreign", "999999999999")
	e.px.SetBucketOwner("trail", "111122223333")
	e.px.SetBucketOwner("trail-bulk", "111122223333")
	e.px.Add(&faultproxy.Rule{Name: "denied", Op: "s3:GetObject", Match: func(r *faultproxy.Request) bool { return strings.HasSuffix(r.Key, "denied.json.gz") },
		Fault: faultproxy.Fault{Status: 403, Code: "AccessDenied", Message: "Access Denied"}})
	valid, _ := seed.Synthetic("foreign", 3)
	if err := e.srv.Put(ctx, "foreign", ctPrefix+"foreign.json.gz", gz(valid)); err != nil {
		t.Fatal(err)
	}

	w, err := seed.PutSynthetic(ctx, e.srv, e.bucket, "good", 4, 100)
	if err != nil {
		t.Fatal(err)
	}
	cases := hostileInputs()
	for _, h := range cases {
		switch {
		case h.notify != "":
			if err := e.srv.Send(ctx, e.queue, h.notify); err != nil {
				t.Fatalf("%s: %v", h.name, err)
			}
		default:
			if err := e.srv.Put(ctx, e.bucket, ctPrefix+h.name, h.body); err != nil {
				t.Fatalf("%s: %v", h.name, err)
			}
		}
	}
	w.Want["utf8-0"] = 1
	// Thousands of keys in one CloudTrail notice (a body of about 200 KB).
	var keys []string
	for i := range 2000 {
		k := fmt.Sprintf("%sbulk/111122223333_CloudTrail_us-east-1_20240102T0000Z_%05d.json.gz", ctPrefix, i)
		body, ids := seed.Synthetic(fmt.Sprintf("bulk-%05d", i), 1)
		if err := e.srv.Put(ctx, "trail-bulk", k, gz(body)); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, fmt.Sprintf("%q", k))
		w.Want[ids[0]] = 1
		w.Key[ids[0]] = k
	}
	notice := `{"s3Bucket":"trail-bulk","s3ObjectKey":[` + strings.Join(keys, ",") + `]}`
	t.Logf("CloudTrail notice of %d keys: %d bytes", len(keys), len(notice))
	if err := e.srv.Send(ctx, e.queue, notice); err != nil {
		t.Fatal(err)
	}
	w.Add(ctx, e.srv, e.bucket, "good-late", 4, 100)

	r := e.start("visibility_timeout=2s", "max_object_size=1M", "bucket_allowlist=trail,trail-bulk,foreign",
		"expected_bucket_owner=111122223333", "workers=4")
	bad := 0
	for _, h := range cases {
		if !h.ok {
			bad++
		}
	}
	var dlq []string
	testenv.WaitFor(t, 3*time.Minute, "good events delivered, queue empty, bad messages in the DLQ", func() bool {
		r.alive()
		got := r.counts()
		for id := range w.Want {
			if got[id] == 0 {
				return false
			}
		}
		v, f, _ := e.srv.Depth(ctx, e.queue)
		if v+f > 0 {
			return false
		}
		dv, _, _ := e.srv.Depth(ctx, e.dlq)
		return dv >= bad
	})
	time.Sleep(time.Second)
	r.stop()
	got := r.counts()
	for id, n := range got {
		if n > 1 && (strings.HasPrefix(id, "good") || strings.HasPrefix(id, "bulk")) {
			t.Errorf("eventID %s arrived %d times", id, n)
		}
	}
	dlq = e.dlqBodies()
	log := r.stderr.String()
	for _, h := range cases {
		inDLQ := 0
		for _, b := range dlq {
			if (h.notify == "" && strings.Contains(b, h.name)) || (h.notify != "" && b == h.notify) {
				inDLQ++
			}
		}
		if h.ok {
			if inDLQ > 0 {
				t.Errorf("%s: ended in the DLQ but should have succeeded", h.name)
			}
			continue
		}
		if inDLQ != 1 {
			t.Errorf("%s: %d copies in the DLQ, want 1", h.name, inDLQ)
		}
		// The error line names the queue, the bucket and key (or the
		// message, for a body that names none) and the reason.
		found := ""
		for _, l := range strings.Split(log, "\n") {
			if !strings.Contains(l, "[error]") || !strings.Contains(l, "queue "+e.queue) {
				continue
			}
			if h.notify == "" && !strings.Contains(l, "s3://trail/"+ctPrefix+h.name+":") {
				continue
			}
			if h.notify != "" && !strings.Contains(l, "message ") {
				continue
			}
			switch h.name {
			case "missing.json.gz":
				if !strings.Contains(l, "s3://trail/"+ctPrefix+"missing.json.gz") {
					continue
				}
			case "evil-bucket":
				if !strings.Contains(l, "s3://evil/") {
					continue
				}
			case "foreign-owner":
				if !strings.Contains(l, "s3://foreign/") {
					continue
				}
			}
			for _, reason := range strings.Split(h.reason, "|") {
				if strings.Contains(l, reason) {
					found = l
				}
			}
		}
		if found == "" {
			t.Errorf("%s: no error line with the queue, bucket, key and reason %q", h.name, h.reason)
		} else {
			t.Logf("%s: %.300s", h.name, found[strings.Index(found, "[error]"):])
		}
	}
	if len(dlq) != bad {
		t.Errorf("%d messages in the DLQ, want %d", len(dlq), bad)
	}
	// Refused before any request: nothing was asked of the bucket outside
	// the allowlist; every S3 request carried the expected owner.
	for _, q := range e.px.Requests() {
		if q.Bucket == "evil" {
			t.Errorf("a request was made to the refused bucket: %s %s", q.Op, q.Key)
		}
		if strings.HasPrefix(q.Op, "s3:") && q.Owner != "111122223333" {
			t.Errorf("S3 request %s s3://%s/%s without ExpectedBucketOwner", q.Op, q.Bucket, q.Key)
		}
	}
	if strings.Contains(log, "panic") || strings.Contains(log, "internal error") {
		t.Error("the plugin recovered from a panic on hostile input")
	}
	noSecrets(t, log)
}
