package collector_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/collector"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/decode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/msgpack"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
)

type testLog struct {
	t     testing.TB
	mu    sync.Mutex
	lines []string
}

func (l *testLog) add(level, f string, a ...any) {
	s := level + " " + fmt.Sprintf(f, a...)
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
	l.t.Log(s)
}
func (l *testLog) Errorf(f string, a ...any) { l.add("error", f, a...) }
func (l *testLog) Warnf(f string, a ...any)  { l.add("warn", f, a...) }
func (l *testLog) Infof(f string, a ...any)  { l.add("info", f, a...) }
func (l *testLog) Debugf(f string, a ...any) { l.add("debug", f, a...) }
func (l *testLog) grep(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, x := range l.lines {
		if strings.Contains(x, s) {
			out = append(out, x)
		}
	}
	return out
}

func startEmu(t *testing.T) *emu.Server {
	s, err := emu.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func newCollector(t *testing.T, srv *emu.Server, queueURL string, kv ...string) (*collector.Collector, *testLog) {
	props := map[string]string{"queue_url": queueURL, "wait_time": "1s", "delete_delay": "0s", "visibility_timeout": "30s"}
	for i := 0; i+1 < len(kv); i += 2 {
		props[kv[i]] = kv[i+1]
	}
	cfg, err := config.Parse(func(k string) string { return props[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := &testLog{t: t}
	c, err := collector.New(collector.Options{
		Config: cfg,
		SQS:    srv.SQS(),
		S3:     srv.S3(),
		NewEncoder: func() (record.Encoder, error) {
			return &transcode.Raw{}, nil
		},
		Limits: decode.DefaultLimits(),
		Log:    log,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, log
}

// sink plays Fluent Bit: it takes records every interval and hands them over.
type sink struct {
	mu      sync.Mutex
	entries []msgpack.Entry
	err     error
}

func (s *sink) run(ctx context.Context, c *collector.Collector, every time.Duration, hand bool) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h := c.Take(32 << 20)
		if h == nil {
			continue
		}
		es, err := msgpack.DecodeEntries(h.Data())
		if err == nil && len(es) != h.Events() {
			// The plugin passes Events to Fluent Bit as the record count
			// (flb_input_log_append_records), and acknowledgement compares
			// it with Fluent Bit's records_total: it must be exact.
			err = fmt.Errorf("handover of %d entries says %d events", len(es), h.Events())
		}
		s.mu.Lock()
		s.entries = append(s.entries, es...)
		if err != nil && s.err == nil {
			s.err = err
		}
		s.mu.Unlock()
		if hand {
			c.Handed(h)
		}
	}
}

func (s *sink) ids() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, e := range s.entries {
		id, _ := e.Body["eventID"].(string)
		out[id]++
	}
	return out
}

func TestDrainsEveryNotificationShape(t *testing.T) {
	srv := startEmu(t)
	ctx := context.Background()
	sc, err := seed.Full(ctx, srv, "ct", "trail")
	if err != nil {
		t.Fatal(err)
	}
	q, want := sc.QueueURL, sc.Want
	c, _ := newCollector(t, srv, q, "workers", "3")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	var sk sink
	go sk.run(sctx, c, 50*time.Millisecond, true)
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	for len(sk.ids()) < len(want)-1 && wctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	if err := srv.WaitEmpty(wctx, q); err != nil {
		t.Error(err)
	}
	stop()
	c.Stop(context.Background())

	if sk.err != nil {
		t.Fatalf("invalid entry handed to Fluent Bit: %v", sk.err)
	}
	got := sk.ids()
	for id, n := range want {
		if got[id] < n {
			t.Errorf("eventID %q: %d of %d records arrived (keys %q)", id, got[id], n, sc.Keys[id])
		}
	}
	for id, n := range got {
		if n > want[id] {
			t.Errorf("eventID %q arrived %d times, expected %d", id, n, want[id])
		}
	}
	sk.mu.Lock()
	for _, e := range sk.entries {
		src, _ := e.Body[record.SourceKey].(map[string]any)
		key, _ := src["key"].(string)
		if strings.Contains(key, "Digest") {
			t.Errorf("digest content emitted: %v", e.Body)
		}
		if id, _ := e.Body["eventID"].(string); !slices.Contains(sc.Keys[id], key) {
			t.Errorf("event %s: source key %q, want one of %q", id, key, sc.Keys[id])
		}
		if src["sqs_message_id"] == "" || src["queue_url"] != q {
			t.Errorf("event source incomplete: %v", src)
		}
	}
	sk.mu.Unlock()
	if n := c.Stats.MessagesDeleted.Load(); n != c.Stats.MessagesReceived.Load() {
		t.Errorf("deleted %d of %d received messages", n, c.Stats.MessagesReceived.Load())
	}
	t.Logf("%d events from %d files, %d messages", len(got), sc.Files, c.Stats.MessagesReceived.Load())
}

func TestNothingDeletedBeforeHandover(t *testing.T) {
	srv := startEmu(t)
	ctx := context.Background()
	q, _ := srv.CreateQueue(ctx, "ct", nil)
	srv.CreateBucket(ctx, "trail", "ct")
	files, _ := seed.Corpus(filepath.Join(emu.Root(), "test", "testdata", "cloudtrail", "stratus-red-team"))
	for i, f := range files[:5] {
		srv.Put(ctx, "trail", seed.Key("111122223333", "us-east-1", i), seed.Gzip(f.JSON))
	}
	c, _ := newCollector(t, srv, q)
	c.Start()
	sctx, stop := context.WithCancel(ctx)
	var sk sink
	go sk.run(sctx, c, 50*time.Millisecond, false) // takes, never confirms
	deadline := time.Now().Add(20 * time.Second)
	for len(sk.ids()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	stop()
	if v, f, _ := srv.Depth(ctx, q); v+f != 5 {
		t.Fatalf("queue holds %d visible + %d in flight, want all 5 kept", v, f)
	}
	if c.Stats.MessagesDeleted.Load() != 0 {
		t.Fatal("a message was deleted before its records were handed over")
	}
	c.Stop(context.Background())
	// Stop gives unfinished messages back at once (visibility 0).
	if n, err := srv.Visible(ctx, q); n != 5 {
		t.Fatalf("after stop: %d messages receivable, want all 5 (%v)", n, err)
	}
}

func TestPausedReceivesNothing(t *testing.T) {
	srv := startEmu(t)
	ctx := context.Background()
	q, _ := srv.CreateQueue(ctx, "ct", nil)
	srv.CreateBucket(ctx, "trail", "ct")
	files, _ := seed.Corpus(filepath.Join(emu.Root(), "test", "testdata", "cloudtrail", "stratus-red-team"))
	c, _ := newCollector(t, srv, q)
	c.Pause()
	c.Start()
	for i, f := range files[:3] {
		srv.Put(ctx, "trail", seed.Key("111122223333", "us-east-1", i), seed.Gzip(f.JSON))
	}
	time.Sleep(2500 * time.Millisecond)
	if v, _, _ := srv.Depth(ctx, q); v != 3 {
		t.Fatalf("paused input received messages: %d of 3 still visible", v)
	}
	if h := c.Take(1 << 20); h != nil {
		t.Fatal("paused input handed records over")
	}
	c.Resume()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var sk sink
	go sk.run(sctx, c, 50*time.Millisecond, true)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := srv.WaitEmpty(wctx, q); err != nil {
		t.Fatal(err)
	}
	c.Stop(context.Background())
}

func TestFailedObjectGoesBackToQueue(t *testing.T) {
	srv := startEmu(t)
	ctx := context.Background()
	q, _ := srv.CreateQueue(ctx, "ct", nil)
	srv.CreateBucket(ctx, "trail", "")
	srv.Put(ctx, "trail", "corrupt.json.gz", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3})
	for _, key := range []string{"missing.json.gz", "corrupt.json.gz"} {
		srv.Send(ctx, q, fmt.Sprintf(`{"s3Bucket":"trail","s3ObjectKey":[%q]}`, key))
	}
	srv.Send(ctx, q, `{"this is":"not a notification"}`)
	c, log := newCollector(t, srv, q)
	c.Start()
	sctx, stop := context.WithCancel(ctx)
	var sk sink
	go sk.run(sctx, c, 50*time.Millisecond, true)
	deadline := time.Now().Add(15 * time.Second)
	for c.Stats.MessagesFailed.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	c.Stop(context.Background())
	if c.Stats.MessagesDeleted.Load() != 0 {
		t.Fatal("a failed message was deleted")
	}
	if v, f, _ := srv.Depth(ctx, q); v+f != 3 {
		t.Fatalf("queue holds %d+%d messages, want the 3 failed ones", v, f)
	}
	for _, want := range []string{"s3://trail/missing.json.gz", "s3://trail/corrupt.json.gz", "not a notification"} {
		lines := log.grep(want)
		if len(lines) == 0 {
			t.Errorf("no error line names %q", want)
		}
		for _, l := range lines {
			if !strings.Contains(l, q) {
				t.Errorf("error line does not name the queue: %s", l)
			}
		}
	}
}
