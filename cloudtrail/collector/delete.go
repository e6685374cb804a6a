package collector

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/ack"
)

// When a message is deleted.
//
// A message is deleted only when Fluent Bit has every record of every object
// it names. Its batches are counted in message.pending from the moment a
// worker queues them; a batch leaves that count only through acked, which
// runs when the ack.Tracker says Fluent Bit has the handover that carried it
// in a chunk (ack=counters), or delete_delay after the handover (ack=delay),
// or when Fluent Bit's processors dropped the whole handover on purpose.
// Handed (handover.go) feeds the tracker; the deleter below asks it every
// tick. A message whose objects are all decoded and whose pending count is
// zero is due; the deleter deletes it with DeleteMessageBatch.
//
// What is not acknowledged is never deleted: a failed message goes back to
// SQS (message.go), and at stop (stop.go) every message with a batch still
// unacknowledged is released for another replica to read again.

// deleter acknowledges what the tracker lets go and deletes the messages
// that became due, in batches of up to ten.
func (c *Collector) deleter() {
	c.every(deleteTick, func() {
		c.observeAcks(time.Now())
		c.deleteNow(c.due(time.Now()))
	})
}

// Counting reports whether acknowledgements come from Fluent Bit's counters.
func (c *Collector) Counting() bool {
	return c.tracker.Counting()
}

// AckMode is "counters" or "delay", for the start line and the metrics.
func (c *Collector) AckMode() string {
	if c.Counting() {
		return "counters"
	}
	return "delay"
}

// readCounters reads Fluent Bit's counters; a failed reading is logged once
// and leaves the tracker to its timeout.
func (c *Collector) readCounters() (ack.Counters, bool) {
	if c.countersGone.Load() {
		return ack.Counters{}, false
	}
	cs, ok := c.counters()
	if !ok && c.readFailed.CompareAndSwap(false, true) {
		c.log.Warnf("queue %s: could not read Fluent Bit's counters for this instance; acknowledgements wait for ack_timeout", c.cfg.QueueURL)
	}
	return cs, ok
}

// AckMargin is the delete margin in use (package ack: configured or learned).
func (c *Collector) AckMargin() time.Duration {
	c.ackMu.Lock()
	defer c.ackMu.Unlock()
	return c.tracker.Margin()
}

// CountersGone tells the collector that Fluent Bit's counters must not be
// read any more (the instance's metrics context is being destroyed):
// handovers not yet seen counted are then released at Stop, never deleted.
func (c *Collector) CountersGone() { c.countersGone.Store(true) }

// observeAcks gives the tracker a reading and acknowledges what it lets go.
//
// The reading is the one Take or Handed took around a handover when it
// is fresh (younger than readingFresh): while records flow, the deleter
// reads nothing itself. It reads when a handover waits to be counted and no
// fresh reading exists; with nothing uncounted, the tracker only needs the
// time, for its margin. Every reading is a call into Fluent Bit that walks
// the instance's metrics, and each such call also wakes the Go runtime's
// monitor thread, which then polls at its shortest period for a while: a
// cost per reading, not per event, that a backlog pays many times a second.
//
// A reading is only given when no handover was in progress from before it
// was taken until the tracker gets it: between Fluent Bit's append and
// Handed, the engine may already have counted records the tracker does not
// know of yet, and the tracker would take them for a surplus (records
// added by a processor) and judge later handovers short. The next tick
// reads again. (Take and Handed note theirs when that holds: before the
// append, and after the tracker has the handover.)
func (c *Collector) observeAcks(now time.Time) {
	c.ackMu.Lock()
	n, ends, busy := c.tracker.Outstanding(), c.handEnds, c.handing(now)
	read := c.tracker.Uncounted() && now.Sub(c.readAt) >= readingFresh
	records := c.reading.Records
	c.ackMu.Unlock()
	if n == 0 || (read && busy) {
		return
	}
	if read {
		cs, ok := c.readCounters()
		if !ok {
			return
		}
		records = cs.Records
	}
	c.ackMu.Lock()
	if read && (c.handEnds != ends || c.handing(now)) {
		c.ackMu.Unlock()
		return
	}
	if read {
		c.noteReading(ack.Counters{Records: records}, now)
	}
	done := c.tracker.Observe(records, now)
	surplus := c.tracker.Surplus()
	c.ackMu.Unlock()
	if surplus {
		c.log.Warnf("queue %s: Fluent Bit counted more records for this input than it was handed (a processor that adds records?); acknowledgements may come early", c.cfg.QueueURL)
	}
	c.settle(done, now)
}

// readingFresh is how old a reading taken around a handover may be for the
// deleter to use it instead of reading: two of its ticks.
const readingFresh = 2 * deleteTick

// deleteTick is the deleter's period.
const deleteTick = 50 * time.Millisecond

// noteReading keeps cs as the reading the deleter may give the tracker. The
// caller holds ackMu, and no handover may have been in progress since cs
// was read. Only records_total is kept: the ring counters are read for one
// handover, by Take and Handed.
func (c *Collector) noteReading(cs ack.Counters, at time.Time) {
	if cs.Records >= c.reading.Records {
		c.reading, c.readAt = ack.Counters{Records: cs.Records}, at
	}
}

// settle acknowledges the batches of handovers the tracker let go.
func (c *Collector) settle(done []ack.Done, now time.Time) {
	for _, d := range done {
		if c.Counting() {
			c.Stats.AckLag.Observe(d.Lag.Seconds())
		}
		if c.Counting() {
			proof := "margin"
			if d.Proven {
				proof = "a later handover counted"
			}
			c.log.Debugf("queue %s: handover of %d batches in a chunk: counted %s after the handover, released %s later (%s)", c.cfg.QueueURL, len(d.Token.([]batch)), d.Lag.Round(time.Millisecond), d.Held.Round(time.Millisecond), proof)
		}
		if d.TimedOut {
			c.Stats.AckTimeouts.Add(1)
			c.log.Warnf("queue %s: Fluent Bit's record count did not cover a handover within ack_timeout %s (a processor that drops records?); taking it as stored", c.cfg.QueueURL, c.cfg.AckTimeout)
		}
		c.acked(d.Token.([]batch), now)
	}
}

// acked takes batches out of their messages' pending counts; a message whose
// objects are all decoded and whose records are all acknowledged is due.
func (c *Collector) acked(bs []batch, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range bs {
		m := b.msg
		m.pending--
		if m.state == stateDecoded && m.pending == 0 {
			m.state = stateAcked
			m.deleteAt = now
		}
	}
}

// due removes and returns the messages whose delete time has come.
func (c *Collector) due(now time.Time) []*message {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*message
	for id, m := range c.messages {
		if m.state == stateAcked && !now.Before(m.deleteAt) {
			out = append(out, m)
			delete(c.messages, id)
		}
	}
	return out
}

func (c *Collector) deleteNow(ms []*message) {
	for len(ms) > 0 {
		n := min(len(ms), 10)
		part := ms[:n]
		ms = ms[n:]
		entries := make([]sqstypes.DeleteMessageBatchRequestEntry, len(part))
		for i, m := range part {
			entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(m.receipt)}
		}
		var err error
		var out *sqs.DeleteMessageBatchOutput
		for attempt, wait := 0, 200*time.Millisecond; attempt < 3; attempt, wait = attempt+1, wait*2 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			out, err = c.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(c.cfg.QueueURL), Entries: entries})
			cancel()
			if err == nil {
				break
			}
			time.Sleep(wait)
		}
		if err != nil {
			c.Stats.Errors.Add("delete", int64(len(part)))
			c.log.Errorf("queue %s: could not delete %d messages, SQS will deliver them again (duplicates, no loss): %v", c.cfg.QueueURL, len(part), err)
			continue
		}
		c.Stats.MessagesDeleted.Add(int64(len(out.Successful)))
		for _, f := range out.Failed {
			i, _ := strconv.Atoi(aws.ToString(f.Id))
			id := "?"
			if i >= 0 && i < len(part) {
				id = part[i].id
			}
			c.log.Errorf("queue %s: message %s: delete failed, SQS will deliver it again (duplicates, no loss): %s: %s", c.cfg.QueueURL, id, aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
}
