package collector

import (
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/ack"
)

// Handover is the set of batches one tick (the plugin's handover goroutine,
// or the Go proxy's callback) gave to Fluent Bit. Pass it to Handed once
// Fluent Bit's append has returned, before anything else is appended to the
// instance (or to Untake if it was never appended).
type Handover struct {
	batches []batch
	data    []byte
	// before is Fluent Bit's counters read just before the handover (valid
	// when counted is set): Handed compares them with a reading after it.
	before  ack.Counters
	counted bool
}

// Data returns the encoded entries, in order, as one block of the
// collector's Memory. It stays valid and unchanged until Handed.
func (h *Handover) Data() []byte { return h.data }

// Size is the total number of bytes.
func (h *Handover) Size() int { return len(h.data) }

// Events is the number of records.
func (h *Handover) Events() int {
	n := 0
	for _, b := range h.batches {
		n += b.events
	}
	return n
}

// Take returns up to max bytes of records for one tick, or nil when
// there are none, the input is paused or stopping, or Fluent Bit has not yet
// taken the previous handover out of its ring buffer (pace).
func (c *Collector) Take(max int) *Handover {
	c.mu.Lock()
	gate := c.paused || c.stopping
	c.mu.Unlock()
	if gate {
		return nil
	}
	if n, _ := c.queue.size(); n == 0 {
		return nil
	}
	h := &Handover{}
	if c.Counting() {
		h.before, h.counted = c.readCounters()
		if h.counted {
			// Taken before the append, with every earlier handover
			// Handed: the deleter may use it (observeAcks).
			c.ackMu.Lock()
			c.noteReading(h.before, time.Now())
			c.ackMu.Unlock()
			if c.pace(h.before) {
				return nil
			}
		}
	}
	h.batches, h.data = c.queue.take(max)
	if len(h.batches) == 0 {
		return nil
	}
	c.ackMu.Lock()
	c.handingSince = time.Now()
	c.ackMu.Unlock()
	return h
}

// handing reports whether a handover was taken and not yet Handed, less
// than maxPace ago (a handover that never comes back, which Fluent Bit's
// callbacks do not allow, must not stop acknowledgements for good). The
// caller holds ackMu.
func (c *Collector) handing(now time.Time) bool {
	return !c.handingSince.IsZero() && now.Sub(c.handingSince) < maxPace
}

// maxPace bounds how long pace holds handovers back, in case the count
// never shows the previous one (ack_timeout's case).
const maxPace = 5 * time.Second

// pace reports whether this tick should hand nothing over because the
// previous handover is still in Fluent Bit's ring buffer: records_total has
// not grown since the counters were read for it. (Pacing keeps at most one
// handover in the ring, so any growth is that handover being counted, even
// when processors shrink it.) Handing over meanwhile would pile up copies of
// buffer_max_size in the ring while the engine is behind, which is where
// Fluent Bit's memory goes on a starved machine, and fill the ring towards
// the point where it drops handovers.
func (c *Collector) pace(cs ack.Counters) bool {
	if !c.inRing || cs.Records > c.inRingAt {
		c.inRing, c.pacedSince = false, time.Time{}
		return false
	}
	now := time.Now()
	if c.pacedSince.IsZero() {
		c.pacedSince = now
	}
	if now.Sub(c.pacedSince) >= maxPace {
		c.inRing, c.pacedSince = false, time.Time{}
		return false
	}
	c.Stats.Paced.Add(1)
	return true
}

// Handed is called once Fluent Bit has returned from appending h: it
// learns what became of the handover (package ack) and acts on it. A
// dropped handover goes back to the front of the queue, so the next callback
// hands the same records over again, in the same order; an accepted one
// waits in the tracker until Fluent Bit has it in a chunk.
func (c *Collector) Handed(h *Handover) {
	if h == nil || len(h.batches) == 0 {
		return
	}
	var after ack.Counters
	afterOK := false
	defer func() {
		c.ackMu.Lock()
		if afterOK {
			// The tracker has the handover by now (Add below), so
			// the reading after it may be given to the tracker.
			c.noteReading(after, time.Now())
		}
		c.handingSince = time.Time{}
		c.handEnds++
		c.ackMu.Unlock()
	}()
	outcome := ack.Accepted
	if h.counted {
		if after, afterOK = c.readCounters(); afterOK {
			outcome = ack.Classify(h.before, after)
		}
	}
	now := time.Now()
	c.Stats.Handovers.Add(outcome.String(), 1)
	switch outcome {
	case ack.Dropped:
		events := h.Events()
		c.Stats.RecordsDropped.Add(int64(events))
		c.log.Warnf("queue %s: Fluent Bit dropped a handover of %d records (its ring buffer stayed full: the engine is slower than the input); handing them over again", c.cfg.QueueURL, events)
		c.requeueDropped(now)
	case ack.Absorbed:
		// Neither ring counter moved: Fluent Bit wrote nothing to its
		// ring. Processors that drop every record do that, and so does a
		// processor error or a failed allocation in Fluent Bit. Hand the
		// records over once more to tell them apart: dropped again, they
		// were dropped on purpose.
		if absorbedBefore(h.batches) {
			c.queue.done()
			c.acked(h.batches, now)
			break
		}
		c.queue.giveBack(func(b *batch) bool { b.absorbed = true; return true })
	default:
		c.inRing, c.inRingAt = h.counted, h.before.Records
		if t, ok := entryTime(h.data); ok {
			c.Stats.EventLag.Observe(now.Sub(t).Seconds())
		}
		c.queue.done() // h.data is reused from here on
		rehanded := false
		for i, b := range h.batches {
			rehanded = rehanded || b.dropped
			c.Stats.Records.Add(int64(b.events))
			h.batches[i].data = nil
		}
		if rehanded {
			c.Stats.Rehanded.Add(1)
		}
		c.ackMu.Lock()
		c.tracker.Add(h.batches, h.Events(), now)
		c.ackMu.Unlock()
	}
	h.batches, h.data = nil, nil
}

// Untake puts back a handover that never reached Fluent Bit (taken back at
// a stop before its append): its records return to the front of the queue,
// as they were, and nothing is learned from it.
func (c *Collector) Untake(h *Handover) {
	if h == nil || len(h.batches) == 0 {
		return
	}
	c.queue.giveBack(nil)
	c.ackMu.Lock()
	c.handingSince = time.Time{}
	c.handEnds++
	c.ackMu.Unlock()
	h.batches, h.data = nil, nil
}

// absorbedBefore reports whether every batch was in a handover that Fluent
// Bit absorbed before.
func absorbedBefore(bs []batch) bool {
	for _, b := range bs {
		if !b.absorbed {
			return false
		}
	}
	return true
}

// requeueDropped leaves the batches of a dropped handover at the front of
// the queue, so that the next callback hands them over again in the same
// order, except those of messages that failed meanwhile: those return to
// SQS and are read again whole.
func (c *Collector) requeueDropped(now time.Time) {
	var gone []batch
	c.mu.Lock()
	c.queue.giveBack(func(b *batch) bool {
		if b.msg.state == stateFailed {
			gone = append(gone, batch{events: b.events, msg: b.msg})
			return false
		}
		b.dropped = true
		return true
	})
	c.mu.Unlock()
	c.acked(gone, now)
}
