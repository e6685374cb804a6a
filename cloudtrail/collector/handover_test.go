package collector

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestUntakeHandsTheSameRecordsAgain plays a stop that takes back a
// handover Fluent Bit never appended (the plugin's goroutine had published
// it; the instance's thread had not run): the records must come back whole
// and in order, nothing may count as handed, the deleter must no longer wait
// for it, and the message must still be acknowledged once the records are
// handed over and counted.
func TestUntakeHandsTheSameRecordsAgain(t *testing.T) {
	f := newFakeEngine(t, 0, 2)
	c := f.c
	h := c.Take(1 << 20)
	if h == nil || h.Events() != 20 {
		t.Fatalf("first take: %v", h)
	}
	data := bytes.Clone(h.Data())
	c.ackMu.Lock()
	busy := c.handing(time.Now())
	c.ackMu.Unlock()
	if !busy {
		t.Fatal("a taken handover is not in progress for the deleter")
	}

	c.Untake(h)
	c.ackMu.Lock()
	busy = c.handing(time.Now())
	c.ackMu.Unlock()
	if busy {
		t.Error("after Untake the deleter still waits for the handover")
	}
	if c.tracker.Outstanding() != 0 || c.Stats.Records.Load() != 0 {
		t.Errorf("after Untake: %d handovers held, %d records counted as handed; want none", c.tracker.Outstanding(), c.Stats.Records.Load())
	}

	again := c.Take(1 << 20)
	if again == nil || again.Events() != 20 || !bytes.Equal(again.Data(), data) {
		t.Fatalf("second take: %v, want the same 20 records", again)
	}
	f.engine(20)
	c.Handed(again)
	c.observeAcks(time.Now())
	if n := c.tracker.Outstanding(); n != 0 || f.msg.state != stateAcked {
		t.Errorf("after the count: %d held, message state %v", n, f.msg.state)
	}
	if len(f.log.lines) > 0 {
		t.Errorf("warnings: %s", strings.Join(f.log.lines, "; "))
	}
}
