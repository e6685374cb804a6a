package collector

import (
	"context"
	"sync"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/ack"
)

// Stop ends the collector within the deadline of ctx: it receives nothing
// more, settles the acknowledgements with a last reading of Fluent Bit's
// counters (Fluent Bit's engine has stopped by now: what it counted is in a
// chunk, what it did not count it discards), deletes the messages whose
// records Fluent Bit has, and gives
// every other message back to SQS at once (visibility 0) so that another
// replica, or this one after a restart, takes it without waiting.
func (c *Collector) Stop(ctx context.Context) {
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		return
	}
	c.stopping = true
	c.mu.Unlock()
	c.cancel()
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		c.log.Warnf("queue %s: workers did not stop in time", c.cfg.QueueURL)
	}
	c.queue.close() // no handover is in progress: the caller ended them (the plugin stops its handover goroutine first; the proxy's callback runs on the thread that calls Stop)

	var final *ack.Counters
	if c.Counting() {
		if cs, ok := c.readCounters(); ok {
			final = &cs
		}
	}
	c.ackMu.Lock()
	ok, lost := c.tracker.Final(final)
	c.ackMu.Unlock()
	c.settle(ok, time.Now())
	switch {
	case len(lost) == 0:
	case c.Counting():
		c.log.Infof("queue %s: %d handovers were not in Fluent Bit's chunks when it stopped (it discards its ring buffer at exit); their messages return to the queue", c.cfg.QueueURL, len(lost))
	default:
		// With ack=delay nothing says where these batches are; Fluent Bit
		// 3.2 does destroy its newest ones at a stop or a hot reload.
		c.log.Infof("queue %s: %d handovers were still inside the %s delete margin when Fluent Bit stopped (it discards its ring buffer at exit, 3.2 its newest chunks too); their messages return to the queue", c.cfg.QueueURL, len(lost), c.cfg.DeleteMargin(false))
	}

	c.mu.Lock()
	var handed, release []*message
	for id, m := range c.messages {
		delete(c.messages, id)
		switch m.state {
		case stateAcked:
			handed = append(handed, m)
		case stateFailed:
		default:
			release = append(release, m)
		}
	}
	c.mu.Unlock()
	// Settle the messages in parallel and wait no longer than ctx allows:
	// Fluent Bit waits for FLBPluginExit without a time limit, and an
	// unreachable SQS must not hold the whole process.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.deleteNow(handed) }()
	for _, m := range release {
		wg.Add(1)
		go func() { defer wg.Done(); c.release(m, 0) }()
	}
	settled := make(chan struct{})
	go func() { wg.Wait(); close(settled) }()
	select {
	case <-settled:
	case <-ctx.Done():
		c.log.Warnf("queue %s: stopping before SQS confirmed every delete and release; those messages return when their visibility timeout ends", c.cfg.QueueURL)
	}
	if len(handed)+len(release) > 0 {
		c.log.Infof("queue %s: stopped: deleted %d messages Fluent Bit has, returned %d unfinished messages to the queue", c.cfg.QueueURL, len(handed), len(release))
	}
}
