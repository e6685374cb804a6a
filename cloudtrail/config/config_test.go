package config

import (
	"strings"
	"testing"
	"time"
)

func props(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

const q = "https://sqs.eu-west-3.amazonaws.com/123456789012/ct"

func TestDefaults(t *testing.T) {
	c, err := Parse(props("queue_url", q))
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "eu-west-3" || c.WaitTime != 20*time.Second || c.MaxMessages != 10 ||
		c.VisibilityTimeout != 5*time.Minute || c.Workers != 4 || c.BufferMaxSize != 0 || c.HandoverInterval != 100*time.Millisecond ||
		c.Schema != "raw" || !c.TLSVerify || c.S3PathStyle || c.RoleSessionName != "fluent-bit-cloudtrail" ||
		c.MaxObjectSize != 1<<30 || c.DeleteDelay != Auto || c.DeleteMargin(false) != 5*time.Second || c.DeleteMargin(true) != 500*time.Millisecond || c.Ack != "auto" || c.AckTimeout != 30*time.Second {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

// An auto buffer depends on how records are handed over; a set one stays.
func TestResolveBuffer(t *testing.T) {
	for _, tc := range []struct {
		set   string
		timer bool
		want  int
	}{{"auto", true, 8 << 20}, {"auto", false, 24 << 20}, {"12M", true, 12 << 20}, {"12M", false, 12 << 20}} {
		c, err := Parse(props("queue_url", q, "buffer_max_size", tc.set))
		if err != nil {
			t.Fatal(err)
		}
		c.ResolveBuffer(tc.timer)
		if c.BufferMaxSize != tc.want {
			t.Errorf("buffer_max_size %s, timer %v: %d, want %d", tc.set, tc.timer, c.BufferMaxSize, tc.want)
		}
	}
	if _, err := Parse(props("queue_url", q, "handover_interval", "5ms")); err == nil {
		t.Error("handover_interval 5ms accepted")
	}
}

func TestValues(t *testing.T) {
	c, err := Parse(props("queue_url", "http://127.0.0.1:4566/000000000000/q", "region", "us-east-1",
		"wait_time", "5", "visibility_timeout", "1h", "buffer_max_size", "8M", "s3_path_style", "On",
		"schema", "OCSF", "role_arn", "arn:aws:iam::123456789012:role/r", "external_id", "xyz",
		"bucket_allowlist", " a , b,,", "tls_verify", "off", "max_messages", "3", "workers", "16"))
	if err != nil {
		t.Fatal(err)
	}
	if c.WaitTime != 5*time.Second || c.VisibilityTimeout != time.Hour || c.BufferMaxSize != 8<<20 ||
		!c.S3PathStyle || c.Schema != "ocsf" || c.TLSVerify || c.MaxMessages != 3 || c.Workers != 16 ||
		strings.Join(c.BucketAllow, "|") != "a|b" {
		t.Fatalf("unexpected: %+v", c)
	}
	for _, kv := range c.Effective() {
		if strings.Contains(kv, "xyz") {
			t.Fatalf("secret printed: %s", kv)
		}
	}
}

func TestErrorsNameKeyAndValue(t *testing.T) {
	cases := [][]string{
		{"queue_url", ""},
		{"queue_url", "not a url"},
		{"queue_url", q, "max_messages", "11"},
		{"queue_url", q, "max_messages", "ten"},
		{"queue_url", q, "wait_time", "21s"},
		{"queue_url", q, "wait_time", "soon"},
		{"queue_url", q, "workers", "0"},
		{"queue_url", q, "schema", "cef"},
		{"queue_url", q, "buffer_max_size", "lots"},
		{"queue_url", q, "s3_path_style", "maybe"},
		{"queue_url", q, "external_id", "x"},
		{"queue_url", q, "role_arn", "role/x"},
		{"queue_url", q, "region", "Mars"},
		{"queue_url", q, "endpoint_url", "ftp://x"},
		{"queue_url", q, "ocsf_version", "1.0"},
		{"queue_url", q, "expected_bucket_owner", "12"},
		{"queue_url", q, "visibility_timeout", "0s"},
	}
	for _, kv := range cases {
		_, err := Parse(props(kv...))
		if err == nil {
			t.Errorf("%v: accepted", kv)
			continue
		}
		key := kv[len(kv)-2]
		if !strings.HasPrefix(err.Error(), key) {
			t.Errorf("%v: error %q does not start with the key", kv, err)
		}
		if v := kv[len(kv)-1]; v != "" && !strings.Contains(err.Error(), v) {
			t.Errorf("%v: error %q does not name the value", kv, err)
		}
	}
}

func TestRegionFromQueueURL(t *testing.T) {
	for u, want := range map[string]string{
		"https://sqs.us-east-1.amazonaws.com/1/q":                     "us-east-1",
		"https://sqs.cn-north-1.amazonaws.com.cn/1/q":                 "cn-north-1",
		"https://sqs.us-gov-west-1.amazonaws.com/1/q":                 "us-gov-west-1",
		"https://vpce-0a1b.sqs.ap-southeast-2.vpce.amazonaws.com/1/q": "ap-southeast-2",
		"https://eu-central-1.queue.amazonaws.com/1/q":                "eu-central-1",
		"http://localhost:4566/000000000000/q":                        "",
	} {
		if got := RegionFromQueueURL(u); got != want {
			t.Errorf("%s: got %q want %q", u, got, want)
		}
	}
}

func TestUnits(t *testing.T) {
	for s, want := range map[string]time.Duration{"20s": 20 * time.Second, "5m": 5 * time.Minute, "1.5": 1500 * time.Millisecond, "250ms": 250 * time.Millisecond, "1d": 24 * time.Hour, "1m30s": 90 * time.Second} {
		if d, err := ParseDuration(s); err != nil || d != want {
			t.Errorf("%s: %v %v", s, d, err)
		}
	}
	for s, want := range map[string]int64{"8M": 8 << 20, "512k": 512 << 10, "1G": 1 << 30, "100": 100, "2MB": 2 << 20} {
		if n, err := ParseSize(s); err != nil || n != want {
			t.Errorf("%s: %v %v", s, n, err)
		}
	}
}
