package ack

import (
	"fmt"
	"testing"
	"time"
)

// promText is shaped like cmetrics' Prometheus encoding of one input
// instance's context in Fluent Bit 5.1.1 (other series trimmed).
func promText(name string, writes, failures, records int) string {
	return fmt.Sprintf(`# HELP fluentbit_input_bytes_total Number of input bytes.
# TYPE fluentbit_input_bytes_total counter
fluentbit_input_bytes_total{name="%[1]s"} 123456
# HELP fluentbit_input_records_total Number of input records.
# TYPE fluentbit_input_records_total counter
fluentbit_input_records_total{name="%[1]s"} %[4]d
fluentbit_input_records_total{name="%[1]s-other"} 999
# HELP fluentbit_input_ring_buffer_writes_total Number of ring buffer writes.
# TYPE fluentbit_input_ring_buffer_writes_total counter
fluentbit_input_ring_buffer_writes_total{name="%[1]s"} %[2]d
# HELP fluentbit_input_ring_buffer_retries_total Number of ring buffer retries.
# TYPE fluentbit_input_ring_buffer_retries_total counter
fluentbit_input_ring_buffer_retries_total{name="%[1]s"} 40
# HELP fluentbit_input_ring_buffer_retry_failures_total Number of ring buffer retry failures.
# TYPE fluentbit_input_ring_buffer_retry_failures_total counter
fluentbit_input_ring_buffer_retry_failures_total{name="%[1]s"} %[3]d
`, name, writes, failures, records)
}

func TestParsePrometheus(t *testing.T) {
	c, ok := ParsePrometheus([]byte(promText("cloudtrail.1", 7, 2, 1234567)), "cloudtrail.1")
	if !ok || c != (Counters{RingWrites: 7, RingFailures: 2, Records: 1234567}) {
		t.Fatalf("got %+v ok=%v", c, ok)
	}
	// An alias with characters the text format escapes.
	c, ok = ParsePrometheus([]byte(promText(`a\"b`, 1, 0, 5)), `a"b`)
	if !ok || c.Records != 5 {
		t.Fatalf("escaped alias: got %+v ok=%v", c, ok)
	}
	// Another instance's name, or a Fluent Bit without the ring series.
	if _, ok := ParsePrometheus([]byte(promText("cloudtrail.1", 7, 2, 1)), "cloudtrail.0"); ok {
		t.Fatal("matched another instance")
	}
	if _, ok := ParsePrometheus([]byte("fluentbit_input_records_total{name=\"x\"} 3\n"), "x"); ok {
		t.Fatal("ok without the ring buffer series")
	}
	// Large counters are printed in exponent form by some encoders.
	c, ok = ParsePrometheus([]byte(promText("x", 1, 0, 0)+"fluentbit_input_records_total{name=\"x\"} 1.5e+07 1733280000000\n"), "x")
	if !ok || c.Records != 15000000 {
		t.Fatalf("exponent/timestamp: got %+v ok=%v", c, ok)
	}
}

func TestClassify(t *testing.T) {
	b := Counters{RingWrites: 3, RingFailures: 1, Records: 10}
	for _, tc := range []struct {
		after Counters
		want  Outcome
	}{
		{Counters{RingWrites: 4, RingFailures: 1, Records: 10}, Accepted},
		{Counters{RingWrites: 3, RingFailures: 2, Records: 10}, Dropped},
		{Counters{RingWrites: 3, RingFailures: 1, Records: 20}, Absorbed}, // the engine counted earlier entries meanwhile
	} {
		if got := Classify(b, tc.after); got != tc.want {
			t.Errorf("Classify(%+v) = %v, want %v", tc.after, got, tc.want)
		}
	}
}

var t0 = time.Unix(1_800_000_000, 0)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func tokens(ds []Done) []any {
	var out []any
	for _, d := range ds {
		out = append(out, d.Token)
	}
	return out
}

func expect(t *testing.T, what string, got []Done, want ...any) {
	t.Helper()
	g := tokens(got)
	if fmt.Sprintf("%v", g) != fmt.Sprintf("%v", want) {
		t.Fatalf("%s: released %v, want %v", what, g, want)
	}
}

// Without processors records_total covers handovers exactly, in order; a
// handover is released once a later one is counted, or margin after it was
// counted itself.
func TestTrackerExactCounts(t *testing.T) {
	tr := NewCounting(Counters{Records: 100}, time.Second, 30*time.Second)
	tr.Add("a", 10, at(0))
	tr.Add("b", 20, at(100))
	expect(t, "nothing counted", tr.Observe(100, at(100)))
	// The engine counted a and is in a's filters: a waits for the margin.
	expect(t, "a counted", tr.Observe(110, at(250)))
	// b counted: the engine finished a.
	expect(t, "b counted", tr.Observe(130, at(500)), "a")
	expect(t, "before margin", tr.Observe(130, at(1400)))
	expect(t, "after margin", tr.Observe(130, at(1500)), "b")
	// c counted, then a later reading after its margin.
	tr.Add("c", 5, at(2400))
	expect(t, "c counted", tr.Observe(135, at(2600)))
	expect(t, "c", tr.Observe(135, at(3600)), "c")
	if tr.Outstanding() != 0 {
		t.Fatal("entries left")
	}
}

// A slow filter: handovers queue up in the ring while the engine spends
// 2 s on each. The margin grows to twice the time the engine was seen busy
// (2 s), so the last handover is not taken as written while its filters may
// still run.
func TestTrackerLearnsSlowFilters(t *testing.T) {
	tr := NewCounting(Counters{}, 250*time.Millisecond, time.Minute)
	for i, name := range []string{"a", "b", "c", "d"} {
		tr.Add(name, 10, at(i*1000))
	}
	expect(t, "a counted", tr.Observe(10, at(200)))
	expect(t, "b counted at 2.2 s", tr.Observe(20, at(2200)), "a")
	expect(t, "c counted at 4.2 s", tr.Observe(30, at(4200)), "b")
	if m := tr.Margin(); m != 4*time.Second {
		t.Fatalf("margin %s, want 4s (2 x 2 s per entry)", m)
	}
	expect(t, "d counted at 6.2 s", tr.Observe(40, at(6200)), "c")
	expect(t, "d before the learned margin", tr.Observe(40, at(10_100)))
	expect(t, "d after it", tr.Observe(40, at(10_200)), "d")
}

// Records counted by the engine for ring entries handed over before the
// tracker's first reading do not acknowledge anything.
func TestTrackerCountsOnlyAfterStart(t *testing.T) {
	tr := NewCounting(Counters{Records: 50}, 0, time.Minute)
	tr.Add("a", 10, at(0))
	expect(t, "start value", tr.Observe(50, at(10)))
	expect(t, "counted", tr.Observe(60, at(20)), "a")
}

// A processor that drops records makes every entry smaller than handed
// over: D > S(i-1) still proves i counted, and ack_timeout ends the tail.
func TestTrackerProcessorShortfall(t *testing.T) {
	tr := NewCounting(Counters{}, time.Second, 30*time.Second)
	tr.Add("a", 10, at(0)) // processor keeps 6
	tr.Add("b", 10, at(0)) // keeps 6
	tr.Add("c", 10, at(0)) // keeps 1
	expect(t, "a counted only", tr.Observe(6, at(300)))
	// D=12 > S(1)=10: b counted, so a is done.
	expect(t, "b counted", tr.Observe(12, at(600)), "a")
	expect(t, "b margin", tr.Observe(12, at(1600)), "b")
	// D=13 never exceeds S(2)=20: c is uncounted until the timeout.
	expect(t, "c before timeout", tr.Observe(13, at(29_000)))
	got := tr.Observe(13, at(30_000))
	expect(t, "c timeout", got, "c")
	if !got[0].TimedOut {
		t.Fatal("not marked timed out")
	}
	// The shortfall is forgiven: the next handover counts from 13.
	tr.Add("d", 4, at(30_000))
	expect(t, "d counted", tr.Observe(17, at(30_100)))
	expect(t, "d margin", tr.Observe(17, at(31_100)), "d")
}

// While Fluent Bit has paused the input its ring is not drained: the
// timeout must not release what is still there.
func TestTrackerPauseStopsTimeout(t *testing.T) {
	tr := NewCounting(Counters{}, time.Second, 30*time.Second)
	tr.Add("a", 10, at(0))
	tr.Pause()
	expect(t, "paused", tr.Observe(0, at(120_000)))
	tr.Resume(at(120_000))
	expect(t, "just resumed", tr.Observe(0, at(149_000)))
	expect(t, "timeout after resume", tr.Observe(0, at(150_000)), "a")
}

func TestTrackerSurplus(t *testing.T) {
	tr := NewCounting(Counters{}, 0, time.Minute)
	tr.Add("a", 10, at(0))
	expect(t, "surplus", tr.Observe(25, at(10)), "a")
	if !tr.Surplus() || tr.Surplus() {
		t.Fatal("surplus not reported exactly once")
	}
	tr.Add("b", 10, at(20))
	expect(t, "after surplus", tr.Observe(25, at(30)))
	expect(t, "b", tr.Observe(35, at(40)), "b")
}

// At exit what was counted is in a chunk; what was not is discarded.
func TestTrackerFinal(t *testing.T) {
	tr := NewCounting(Counters{}, time.Minute, time.Minute)
	tr.Add("a", 10, at(0))
	tr.Add("b", 10, at(0))
	tr.Add("c", 10, at(0))
	tr.Observe(10, at(100)) // a counted, waiting for its margin
	ok, lost := tr.Final(&Counters{Records: 20})
	if fmt.Sprint(tokens(ok)) != "[a b]" || fmt.Sprint(lost) != "[c]" {
		t.Fatalf("final: ok %v lost %v", tokens(ok), lost)
	}
	// No last reading: only what was seen counted.
	tr = NewCounting(Counters{}, time.Minute, time.Minute)
	tr.Add("a", 10, at(0))
	tr.Add("b", 10, at(0))
	tr.Observe(10, at(100))
	ok, lost = tr.Final(nil)
	if fmt.Sprint(tokens(ok)) != "[a]" || fmt.Sprint(lost) != "[b]" {
		t.Fatalf("final without reading: ok %v lost %v", tokens(ok), lost)
	}
}

func TestTrackerDelay(t *testing.T) {
	tr := NewDelay(5 * time.Second)
	tr.Add("a", 10, at(0))
	tr.Add("b", 10, at(1000))
	expect(t, "early", tr.Observe(0, at(4999)))
	expect(t, "a", tr.Observe(0, at(5000)), "a")
	expect(t, "b", tr.Observe(0, at(6000)), "b")
	tr.Add("c", 1, at(7000))
	ok, lost := tr.Final(nil)
	if len(ok) != 0 || len(lost) != 1 {
		t.Fatalf("delay final: a handover within its margin at exit must return to the queue: ok %v lost %v", ok, lost)
	}
}
