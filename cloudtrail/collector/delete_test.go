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
	f := newFakeEngine(t, 0, 2)
	c, engine, log, m := f.c, f.engine, f.log, f.msg

	h1 := c.Take(1)
	engine(10)
	c.Handed(h1)
	h2 := c.Take(1)
	if h1 == nil || h2 == nil {
		t.Fatalf("handovers %v %v", h1, h2)
	}
	engine(10) // counted before Handed returns
	// The deleter's tick, in between, once the readings Take and Handed
	// noted are too old to use, so that it reads the counters itself.
	c.observeAcks(time.Now().Add(readingFresh))
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

// fakeEngine is a collector whose Fluent Bit counters are played by the
// test, with one message of n batches of 10 records queued.
type fakeEngine struct {
	c     *Collector
	log   *warnings
	msg   *message
	mu    sync.Mutex
	fbc   ack.Counters // what Fluent Bit's counters say
	reads int          // how often the collector read them
}

func newFakeEngine(t *testing.T, margin time.Duration, n int) *fakeEngine {
	t.Helper()
	cfg, err := config.Parse(func(k string) string {
		if k == "queue_url" {
			return "https://sqs.us-east-1.amazonaws.com/123456789012/q"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeEngine{log: &warnings{}}
	f.c = &Collector{cfg: cfg, log: f.log, queue: newBatchQueue(1<<20, nil), messages: map[string]*message{}}
	f.c.counters = func() (ack.Counters, bool) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.reads++
		return f.fbc, true
	}
	f.c.tracker = ack.NewCounting(ack.Counters{}, margin, time.Minute)
	f.c.Stats.AckLag = metrics.NewHistogram(AckBuckets)
	f.msg = &message{id: "m", state: stateDecoded, pending: n}
	for range n {
		if err := f.c.queue.put(context.Background(), batch{data: fill(100, 'x'), events: 10, msg: f.msg}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// engine plays Fluent Bit accepting a handover of records into its ring
// and counting it at once.
func (f *fakeEngine) engine(records uint64) {
	f.accept()
	f.count(records)
}

// accept plays Fluent Bit writing a handover to its ring buffer.
func (f *fakeEngine) accept() {
	f.mu.Lock()
	f.fbc.RingWrites++
	f.mu.Unlock()
}

// count plays Fluent Bit's engine counting records out of the ring.
func (f *fakeEngine) count(records uint64) {
	f.mu.Lock()
	f.fbc.Records += records
	f.mu.Unlock()
}

func (f *fakeEngine) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

// TestObserveReadsOnlyWhenItHelps checks when the deleter reads Fluent Bit's
// counters itself: not while Take and Handed keep a fresh reading, not when
// every handover is counted (the margin needs only the time), and only when
// a handover waits to be counted and the last reading is old. Each reading
// is a call into Fluent Bit; a backlog used to make twenty a second.
func TestObserveReadsOnlyWhenItHelps(t *testing.T) {
	const margin = time.Second
	f := newFakeEngine(t, margin, 1)
	c := f.c
	h := c.Take(1)
	if h == nil {
		t.Fatal("no handover")
	}
	f.accept()
	c.Handed(h)
	reads := f.readCount() // Take's and Handed's
	start := time.Now()

	// Uncounted, with Handed's reading fresh: no reading of its own.
	c.observeAcks(start)
	if got := f.readCount() - reads; got != 0 {
		t.Errorf("with a fresh reading, the deleter read %d times", got)
	}
	// Uncounted and the reading old: it reads, and sees the count.
	f.count(10)
	c.observeAcks(start.Add(readingFresh))
	if got := f.readCount() - reads; got != 1 {
		t.Errorf("uncounted with an old reading: %d readings, want 1", got)
	}
	if c.tracker.Outstanding() != 1 || c.tracker.Uncounted() {
		t.Fatalf("after the count: %d held, uncounted %v; want 1 held for the margin", c.tracker.Outstanding(), c.tracker.Uncounted())
	}
	// Counted, waiting for the margin: time alone releases it.
	c.observeAcks(start.Add(readingFresh + margin/2))
	c.observeAcks(start.Add(2*readingFresh + margin))
	if got := f.readCount() - reads; got != 1 {
		t.Errorf("while only the margin was left, the deleter read %d more times", got-1)
	}
	if n := c.tracker.Outstanding(); n != 0 || f.msg.state != stateAcked {
		t.Errorf("after the margin: %d held, message state %v", n, f.msg.state)
	}
	if len(f.log.lines) > 0 {
		t.Errorf("warnings: %s", strings.Join(f.log.lines, "; "))
	}
}
