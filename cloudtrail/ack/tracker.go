package ack

import "time"

// Done is a handover the Tracker no longer holds: Fluent Bit has it in a
// chunk (or, by delay, is taken to have it).
type Done struct {
	Token any
	// Lag is the time from the handover to the reading that showed it
	// counted; 0 in delay mode.
	Lag time.Duration
	// TimedOut is set when the count never covered the handover and
	// ack_timeout decided instead.
	TimedOut bool
	// Proven is set when a later handover was counted (so this one is in a
	// chunk for certain); otherwise the margin, Held, decided.
	Proven bool
	Held   time.Duration // from counted to released
}

// Tracker holds the handovers that Fluent Bit accepted but may not yet have
// in a chunk, oldest first, and says when each is safe to forget.
//
// With counters, the engine counts ring entries one after another, in the
// order they were handed over, each entry's records at once, before its
// filters run and its chunk is written. Let S(i) be the records of handovers
// 1..i and D the growth of records_total since the Tracker began. Then:
//
//   - handover i is counted once D > S(i-1): no earlier entries can add up to
//     more than S(i-1), so some of i was counted, and an entry is counted
//     whole. This stays true when processors shrink entries (they run
//     before the ring and Fluent Bit counts what is left), where D >= S(i)
//     would wait forever;
//   - handover i is in a chunk once D > S(i) (the engine has moved on to a
//     later entry, so i's filters and chunk write are done), or once the
//     margin has passed since it was seen counted (no later entry came to
//     prove it).
//
// The margin covers the filters, which run between the count and the chunk
// write. It is the configured floor, or twice the longest time the engine
// was seen spending on one of this input's entries, whichever is longer. That
// time shows when a handover waits in the ring longer than the engine's
// drain period (250 ms) needs: the engine was busy meanwhile, with the
// previous entry's filters or anything else (see counted). So a slow filter
// chain, or an engine starved of CPU, raises the margin by itself, and an
// idle pipeline without filters keeps the floor.
//
// When processors drop records, D falls behind S and the first rule may
// never fire for the last handovers. A handover still uncounted after
// timeout (while the input is not paused: paused, the engine leaves the
// ring alone) is taken as counted, and the shortfall is forgiven so later
// handovers are judged against what Fluent Bit really counts.
//
// Without counters (delay mode), handover i is forgotten margin after it was
// handed over: today's guess, kept where nothing better can be read.
//
// A Tracker is not safe for concurrent use.
type Tracker struct {
	counters bool
	margin   time.Duration
	timeout  time.Duration

	base    int64 // records_total when the Tracker began, less forgiven shortfalls
	handed  int64 // S: records of every accepted handover so far
	queue   []entry
	paused  bool
	surplus bool

	// lastCount is when the latest handover was seen counted; busy holds
	// the recent per-entry engine times measured from it.
	lastCount time.Time
	busy      [32]time.Duration
	busyNext  int
}

// drainPeriod is how often Fluent Bit's engine empties the input ring
// buffers (src/flb_engine.c, 250 ms).
const drainPeriod = 250 * time.Millisecond

// Margin is the wait after a handover was counted before it is taken as
// written, when no later handover proves it.
func (t *Tracker) Margin() time.Duration {
	m := t.margin
	if !t.counters {
		return m
	}
	for _, b := range t.busy {
		m = max(m, 2*b)
	}
	return min(m, t.timeout)
}

// counted marks e counted now and learns from how long it waited: an idle
// engine counts a handover within one drain period (plus the reading's
// tick), so a longer wait means the engine was busy, with the previous
// entry's filters or anything else, from the later of the previous count
// and this handover until now.
func (t *Tracker) counted(e *entry, now time.Time) {
	if now.Sub(e.handedAt) > 2*drainPeriod {
		t.busy[t.busyNext] = now.Sub(maxTime(t.lastCount, e.handedAt))
		t.busyNext = (t.busyNext + 1) % len(t.busy)
	}
	e.countedAt, t.lastCount = now, now
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

type entry struct {
	token     any
	before    int64 // S(i-1)
	after     int64 // S(i)
	handedAt  time.Time
	countedAt time.Time // zero until counted
	timedOut  bool
}

// NewCounting returns a Tracker that judges by records_total, starting from
// the reading start.
func NewCounting(start Counters, margin, timeout time.Duration) *Tracker {
	return &Tracker{counters: true, margin: margin, timeout: timeout, base: int64(start.Records)}
}

// NewDelay returns a Tracker that forgets a handover margin after it.
func NewDelay(margin time.Duration) *Tracker {
	return &Tracker{margin: margin}
}

// Counting reports whether the Tracker judges by counters.
func (t *Tracker) Counting() bool { return t.counters }

// Add records an accepted handover of records records.
func (t *Tracker) Add(token any, records int, now time.Time) {
	e := entry{token: token, before: t.handed, handedAt: now}
	t.handed += int64(records)
	e.after = t.handed
	t.queue = append(t.queue, e)
}

// Outstanding is the number of handovers held.
func (t *Tracker) Outstanding() int { return len(t.queue) }

// Uncounted reports whether a held handover has not been seen counted yet.
// Only then can a new reading of records_total change what Observe returns:
// a handover already counted is released by a later handover's count (which
// is itself uncounted until then) or by the margin, which is time alone.
func (t *Tracker) Uncounted() bool {
	// Handovers are counted in order: if the newest is counted, all are.
	return t.counters && len(t.queue) > 0 && t.queue[len(t.queue)-1].countedAt.IsZero()
}

// Pause stops the timeout clock: a paused input's ring is not drained.
func (t *Tracker) Pause() { t.paused = true }

// Resume restarts the timeout clock of every held handover.
func (t *Tracker) Resume(now time.Time) {
	t.paused = false
	for i := range t.queue {
		if t.queue[i].countedAt.IsZero() {
			t.queue[i].handedAt = now
		}
	}
}

// Surplus reports, once, that records_total grew beyond every record handed
// over: something (a processor that adds records) breaks the counting rules.
func (t *Tracker) Surplus() bool {
	s := t.surplus
	t.surplus = false
	return s
}

// Observe takes a reading of records_total (ignored in delay mode) and
// returns the handovers that are now safe to forget, oldest first.
func (t *Tracker) Observe(records uint64, now time.Time) []Done {
	var out []Done
	d := int64(records) - t.base
	if t.counters && d > t.handed {
		t.surplus = true
		t.base += d - t.handed // judge later handovers from here
		d = t.handed
	}
	if !t.counters {
		for len(t.queue) > 0 && now.Sub(t.queue[0].handedAt) >= t.margin {
			out = append(out, Done{Token: t.queue[0].token})
			t.queue = t.queue[1:]
		}
		return out
	}
	// First what the engine has counted, in order, so that the time each
	// handover was counted is known even while an earlier one waits.
counting:
	for i := range t.queue {
		e := &t.queue[i]
		if !e.countedAt.IsZero() {
			continue
		}
		switch {
		case d > e.before:
			t.counted(e, now)
		case !t.paused && now.Sub(e.handedAt) >= t.timeout:
			// Forgive the shortfall: from here on, records_total is
			// taken to cover everything up to this handover.
			t.base -= e.after - d
			d = e.after
			e.countedAt, e.timedOut, t.lastCount = now, true, now
		default:
			break counting
		}
	}
	// Then what is in a chunk, oldest first.
	margin := t.Margin()
	for len(t.queue) > 0 {
		e := &t.queue[0]
		if e.countedAt.IsZero() || (d <= e.after && now.Sub(e.countedAt) < margin && !e.timedOut) {
			break
		}
		out = append(out, Done{Token: e.token, Lag: e.countedAt.Sub(e.handedAt), TimedOut: e.timedOut, Proven: d > e.after, Held: now.Sub(e.countedAt)})
		t.queue = t.queue[1:]
	}
	return out
}

// Final settles the Tracker once Fluent Bit's engine has stopped: a handover
// counted by now was also written (the engine counts and writes an entry in
// one go), and one that is not counted never will be (Fluent Bit discards
// what is left in the ring at exit). ok are safe to forget, lost are not.
// final nil means no last reading could be taken: only handovers already
// seen counted are safe then. In delay mode a handover still waiting for its
// margin at exit is lost: the margin was all that said Fluent Bit had it, and
// measured on 3.2.10, SIGTERM with ack=delay, trusting them deleted 14
// messages of which only 1,600 of 2,800 records reached the output (Fluent
// Bit stops its outputs before it calls the input's exit).
func (t *Tracker) Final(final *Counters) (ok []Done, lost []any) {
	if !t.counters {
		for _, e := range t.queue {
			lost = append(lost, e.token)
		}
		t.queue = nil
		return nil, lost
	}
	d := int64(-1)
	if final != nil {
		d = int64(final.Records) - t.base
	}
	for _, e := range t.queue {
		if !e.countedAt.IsZero() || (final != nil && d > e.before) {
			ok = append(ok, Done{Token: e.token, Lag: max(0, e.countedAt.Sub(e.handedAt)), TimedOut: e.timedOut})
		} else {
			lost = append(lost, e.token)
		}
	}
	t.queue = nil
	return ok, lost
}
