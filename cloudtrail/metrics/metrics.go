// Package metrics holds the collector's counters, gauges and histograms and
// renders them in the Prometheus text exposition format. It is small on
// purpose: a handful of lock-free types, no registry library, because the
// plugin is loaded into Fluent Bit and must not drag a metrics framework in.
package metrics

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Counter is a monotonically increasing count.
type Counter struct{ v atomic.Int64 }

// Add adds n.
func (c *Counter) Add(n int64) { c.v.Add(n) }

// Load returns the count.
func (c *Counter) Load() int64 { return c.v.Load() }

// LabeledCounter is a family of counters told apart by one label value,
// such as a failure reason.
type LabeledCounter struct {
	mu sync.Mutex
	m  map[string]*atomic.Int64
}

// Add adds n to the counter for label.
func (l *LabeledCounter) Add(label string, n int64) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*atomic.Int64{}
	}
	c := l.m[label]
	if c == nil {
		c = new(atomic.Int64)
		l.m[label] = c
	}
	l.mu.Unlock()
	c.Add(n)
}

// Snapshot returns the counts by label.
func (l *LabeledCounter) Snapshot() map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int64, len(l.m))
	for k, v := range l.m {
		out[k] = v.Load()
	}
	return out
}

// Total returns the sum over all labels.
func (l *LabeledCounter) Total() int64 {
	var n int64
	for _, v := range l.Snapshot() {
		n += v
	}
	return n
}

// LagBuckets are the upper bounds, in seconds, of the lag histograms: from
// a second (live trail) to a week (backfill).
var LagBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400, 604800}

// Histogram counts observations into fixed buckets.
type Histogram struct {
	once    sync.Once
	bounds  []float64
	counts  []atomic.Int64 // per bucket, plus +Inf
	count   atomic.Int64
	sumBits atomic.Uint64
}

// NewHistogram returns a histogram with the given upper bounds.
func NewHistogram(bounds []float64) *Histogram {
	h := &Histogram{}
	h.init(bounds)
	return h
}

func (h *Histogram) init(bounds []float64) {
	h.once.Do(func() {
		h.bounds = bounds
		h.counts = make([]atomic.Int64, len(bounds)+1)
	})
}

// Observe records one value.
func (h *Histogram) Observe(v float64) {
	h.init(LagBuckets)
	i := sort.SearchFloat64s(h.bounds, v)
	h.counts[i].Add(1)
	h.count.Add(1)
	for {
		old := h.sumBits.Load()
		if h.sumBits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// Count returns the number of observations.
func (h *Histogram) Count() int64 { return h.count.Load() }

// Quantile estimates the q-quantile as the upper bound of the bucket that
// holds it; good enough for a log line.
func (h *Histogram) Quantile(q float64) float64 {
	h.init(LagBuckets)
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	target := int64(math.Ceil(q * float64(n)))
	var seen int64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= target {
			if i < len(h.bounds) {
				return h.bounds[i]
			}
			return math.Inf(1)
		}
	}
	return math.Inf(1)
}

// Writer renders metrics in the Prometheus text format. Each family's HELP
// and TYPE lines are written once, before its first sample, so several
// instances can be rendered one after another.
type Writer struct {
	w    io.Writer
	seen map[string]bool
	err  error
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w, seen: map[string]bool{}} }

// Err returns the first write error.
func (w *Writer) Err() error { return w.err }

func (w *Writer) printf(format string, args ...any) {
	if w.err == nil {
		_, w.err = fmt.Fprintf(w.w, format, args...)
	}
}

func (w *Writer) header(name, typ, help string) {
	if !w.seen[name] {
		w.seen[name] = true
		w.printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
}

// Labels is an ordered list of label name/value pairs.
type Labels [][2]string

func (l Labels) with(k, v string) Labels {
	return append(append(Labels(nil), l...), [2]string{k, v})
}

func (l Labels) String() string {
	if len(l) == 0 {
		return ""
	}
	parts := make([]string, len(l))
	for i, kv := range l {
		parts[i] = kv[0] + "=" + strconv.Quote(kv[1])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// Counter writes one counter sample.
func (w *Writer) Counter(name, help string, labels Labels, v int64) {
	w.header(name, "counter", help)
	w.printf("%s%s %d\n", name, labels, v)
}

// Gauge writes one gauge sample.
func (w *Writer) Gauge(name, help string, labels Labels, v float64) {
	w.header(name, "gauge", help)
	w.printf("%s%s %s\n", name, labels, strconv.FormatFloat(v, 'g', -1, 64))
}

// Labeled writes one sample per label value of c under label key.
func (w *Writer) Labeled(name, help string, labels Labels, key string, c *LabeledCounter) {
	w.header(name, "counter", help)
	snap := c.Snapshot()
	keys := make([]string, 0, len(snap))
	for k := range snap {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w.printf("%s%s %d\n", name, labels.with(key, k), snap[k])
	}
}

// Histogram writes a histogram.
func (w *Writer) Histogram(name, help string, labels Labels, h *Histogram) {
	h.init(LagBuckets)
	w.header(name, "histogram", help)
	var cum int64
	for i, b := range h.bounds {
		cum += h.counts[i].Load()
		w.printf("%s_bucket%s %d\n", name, labels.with("le", strconv.FormatFloat(b, 'g', -1, 64)), cum)
	}
	cum += h.counts[len(h.bounds)].Load()
	w.printf("%s_bucket%s %d\n", name, labels.with("le", "+Inf"), cum)
	w.printf("%s_sum%s %s\n", name, labels, strconv.FormatFloat(math.Float64frombits(h.sumBits.Load()), 'g', -1, 64))
	w.printf("%s_count%s %d\n", name, labels, h.count.Load())
}
