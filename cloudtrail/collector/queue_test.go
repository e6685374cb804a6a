package collector

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/ack"
)

func fill(n int, c byte) []byte { return bytes.Repeat([]byte{c}, n) }

func TestQueueHandoverIsOneBlock(t *testing.T) {
	q := newBatchQueue(100, nil)
	ctx := context.Background()
	for i, c := range []byte("abc") {
		if err := q.put(ctx, batch{data: fill(30, c), events: i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	bs, data := q.take(70) // a and b fit, c does not
	if len(bs) != 2 || string(data) != string(fill(30, 'a'))+string(fill(30, 'b')) {
		t.Fatalf("took %d batches, block %q", len(bs), data)
	}
	if more, _ := q.take(100); more != nil {
		t.Fatal("a second handover started while one is in progress")
	}
	q.done()
	bs, data = q.take(100)
	if len(bs) != 1 || bs[0].events != 3 || string(data) != string(fill(30, 'c')) {
		t.Fatalf("after done: %d batches, block %q: the batch behind the handover must move to the front", len(bs), data)
	}
}

func TestQueueGiveBackKeepsOrderAndDropsRefused(t *testing.T) {
	q := newBatchQueue(100, nil)
	ctx := context.Background()
	for i, c := range []byte("abcd") {
		q.put(ctx, batch{data: fill(10+i, c), events: i})
	}
	if bs, _ := q.take(100); len(bs) != 4 {
		t.Fatalf("took %d batches", len(bs))
	}
	q.giveBack(func(b *batch) bool { b.dropped = true; return b.events != 1 })
	bs, data := q.take(100)
	want := string(fill(10, 'a')) + string(fill(12, 'c')) + string(fill(13, 'd'))
	if string(data) != want || len(bs) != 3 || !bs[0].dropped || !bs[2].dropped {
		t.Fatalf("given back: block %q (%d batches), want %q, marked dropped", data, len(bs), want)
	}
}

func TestQueueWaitsForRoomAndHandover(t *testing.T) {
	q := newBatchQueue(50, nil)
	ctx := context.Background()
	q.put(ctx, batch{data: fill(40, 'a')})
	q.take(50)
	put := make(chan error, 1)
	go func() { put <- q.put(ctx, batch{data: fill(5, 'b')}) }() // fits, but a handover is reading
	select {
	case err := <-put:
		t.Fatalf("put during a handover returned %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	q.done()
	if err := <-put; err != nil {
		t.Fatal(err)
	}
	if _, data := q.take(50); string(data) != "bbbbb" {
		t.Fatalf("block %q", data)
	}
}

func TestQueueOversizeBatchAndClose(t *testing.T) {
	q := newBatchQueue(10, nil)
	ctx := context.Background()
	if err := q.put(ctx, batch{data: fill(25, 'x')}); err != nil { // one huge event into an empty queue
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	go func() { blocked <- q.put(ctx, batch{data: fill(1, 'y')}) }()
	if _, data := q.take(10); len(data) != 25 {
		t.Fatalf("oversize batch handed as %d bytes", len(data))
	}
	q.close()
	if err := <-blocked; err == nil {
		t.Fatal("put waiting at close succeeded")
	}
	if bs, _ := q.take(10); bs != nil {
		t.Fatal("take after close")
	}
}

// pace holds a handover back while records_total has not grown since the
// previous one, and no longer than maxPace.
func TestPaceWaitsForTheCount(t *testing.T) {
	var c Collector
	if c.pace(ack.Counters{Records: 5}) {
		t.Fatal("paced with no handover in the ring")
	}
	c.inRing, c.inRingAt = true, 100
	if !c.pace(ack.Counters{Records: 100}) {
		t.Fatal("handed over while the previous handover was uncounted")
	}
	if c.pace(ack.Counters{Records: 101}) {
		t.Fatal("paced after the previous handover was counted")
	}
	c.inRing, c.inRingAt = true, 200
	c.pace(ack.Counters{Records: 200})
	c.pacedSince = c.pacedSince.Add(-maxPace)
	if c.pace(ack.Counters{Records: 200}) {
		t.Fatalf("paced for longer than %s", maxPace)
	}
	if n := c.Stats.Paced.Load(); n != 2 {
		t.Fatalf("paced metric %d, want 2", n)
	}
}
