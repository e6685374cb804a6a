// Package ack decides when Fluent Bit has the records the plugin handed over,
// so that the SQS message that named them may be deleted.
//
// A Go input hands records to Fluent Bit in a callback; Fluent Bit copies
// them into the instance's ring buffer (or drops them when the ring stays
// full), and its engine thread later appends each ring entry to a chunk:
// it adds the entry's records to fluentbit_input_records_total, runs the
// filters, and writes the chunk. The callback's return code says none of
// this. Fluent Bit's own per-instance counters do, and this package reads
// them (docs/reliability.md, "When a message is deleted"):
//
//   - ring_buffer_writes_total and ring_buffer_retry_failures_total, read
//     just before and just after one handover's append (nothing else
//     appended to the instance in between), tell exactly
//     whether that handover was accepted or dropped (Classify);
//   - records_total tells how far the engine has counted the accepted
//     handovers, in the order they were handed over (Tracker).
//
// Where the counters cannot be read, the Tracker runs on a timer instead.
package ack

import (
	"bytes"
	"strconv"
)

// Counters are one reading of an instance's counters.
type Counters struct {
	RingWrites   uint64 // fluentbit_input_ring_buffer_writes_total
	RingFailures uint64 // fluentbit_input_ring_buffer_retry_failures_total
	Records      uint64 // fluentbit_input_records_total
}

// The series read, as cmetrics' Prometheus encoder names them.
const (
	seriesWrites   = "fluentbit_input_ring_buffer_writes_total"
	seriesFailures = "fluentbit_input_ring_buffer_retry_failures_total"
	seriesRecords  = "fluentbit_input_records_total"
)

// ParsePrometheus reads the counters of the instance called name (its
// alias, or name.N) from the Prometheus text of its metrics context. ok is
// false unless all three series are there: Fluent Bit before 4.1 has no ring
// buffer counters, and then the plugin falls back to the timer.
func ParsePrometheus(text []byte, name string) (c Counters, ok bool) {
	var seen int
	for len(text) > 0 {
		line := text
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = nil
		}
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		metric, labels, value, good := splitSample(line)
		if !good || !onlyName(labels, name) {
			continue
		}
		var dst *uint64
		var bit int
		switch string(metric) {
		case seriesWrites:
			dst, bit = &c.RingWrites, 1
		case seriesFailures:
			dst, bit = &c.RingFailures, 2
		case seriesRecords:
			dst, bit = &c.Records, 4
		default:
			continue
		}
		f, err := strconv.ParseFloat(string(value), 64)
		if err != nil || f < 0 {
			continue
		}
		*dst = uint64(f)
		seen |= bit
	}
	return c, seen == 7
}

// splitSample splits `metric{labels} value [timestamp]`.
func splitSample(line []byte) (metric, labels, value []byte, ok bool) {
	i := bytes.IndexAny(line, "{ ")
	if i <= 0 {
		return nil, nil, nil, false
	}
	metric, rest := line[:i], line[i:]
	if rest[0] == '{' {
		j := closingBrace(rest)
		if j < 0 {
			return nil, nil, nil, false
		}
		labels, rest = rest[1:j], rest[j+1:]
	}
	fields := bytes.Fields(rest)
	if len(fields) == 0 {
		return nil, nil, nil, false
	}
	return metric, labels, fields[0], true
}

// closingBrace finds the '}' that ends a label set, skipping quoted values.
func closingBrace(s []byte) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch {
		case quoted && s[i] == '\\':
			i++
		case s[i] == '"':
			quoted = !quoted
		case !quoted && s[i] == '}':
			return i
		}
	}
	return -1
}

// onlyName reports whether a label set is exactly name="<name>".
func onlyName(labels []byte, name string) bool {
	const prefix = `name="`
	if !bytes.HasPrefix(labels, []byte(prefix)) {
		return false
	}
	v := labels[len(prefix):]
	v = bytes.TrimSuffix(bytes.TrimSuffix(v, []byte(",")), []byte(`"`))
	return string(v) == escapeLabel(name)
}

// escapeLabel escapes a label value as the Prometheus text format does.
func escapeLabel(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			b = append(b, '\\', '\\')
		case '"':
			b = append(b, '\\', '"')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, s[i])
		}
	}
	return string(b)
}

// Outcome is what became of one handover.
type Outcome int

const (
	// Accepted: the ring buffer took it; the engine will count it.
	Accepted Outcome = iota
	// Dropped: the ring stayed full for Fluent Bit's ten retries and the
	// records were freed. They must be handed over again.
	Dropped
	// Absorbed: neither counter moved. Fluent Bit wrote nothing to the
	// ring: processors on the input dropped every record (what the user
	// configured: nothing to wait for), or a processor failed or an
	// allocation did (the records must be handed over again). The caller
	// tells the two apart by handing the records over once more.
	Absorbed
)

func (o Outcome) String() string {
	switch o {
	case Accepted:
		return "accepted"
	case Dropped:
		return "dropped"
	default:
		return "absorbed"
	}
}

// Classify tells a handover's outcome from the counters read just before it
// and right after it, on the instance's own thread: only that thread writes
// to the instance's ring, so the difference is this handover's alone.
func Classify(before, after Counters) Outcome {
	switch {
	case after.RingFailures > before.RingFailures:
		return Dropped
	case after.RingWrites > before.RingWrites:
		return Accepted
	default:
		return Absorbed
	}
}
