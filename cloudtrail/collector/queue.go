package collector

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// batch is a run of encoded Fluent Bit entries from one object, waiting to
// be handed to Fluent Bit. While queued, data is a slice of the queue's
// buffer; once the batch leaves the queue its data is nil, because that
// memory is reused.
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

// Memory provides the buffer that queued records live in. The plugin gives
// memory from C's malloc: records are then written once, where Fluent Bit's
// callback reads them, instead of living on the Go heap (with the garbage
// collector's headroom on top) and being copied into a C buffer for each
// handover. Alloc returns n usable bytes, or nil when there are none; Free
// gets back what Alloc gave.
type Memory interface {
	Alloc(n int) []byte
	Free(b []byte)
}

// goMemory is the Memory of tests and tools: the Go heap.
type goMemory struct{}

func (goMemory) Alloc(n int) []byte { return make([]byte, n) }
func (goMemory) Free([]byte)        {}

var errQueueClosed = errors.New("record queue closed")

// batchQueue is a FIFO of batches stored back to back in one buffer of max
// bytes, so that a run of batches from the front is one contiguous block:
// the handover. Workers block in put while it is full, which is how a paused
// or slow Fluent Bit slows down downloads instead of growing memory.
//
// A handover is taken with take and ended with done (Fluent Bit has the
// bytes) or giveBack (it does not); in between, the block is being read by
// Fluent Bit, so put waits.
type batchQueue struct {
	mem    Memory
	mu     sync.Mutex
	buf    []byte // from mem, allocated at the first put
	items  []batch
	used   int
	max    int
	taken  int  // batches of the handover in progress, at the front
	busy   bool // a handover is in progress
	closed bool
	space  chan struct{} // closed and replaced whenever space is freed
}

func newBatchQueue(max int, mem Memory) *batchQueue {
	if mem == nil {
		mem = goMemory{}
	}
	return &batchQueue{max: max, mem: mem, space: make(chan struct{})}
}

// put copies b's entries to the end of the queue, waiting for room; the
// caller may reuse b.data afterwards. A batch larger than the whole bound
// (one huge event) is accepted into an empty queue, whose buffer then grows,
// so that it cannot wedge a worker.
func (q *batchQueue) put(ctx context.Context, b batch) error {
	n := len(b.data)
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return errQueueClosed
		}
		if !q.busy && (q.used == 0 || q.used+n <= q.max) {
			if q.used+n > len(q.buf) {
				q.mem.Free(q.buf)
				if q.buf = q.mem.Alloc(max(q.max, n)); q.buf == nil {
					q.mu.Unlock()
					return fmt.Errorf("cannot allocate %d bytes for records", max(q.max, n))
				}
			}
			b.data = q.buf[q.used : q.used+copy(q.buf[q.used:], b.data) : q.used+n]
			q.items = append(q.items, b)
			q.used += n
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

// take starts a handover of the batches at the front, up to max bytes (at
// least one batch if any is queued): it returns them and the block they
// fill, which stays valid and unchanged until done or giveBack. It returns
// nil while another handover is in progress.
func (q *batchQueue) take(max int) ([]batch, []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.busy || q.closed {
		return nil, nil
	}
	n, size := 0, 0
	for n < len(q.items) && (n == 0 || size+len(q.items[n].data) <= max) {
		size += len(q.items[n].data)
		n++
	}
	if n == 0 {
		return nil, nil
	}
	q.busy, q.taken = true, n
	out := make([]batch, n)
	copy(out, q.items)
	return out, q.buf[:size:size]
}

// done ends the handover in progress: its batches leave the queue and the
// batches queued behind them move to the front.
func (q *batchQueue) done() {
	q.end(func(*batch) bool { return false })
}

// giveBack ends the handover in progress without removing its batches, so
// that the next take hands them over again, except those keep refuses
// (nil: keep all).
func (q *batchQueue) giveBack(keep func(*batch) bool) {
	if keep == nil {
		keep = func(*batch) bool { return true }
	}
	q.end(keep)
}

// end ends the handover in progress, keeping those of its batches for which
// keep is true, and every batch queued behind it.
func (q *batchQueue) end(keep func(*batch) bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.busy {
		return
	}
	n := q.taken
	q.busy, q.taken = false, 0
	q.compact(func(i int) bool { return i >= n || keep(&q.items[i]) })
}

// compact keeps the batches for which keep(index) is true, moving their
// bytes to the front of the buffer in order, and signals the freed space.
// q.mu is held.
func (q *batchQueue) compact(keep func(int) bool) {
	w, used := 0, 0
	for i := range q.items {
		if !keep(i) {
			continue
		}
		b := q.items[i]
		n := copy(q.buf[used:], b.data) // copy is memmove: regions may overlap
		b.data = q.buf[used : used+n : used+n]
		q.items[w] = b
		used += n
		w++
	}
	clear(q.items[w:])
	q.items = q.items[:w]
	q.used = used
	close(q.space)
	q.space = make(chan struct{})
}

// close removes every queued batch, makes put and take fail from now on and
// frees the buffer; used at shutdown, once no handover can be in progress.
func (q *batchQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.closed = true
	clear(q.items)
	q.items, q.used, q.busy = nil, 0, false
	q.mem.Free(q.buf)
	q.buf = nil
	close(q.space)
}

func (q *batchQueue) size() (int, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items), q.used
}
