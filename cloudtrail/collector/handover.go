package collector

import (
	"time"
)

// Handover is the set of batches one callback gave to Fluent Bit. Pass it to
// Handed once Fluent Bit has taken the bytes.
type Handover struct {
	batches []batch
}

// Chunks returns the encoded entries to copy, in order.
func (h *Handover) Chunks() [][]byte {
	out := make([][]byte, len(h.batches))
	for i, b := range h.batches {
		out[i] = b.data
	}
	return out
}

// Size is the total number of bytes.
func (h *Handover) Size() int {
	n := 0
	for _, b := range h.batches {
		n += len(b.data)
	}
	return n
}

// Events is the number of records.
func (h *Handover) Events() int {
	n := 0
	for _, b := range h.batches {
		n += b.events
	}
	return n
}

// Take returns up to max bytes of records for one callback, or nil when
// there are none or the input is paused or stopping.
func (c *Collector) Take(max int) *Handover {
	c.mu.Lock()
	gate := c.paused || c.stopping
	c.mu.Unlock()
	if gate {
		return nil
	}
	bs := c.queue.take(max)
	if len(bs) == 0 {
		return nil
	}
	return &Handover{batches: bs}
}

// Requeue gives back the batches of a handover that could not be passed to
// Fluent Bit, so the next callback hands them over instead.
func (c *Collector) Requeue(h *Handover) {
	if h != nil {
		c.queue.requeue(h.batches)
		h.batches = nil
	}
}

// Handed records that Fluent Bit has taken the records of h. A message whose
// records have now all been handed over becomes due for deletion.
func (c *Collector) Handed(h *Handover) {
	if h == nil {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, b := range h.batches {
		if i == 0 {
			if t, ok := entryTime(b.data); ok {
				c.Stats.EventLag.Observe(now.Sub(t).Seconds())
			}
		}
		c.Stats.Records.Add(int64(b.events))
		m := b.msg
		m.pending--
		if m.state == stateDecoded && m.pending == 0 {
			m.state = stateHanded
			m.deleteAt = now.Add(c.cfg.DeleteDelay)
		}
	}
	h.batches = nil
}
