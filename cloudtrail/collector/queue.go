package collector

import (
	"context"
	"sync"
)

// batch is a run of encoded Fluent Bit entries from one object, waiting to
// be handed to Fluent Bit.
type batch struct {
	data   []byte
	events int
	msg    *message
	// dropped is set once Fluent Bit dropped a handover that carried the
	// batch, for the re-handed metric.
	dropped bool
	// absorbed is set once Fluent Bit wrote nothing of a handover that
	// carried the batch (see Handed).
	absorbed bool
}

// batchQueue is a FIFO of batches bounded by their total size. Workers block
// in put while it is full, which is how a paused or slow Fluent Bit slows
// down downloads instead of growing memory.
type batchQueue struct {
	mu    sync.Mutex
	items []batch
	bytes int
	max   int
	space chan struct{} // closed and replaced whenever space is freed
}

func newBatchQueue(max int) *batchQueue {
	return &batchQueue{max: max, space: make(chan struct{})}
}

// put appends b, waiting for room. A batch larger than the whole bound is
// accepted into an empty queue so that one huge event cannot wedge a worker.
func (q *batchQueue) put(ctx context.Context, b batch) error {
	for {
		q.mu.Lock()
		if q.bytes == 0 || q.bytes+len(b.data) <= q.max {
			q.items = append(q.items, b)
			q.bytes += len(b.data)
			q.mu.Unlock()
			return nil
		}
		ch := q.space
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// take removes batches from the front up to max bytes (at least one batch if
// any is queued) and returns them.
func (q *batchQueue) take(max int) []batch {
	q.mu.Lock()
	defer q.mu.Unlock()
	n, size := 0, 0
	for n < len(q.items) && (n == 0 || size+len(q.items[n].data) <= max) {
		size += len(q.items[n].data)
		n++
	}
	if n == 0 {
		return nil
	}
	out := make([]batch, n)
	copy(out, q.items)
	clear(q.items[:n])
	q.items = q.items[n:]
	q.bytes -= size
	close(q.space)
	q.space = make(chan struct{})
	return out
}

// requeue puts batches taken by take back at the front, in order.
func (q *batchQueue) requeue(bs []batch) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, b := range bs {
		n += len(b.data)
	}
	q.items = append(append(make([]batch, 0, len(bs)+len(q.items)), bs...), q.items...)
	q.bytes += n
}

// drain removes every queued batch; used at shutdown.
func (q *batchQueue) drain() []batch {
	return q.take(int(^uint(0) >> 1))
}

func (q *batchQueue) size() (int, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items), q.bytes
}
