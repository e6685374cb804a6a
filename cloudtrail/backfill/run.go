package backfill

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Runner lists the selected log files and enqueues notifications for them,
// or, in a dry run, only counts them.
type Runner struct {
	Sel Selection
	S3  S3API
	// Queue receives the notifications; nil for a dry run.
	Queue *Queue
	// PerMessage is the most objects named by one message (1 to
	// MaxPerMessage).
	PerMessage int
	// State, when set, is resumed from and saved after every batch.
	State *State
	// After skips every key up to and including it when there is no
	// State.
	After string
	// Ahead is how many selected objects the listing may find before they
	// are enqueued (default 100000): it lets the listing finish early, so
	// that the total and an ETA are known, with bounded memory.
	Ahead int
	// Now stamps the notifications (default time.Now).
	Now func() time.Time

	mu    sync.Mutex
	stats Stats
	tally Tally
}

// Stats is a run's progress.
type Stats struct {
	Started                 time.Time
	Listed, ListedBytes     int64 // selected objects found by this run's listing
	Enqueued, EnqueuedBytes int64 // objects enqueued by this run
	Messages                int64 // messages sent by this run
	// Earlier is what the runs before this one enqueued (resume).
	Earlier         State
	Skipped         map[string]int64 // keys of listed day folders not selected, by reason
	ListingDone     bool
	Day             string // the day folder being listed
	Waiting         bool   // the queue is full: waiting for the consumers
	Depth           int    // the queue's depth when last found full
	WaitedFor       time.Duration
	LastKey         string
	waitingSince    time.Time
	listingFinished time.Time
}

// Stats returns a copy of the progress so far.
func (r *Runner) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Skipped = make(map[string]int64, len(r.stats.Skipped))
	for k, v := range r.stats.Skipped {
		s.Skipped[k] = v
	}
	return s
}

// Tally returns the dry run's counts.
func (r *Runner) Tally() Tally {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tally.clone()
}

func (r *Runner) update(f func(s *Stats)) {
	r.mu.Lock()
	f(&r.stats)
	r.mu.Unlock()
}

// Run does the work. It returns nil when every selected object was
// enqueued (or counted), an error matching context.Canceled when ctx ended
// first, or the first AWS error; Stats says how far it got in every case.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.Sel.Validate(); err != nil {
		return err
	}
	if r.PerMessage < 1 || r.PerMessage > MaxPerMessage {
		return usagef("-per-message %d: must be between 1 and %d", r.PerMessage, MaxPerMessage)
	}
	now := r.Now
	if now == nil {
		now = time.Now
	}
	ahead := r.Ahead
	if ahead <= 0 {
		ahead = 100000
	}
	after := r.After
	r.update(func(s *Stats) {
		s.Started = time.Now()
		s.Skipped = map[string]int64{}
		if r.State != nil {
			s.Earlier = *r.State
			after = r.State.After
		}
	})
	r.tally = Tally{}
	if r.Queue != nil {
		wait := r.Queue.Waiting
		r.Queue.Waiting = func(depth int) {
			r.update(func(s *Stats) {
				if !s.Waiting {
					s.waitingSince = time.Now()
				}
				s.Waiting, s.Depth = true, depth
			})
			if wait != nil {
				wait(depth)
			}
		}
		defer func() { r.Queue.Waiting = wait }()
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	found := make(chan Object, ahead)
	var listErr error
	w := &Walker{
		S3: r.S3, Sel: &r.Sel, After: after,
		Skipped: func(_, reason string) { r.update(func(s *Stats) { s.Skipped[reason]++ }) },
		Day:     func(p string) { r.update(func(s *Stats) { s.Day = p }) },
	}
	go func() {
		defer close(found)
		listErr = w.Walk(ctx, func(o Object) error {
			r.update(func(s *Stats) { s.Listed++; s.ListedBytes += o.Size })
			select {
			case found <- o:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		r.update(func(s *Stats) { s.ListingDone, s.listingFinished = true, time.Now() })
	}()

	err := r.consume(ctx, found, now)
	if err != nil {
		cancel()
		for range found { // let the listing stop
		}
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if listErr != nil {
		return listErr
	}
	if r.State != nil {
		r.State.Done = true
		if err := r.State.Save(); err != nil {
			return err
		}
	}
	return nil
}

// consume packs the objects into messages and sends them in batches.
func (r *Runner) consume(ctx context.Context, found <-chan Object, now func() time.Time) error {
	var (
		pending []*message
		cur     *message
	)
	flush := func(all bool) error {
		for len(pending) >= batchSize || (all && len(pending) > 0) {
			n, err := r.Queue.Room(ctx, min(batchSize, len(pending)))
			if err != nil {
				return err
			}
			r.update(func(s *Stats) {
				if s.Waiting {
					s.WaitedFor += time.Since(s.waitingSince)
				}
				s.Waiting = false
			})
			bodies := make([]string, n)
			for i, m := range pending[:n] {
				bodies[i] = m.body()
			}
			sent, err := r.Queue.Send(ctx, bodies)
			if sent > 0 {
				if serr := r.sent(pending[:sent]); serr != nil {
					return serr
				}
			}
			pending = pending[sent:]
			if err != nil {
				return err
			}
		}
		return nil
	}
	for o := range found {
		if r.Queue == nil {
			r.mu.Lock()
			r.tally.add(o)
			r.mu.Unlock()
			continue
		}
		rec := record(r.Sel.Bucket, o, now())
		if cur != nil && !cur.fits(rec, r.PerMessage) {
			pending, cur = append(pending, cur), nil
			if err := flush(false); err != nil {
				return err
			}
		}
		if cur == nil {
			cur = &message{}
		}
		cur.add(o, rec)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if cur != nil {
		pending = append(pending, cur)
	}
	return flush(true)
}

// sent records messages the queue accepted, in order.
func (r *Runner) sent(msgs []*message) error {
	var objects, bytes int64
	for _, m := range msgs {
		objects += int64(len(m.objects))
		bytes += m.bytes()
	}
	last := msgs[len(msgs)-1].objects
	lastKey := last[len(last)-1].Key
	r.update(func(s *Stats) {
		s.Enqueued += objects
		s.EnqueuedBytes += bytes
		s.Messages += int64(len(msgs))
		s.LastKey = lastKey
	})
	if r.State == nil {
		return nil
	}
	r.State.After = lastKey
	r.State.Objects += objects
	r.State.Bytes += bytes
	r.State.Messages += int64(len(msgs))
	return r.State.Save()
}

// Interrupted reports whether a Run error means ctx ended (Ctrl-C), not a
// failure.
func Interrupted(err error) bool {
	return errors.Is(err, context.Canceled)
}
