// Package config turns the key/value properties of a Fluent Bit [INPUT]
// section into a validated Config.
//
// Values follow Fluent Bit's conventions: durations like "20s", "5m", "1h"
// (a bare number is seconds), sizes like "8M", "512k" (a bare number is bytes,
// K/M/G are powers of 1024), booleans on/off, true/false, yes/no.
// Every error names the key, the value and what is wrong, because it becomes
// the one line a user sees when Fluent Bit refuses to start.
package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Config is the validated configuration of one input instance.
type Config struct {
	QueueURL        string
	Region          string // explicit, or derived from QueueURL; "" means the SDK's default chain
	EndpointURL     string // for every AWS service; "" means the SDK default (AWS_ENDPOINT_URL* still apply)
	S3PathStyle     bool
	RoleARN         string
	ExternalID      string
	RoleSessionName string

	WaitTime          time.Duration // SQS long-poll wait, 0..20s
	MaxMessages       int           // per ReceiveMessage, 1..10
	VisibilityTimeout time.Duration // asked on receive and renewed while a message is worked on
	Workers           int           // parallel object downloads
	BufferMaxSize     int           // bytes of records held for Fluent Bit, also the most handed over at once; 0 = auto (ResolveBuffer)
	HandoverInterval  time.Duration // period of the plugin's own handover timer
	MallocTuning      bool          // raise glibc's mmap/trim thresholds for the process (plugin/malloc.go)
	Ack               string        // auto (Fluent Bit's counters when found, else delay) or delay
	DeleteDelay       time.Duration // extra margin before DeleteMessage; see DeleteMargin
	AckTimeout        time.Duration // counters mode: how long a handover may stay uncounted

	Schema        string // raw, ocsf, ecs
	OCSFVersion   string
	OCSFClasses   string
	TLSVerify     bool
	BucketAllow   []string // empty: any bucket
	BucketOwner   string   // expected_bucket_owner, sent as ExpectedBucketOwner
	MaxObjectSize int64    // compressed bytes of one S3 object; 0 = no limit
	CheckOnStart  bool     // run the connection check (package check) in Init

	// Integrity turns on the check of CloudTrail digest files (package
	// integrity); IntegrityPublicKeys is a PEM file of the public keys to
	// check them with, instead of cloudtrail:ListPublicKeys.
	Integrity           bool
	IntegrityPublicKeys string

	// Gzip bomb guards: decompressed bytes of one object, and the
	// decompressed/compressed ratio once 8M are decompressed.
	MaxDecompressedSize int64
	MaxCompressionRatio int

	MetricsListen      string        // host:port for Prometheus text at /metrics; "" = off
	MetricsLogInterval time.Duration // period of the one-line stats summary; 0 = off
}

// Key describes one configuration key, for validation and documentation.
type Key struct {
	Name    string
	Default string
	Help    string
}

// Keys lists every key the plugin reads, in documentation order.
var Keys = []Key{
	{"queue_url", "", "URL of the SQS queue that receives the S3 notifications (required)."},
	{"region", "from queue_url", "AWS region; taken from the queue URL when it names one, else the SDK default chain (AWS_REGION, profile)."},
	{"endpoint_url", "", "Endpoint for every AWS service (SQS, S3, STS), e.g. a VPC endpoint or a local emulator. AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_SQS/_S3/_STS are honoured too."},
	{"s3_path_style", "off", "Address S3 as endpoint/bucket/key instead of bucket.endpoint/key."},
	{"role_arn", "", "Role to assume with STS AssumeRole; credentials of the default chain are used to assume it."},
	{"external_id", "", "External ID passed to AssumeRole (requires role_arn)."},
	{"role_session_name", "fluent-bit-cloudtrail", "Session name for AssumeRole."},
	{"wait_time", "20s", "SQS long-poll wait per ReceiveMessage (0s to 20s)."},
	{"max_messages", "10", "Messages asked per ReceiveMessage (1 to 10); fewer are asked when the workers are busy."},
	{"visibility_timeout", "5m", "Visibility timeout asked on receive and renewed every half of it while a message is processed (1s to 12h)."},
	{"workers", "4", "Objects downloaded and decoded in parallel (1 to 64)."},
	{"buffer_max_size", "auto", "Memory for decoded records waiting for Fluent Bit (C memory, written once); also the most handed over at once. auto: 8M with the plugin's own handover timer, 24M with the Go proxy's 1s callback (one handover per second)."},
	{"handover_interval", "100ms", "How often records are handed to Fluent Bit (10ms to 1s), by the plugin's own timer (a goroutine; an event collector on the instance's thread appends each handover). It runs where Fluent Bit's counters pace it (4.1 and later, ack auto); elsewhere the Go proxy's fixed 1s callback hands records over instead (the start line says which)."},
	{"malloc_tuning", "on", "Let glibc keep freed memory for reuse (mmap threshold 32M, trim threshold 64M, set with mallopt for the whole Fluent Bit process at the first instance's start), so Fluent Bit's engine does not fault fresh pages in for every handover's chunks: about 25% less CPU per event. Peak RSS is unchanged, but it no longer falls back after a burst. Left alone when GLIBC_TUNABLES or MALLOC_*_ variables tune malloc; off: glibc's defaults."},
	{"ack", "auto", "How the plugin learns that Fluent Bit has a message's records before deleting it: auto reads Fluent Bit's own per-instance counters (accepted or dropped by the ring buffer, counted into chunks) when the binary exports them and falls back to delay otherwise; delay waits delete_delay after the handover (docs/reliability.md)."},
	{"delete_delay", "auto", "Extra margin before a message is deleted (0s to 1m). With counters: after Fluent Bit counted the last records into a chunk, covering the filters that run before the chunk write (auto: 0.5s, raised by itself to twice the time Fluent Bit's engine is seen busy on one handover). With delay: after the last handover (auto: 5s)."},
	{"ack_timeout", "30s", "With counters: a handed-over batch that Fluent Bit's record count still does not cover after this long (a processor that drops records) is taken as stored; the clock stops while the input is paused (5s to 1h)."},
	{"schema", "raw", "Record format: raw (the CloudTrail event unchanged), ocsf or ecs."},
	{"ocsf_version", "1.1.0", "OCSF version for schema ocsf: 1.1.0 or 1.5.0."},
	{"ocsf_classes", "default", "OCSF classes: default (Authentication, Account Change, API Activity as AWS maps them) or api_activity."},
	{"tls_verify", "on", "Verify TLS certificates of AWS endpoints."},
	{"bucket_allowlist", "", "Comma-separated buckets the plugin may read; notifications naming another bucket are refused. Empty: any."},
	{"expected_bucket_owner", "", "AWS account ID that must own every bucket read (sent as S3 ExpectedBucketOwner)."},
	{"max_object_size", "1G", "Largest compressed S3 object accepted; larger ones fail with an error (0: no limit)."},
	{"max_decompressed_size", "10G", "Largest object accepted after decompression; a larger one fails with an error (gzip bomb guard)."},
	{"max_compression_ratio", "200", "Largest decompressed/compressed ratio of a gzip object, checked once 8M are decompressed (gzip bomb guard; CloudTrail compresses 10-20x)."},
	{"integrity", "off", "Check CloudTrail log file integrity while ingesting: each digest file is verified (signature, chain to the previous digest, every listed log file present with its SHA-256) and becomes one finding record in the same stream (docs/integrity.md)."},
	{"integrity_public_keys", "", "PEM file of the public keys that verify digests (air-gapped use, tests); empty: cloudtrail:ListPublicKeys in the digest's region."},
	{"check_on_start", "off", "Run the connection checks of cloudtrail-check at start; Fluent Bit stops with the failing line when one fails."},
	{"metrics_listen", "", "Address (host:port) serving the plugin's Prometheus metrics at /metrics, labelled by instance; instances may share one. Empty: off."},
	{"metrics_log_interval", "60s", "Period of the one-line stats summary in the log (0s: off)."},
}

// Parse reads every key through get (which returns "" for a missing key) and
// validates the result.
func Parse(get func(key string) string) (*Config, error) {
	p := parser{get: get}
	c := &Config{
		QueueURL:            p.str("queue_url"),
		Region:              p.str("region"),
		EndpointURL:         p.str("endpoint_url"),
		S3PathStyle:         p.boolean("s3_path_style"),
		RoleARN:             p.str("role_arn"),
		ExternalID:          p.str("external_id"),
		RoleSessionName:     p.str("role_session_name"),
		WaitTime:            p.duration("wait_time", 0, 20*time.Second),
		MaxMessages:         p.integer("max_messages", 1, 10),
		VisibilityTimeout:   p.duration("visibility_timeout", time.Second, 12*time.Hour),
		Workers:             p.integer("workers", 1, 64),
		BufferMaxSize:       int(p.autoSize("buffer_max_size", 64<<10, 1<<30)),
		HandoverInterval:    p.duration("handover_interval", 10*time.Millisecond, time.Second),
		MallocTuning:        p.boolean("malloc_tuning"),
		Ack:                 strings.ToLower(p.str("ack")),
		DeleteDelay:         p.autoDuration("delete_delay", 0, time.Minute),
		AckTimeout:          p.duration("ack_timeout", 5*time.Second, time.Hour),
		Schema:              strings.ToLower(p.str("schema")),
		OCSFVersion:         p.str("ocsf_version"),
		OCSFClasses:         strings.ToLower(p.str("ocsf_classes")),
		TLSVerify:           p.boolean("tls_verify"),
		BucketOwner:         p.str("expected_bucket_owner"),
		MaxObjectSize:       p.size("max_object_size", 0, 1<<50),
		CheckOnStart:        p.boolean("check_on_start"),
		Integrity:           p.boolean("integrity"),
		IntegrityPublicKeys: p.str("integrity_public_keys"),
		MetricsListen:       p.str("metrics_listen"),
		MetricsLogInterval:  p.duration("metrics_log_interval", 0, 24*time.Hour),
	}
	c.MaxDecompressedSize = p.size("max_decompressed_size", 1<<20, 1<<50)
	c.MaxCompressionRatio = p.integer("max_compression_ratio", 2, 1<<20)
	for _, b := range strings.Split(p.str("bucket_allowlist"), ",") {
		if b = strings.TrimSpace(b); b != "" {
			c.BucketAllow = append(c.BucketAllow, b)
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	if c.QueueURL == "" {
		return fmt.Errorf("queue_url: missing: set it to the URL of the SQS queue, e.g. https://sqs.us-east-1.amazonaws.com/123456789012/cloudtrail")
	}
	u, err := url.Parse(c.QueueURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return fmt.Errorf("queue_url %q: not a queue URL: expected https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE", c.QueueURL)
	}
	if c.Region == "" {
		c.Region = RegionFromQueueURL(c.QueueURL)
	} else if !regionRE.MatchString(c.Region) {
		return fmt.Errorf("region %q: not an AWS region name such as us-east-1", c.Region)
	}
	if c.EndpointURL != "" {
		u, err := url.Parse(c.EndpointURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("endpoint_url %q: not an http(s) URL", c.EndpointURL)
		}
	}
	if c.ExternalID != "" && c.RoleARN == "" {
		return fmt.Errorf("external_id: set without role_arn: the external ID is only sent when assuming a role")
	}
	if c.RoleARN != "" && !strings.HasPrefix(c.RoleARN, "arn:") {
		return fmt.Errorf("role_arn %q: not an ARN such as arn:aws:iam::123456789012:role/cloudtrail-reader", c.RoleARN)
	}
	if c.RoleSessionName != "" && !sessionNameRE.MatchString(c.RoleSessionName) {
		return fmt.Errorf("role_session_name %q: must be 2-64 characters of letters, digits and =,.@-", c.RoleSessionName)
	}
	switch c.Ack {
	case "auto", "delay":
	default:
		return fmt.Errorf("ack %q: unknown: use auto or delay", c.Ack)
	}
	switch c.Schema {
	case "raw", "ocsf", "ecs":
	default:
		return fmt.Errorf("schema %q: unknown: use raw, ocsf or ecs", c.Schema)
	}
	switch c.OCSFVersion {
	case "1.1.0", "1.5.0":
	default:
		return fmt.Errorf("ocsf_version %q: unsupported: use 1.1.0 or 1.5.0", c.OCSFVersion)
	}
	switch c.OCSFClasses {
	case "default", "api_activity":
	default:
		return fmt.Errorf("ocsf_classes %q: unknown: use default or api_activity", c.OCSFClasses)
	}
	if c.MetricsListen != "" {
		if _, port, err := net.SplitHostPort(c.MetricsListen); err != nil || port == "" {
			return fmt.Errorf("metrics_listen %q: not a host:port address such as 0.0.0.0:2021", c.MetricsListen)
		}
	}
	if c.IntegrityPublicKeys != "" && !c.Integrity {
		return fmt.Errorf("integrity_public_keys: set with integrity off: the keys only verify digests when integrity is on")
	}
	if c.BucketOwner != "" && !accountRE.MatchString(c.BucketOwner) {
		return fmt.Errorf("expected_bucket_owner %q: not a 12-digit AWS account ID", c.BucketOwner)
	}
	return nil
}

var (
	regionRE      = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	accountRE     = regexp.MustCompile(`^\d{12}$`)
	// sqs.us-east-1.amazonaws.com, sqs.cn-north-1.amazonaws.com.cn,
	// vpce-0abc.sqs.us-east-1.vpce.amazonaws.com, us-east-1.queue.amazonaws.com
	queueHostRE = regexp.MustCompile(`(?:^|\.)sqs[.-]((?:[a-z]{2}(?:-[a-z]+)+-\d+))\.|^([a-z]{2}(?:-[a-z]+)+-\d+)\.queue\.amazonaws\.com`)
)

// RegionFromQueueURL returns the region an SQS queue URL names, or "" when it
// names none (a local emulator, a custom domain).
func RegionFromQueueURL(queueURL string) string {
	u, err := url.Parse(queueURL)
	if err != nil {
		return ""
	}
	m := queueHostRE.FindStringSubmatch(strings.ToLower(u.Hostname()))
	if m == nil {
		return ""
	}
	if m[1] != "" {
		return m[1]
	}
	return m[2]
}

// Secret reports whether a key's value must be masked when printed.
func Secret(key string) bool { return key == "external_id" }

type parser struct {
	get func(string) string
	err error
}

func (p *parser) raw(key string) (string, bool) {
	v := strings.TrimSpace(p.get(key))
	if v != "" {
		return v, true
	}
	for _, k := range Keys {
		if k.Name == key {
			return k.Default, false
		}
	}
	panic("config: undeclared key " + key) // a programming error, caught by tests
}

func (p *parser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf(format, args...)
	}
}

func (p *parser) str(key string) string {
	v, set := p.raw(key)
	if !set && strings.HasPrefix(v, "from ") {
		return "" // a documented, computed default
	}
	return v
}

func (p *parser) boolean(key string) bool {
	v, _ := p.raw(key)
	b, err := ParseBool(v)
	if err != nil {
		p.fail("%s %q: %v", key, v, err)
	}
	return b
}

func (p *parser) integer(key string, lo, hi int) int {
	v, _ := p.raw(key)
	n, err := strconv.Atoi(v)
	if err != nil {
		p.fail("%s %q: not an integer", key, v)
		return lo
	}
	if n < lo || n > hi {
		p.fail("%s %q: out of range: must be between %d and %d", key, v, lo, hi)
	}
	return n
}

func (p *parser) duration(key string, lo, hi time.Duration) time.Duration {
	v, _ := p.raw(key)
	d, err := ParseDuration(v)
	if err != nil {
		p.fail("%s %q: %v", key, v, err)
		return lo
	}
	if d < lo || d > hi {
		p.fail("%s %q: out of range: must be between %s and %s", key, v, lo, hi)
	}
	return d
}

// Auto is the value of a duration key left at "auto".
const Auto time.Duration = -1

// autoDuration is duration for a key whose default, "auto", depends on
// something known only later; it returns Auto for it.
func (p *parser) autoDuration(key string, lo, hi time.Duration) time.Duration {
	if v, _ := p.raw(key); strings.EqualFold(v, "auto") {
		return Auto
	}
	return p.duration(key, lo, hi)
}

func autoSizeString(n int) string {
	if n == 0 {
		return "auto"
	}
	return FormatSize(int64(n))
}

func autoString(d time.Duration) string {
	if d == Auto {
		return "auto"
	}
	return d.String()
}

// Default delete margins, per acknowledgement mode (docs/reliability.md).
const (
	// DelayMargin: with only the timer, the wait from the last handover to
	// the delete. 2 s lost events in the SIGKILL test on a starved node.
	DelayMargin = 5 * time.Second
	// CountedMargin: with Fluent Bit's counters, the wait from the moment
	// records_total covered the last handover, when no later handover shows
	// that the engine finished it. The engine counts a ring entry, runs the
	// filters and then copies it into the chunk (for a 24M handover into
	// fresh pages of a chunk file), and nothing in Fluent Bit tells when that
	// copy is done. With no margin, two of 14 SIGKILL runs (two busy loops
	// and more) lost a handover, with 0.25 s one of 7: the chunk file was
	// found empty after the restart.
	// Every 100 ms of margin also costs duplicates after a crash. The margin
	// is a floor: the plugin raises it to twice the time it sees Fluent
	// Bit's engine busy on one handover (package ack), which is what slow
	// filters show.
	CountedMargin = 500 * time.Millisecond
)

// DeleteMargin is delete_delay, or its default for the acknowledgement mode.
func (c *Config) DeleteMargin(counters bool) time.Duration {
	switch {
	case c.DeleteDelay != Auto:
		return c.DeleteDelay
	case counters:
		return CountedMargin
	default:
		return DelayMargin
	}
}

func (p *parser) size(key string, lo, hi int64) int64 {
	v, _ := p.raw(key)
	n, err := ParseSize(v)
	if err != nil {
		p.fail("%s %q: %v", key, v, err)
		return lo
	}
	if n < lo || n > hi {
		p.fail("%s %q: out of range: must be between %s and %s", key, v, FormatSize(lo), FormatSize(hi))
	}
	return n
}

// autoSize is size for a key whose default, "auto", is resolved later; it
// returns 0 for it.
func (p *parser) autoSize(key string, lo, hi int64) int64 {
	if v, _ := p.raw(key); strings.EqualFold(v, "auto") {
		return 0
	}
	return p.size(key, lo, hi)
}

// Default record memory, per way of handing records over
// (docs/performance.md): the plugin's own timer hands over many times a
// second, so a small buffer keeps up; the Go proxy's callback comes once a
// second and carries at most the buffer.
const (
	TimerBuffer = 8 << 20
	ProxyBuffer = 24 << 20
)

// ResolveBuffer sets an auto buffer_max_size for the way records are
// handed over.
func (c *Config) ResolveBuffer(timer bool) {
	if c.BufferMaxSize != 0 {
		return
	}
	c.BufferMaxSize = ProxyBuffer
	if timer {
		c.BufferMaxSize = TimerBuffer
	}
}

// ParseBool accepts Fluent Bit's boolean spellings.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "on", "true", "yes", "1":
		return true, nil
	case "off", "false", "no", "0":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: use on or off")
}

// ParseDuration accepts Fluent Bit's time units: a number followed by ms, s,
// m, h or d (a bare number is seconds), or a Go duration such as 1m30s.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("negative duration")
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	if strings.HasSuffix(s, "d") {
		n, err := strconv.ParseFloat(strings.TrimSuffix(s, "d"), 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("not a duration: use a number with ms, s, m, h or d, e.g. 20s")
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("not a duration: use a number with ms, s, m, h or d, e.g. 20s")
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration")
	}
	return d, nil
}

// ParseSize accepts Fluent Bit's size units: a number optionally followed by
// K, M or G (with or without a trailing B), powers of 1024; a bare number is
// bytes.
func ParseSize(s string) (int64, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.TrimSuffix(s, "B")
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not a size: use a number of bytes optionally followed by K, M or G, e.g. 8M")
	}
	return int64(n * float64(mult)), nil
}

// FormatSize prints a size the way ParseSize reads it.
func FormatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dG", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dM", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dK", n>>10)
	}
	return strconv.FormatInt(n, 10)
}

// Effective lists the configuration as key/value pairs for the startup log
// line, with secrets masked.
func (c *Config) Effective() []string {
	mask := func(s string) string {
		if s == "" {
			return ""
		}
		return "***"
	}
	onoff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	return []string{
		"queue_url=" + c.QueueURL,
		"region=" + c.Region,
		"endpoint_url=" + c.EndpointURL,
		"s3_path_style=" + onoff(c.S3PathStyle),
		"role_arn=" + c.RoleARN,
		"external_id=" + mask(c.ExternalID),
		"role_session_name=" + c.RoleSessionName,
		"wait_time=" + c.WaitTime.String(),
		"max_messages=" + strconv.Itoa(c.MaxMessages),
		"visibility_timeout=" + c.VisibilityTimeout.String(),
		"workers=" + strconv.Itoa(c.Workers),
		"buffer_max_size=" + autoSizeString(c.BufferMaxSize),
		"handover_interval=" + c.HandoverInterval.String(),
		"malloc_tuning=" + onoff(c.MallocTuning),
		"ack=" + c.Ack,
		"delete_delay=" + autoString(c.DeleteDelay),
		"ack_timeout=" + c.AckTimeout.String(),
		"schema=" + c.Schema,
		"tls_verify=" + onoff(c.TLSVerify),
		"bucket_allowlist=" + strings.Join(c.BucketAllow, ","),
		"expected_bucket_owner=" + c.BucketOwner,
		"max_object_size=" + FormatSize(c.MaxObjectSize),
		"max_decompressed_size=" + FormatSize(c.MaxDecompressedSize),
		"max_compression_ratio=" + strconv.Itoa(c.MaxCompressionRatio),
		"integrity=" + onoff(c.Integrity),
		"integrity_public_keys=" + c.IntegrityPublicKeys,
		"check_on_start=" + onoff(c.CheckOnStart),
		"metrics_listen=" + c.MetricsListen,
		"metrics_log_interval=" + c.MetricsLogInterval.String(),
	}
}
