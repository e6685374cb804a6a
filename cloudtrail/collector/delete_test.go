package collector

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/ack"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/metrics"
)

// warnings keeps the collector's warnings.
type warnings struct {
	mu    sync.Mutex
	lines []string
}

func (w *warnings) Warnf(f string, a ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, fmt.Sprintf(f, a...))
}
func (w *warnings) Errorf(f string, a ...any) { w.Warnf(f, a...) }
func (*warnings) Infof(string, ...any)        {}
func (*warnings) Debugf(string, ...any)       {}

// TestObserveWaitsForHandoverInProgress plays Fluent Bit's engine counting
// a handover's records before the plugin's Handed returns, with the deleter
// reading the counters in between (seen in CI under load: the tracker took
// the records for a surplus, and the handover was acknowledged only by
// ack_timeout). The reading must wait for Handed, and both handovers must be
// acknowledged by the count.
func TestObserveWaitsForHandoverInProgress(t *testing.T) {
	cfg, err := config.Parse(func(k string) string {
		if k == "queue_url" {
			return "https://sqs.us-east-1.amazonaws.com/123456789012/q"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		fbc ack.Counters // what Fluent Bit's counters say
	)
	engine := func(records uint64) { // Fluent Bit accepts and counts a handover
		mu.Lock()
		fbc.RingWrites++
		fbc.Records += records
		mu.Unlock()
	}
	log := &warnings{}
	c := &Collector{cfg: cfg, log: log, queue: newBatchQueue(1<<20, nil), messages: map[string]*message{}}
	c.counters = func() (ack.Counters, bool) {
		mu.Lock()
		defer mu.Unlock()
		return fbc, true
	}
	c.tracker = ack.NewCounting(ack.Counters{}, 0, time.Minute)
	c.Stats.AckLag = metrics.NewHistogram(AckBuckets)
	m := &message{id: "m", state: stateDecoded, pending: 2}
	for range 2 {
		if err := c.queue.put(context.Background(), batch{data: fill(100, 'x'), events: 10, msg: m}); err != nil {
			t.Fatal(err)
		}
	}

	h1 := c.Take(1)
	engine(10)
	c.Handed(h1)
	h2 := c.Take(1)
	if h1 == nil || h2 == nil {
		t.Fatalf("handovers %v %v", h1, h2)
	}
	engine(10)                // counted before Handed returns
	c.observeAcks(time.Now()) // the deleter's tick, in between
	if n := c.tracker.Outstanding(); n != 1 {
		t.Fatalf("%d handovers held after a reading during the second one, want 1", n)
	}
	c.Handed(h2)
	c.observeAcks(time.Now())
	if len(log.lines) > 0 {
		t.Errorf("warnings: %s", strings.Join(log.lines, "; "))
	}
	if n := c.tracker.Outstanding(); n != 0 || m.state != stateAcked {
		t.Errorf("after the count: %d handovers held, message state %v", n, m.state)
	}
}
