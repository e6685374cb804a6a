// Package collector runs the SQS → S3 → records pipeline of one input
// instance: it long-polls the queue, downloads and decodes the objects each
// notification names on a pool of workers, holds the encoded records in a
// bounded queue until Fluent Bit takes them, and deletes a message only after
// every record of every object it names has been handed over.
//
// Fluent Bit drives the collector from one thread: Take in the 1 s input
// callback, Handed in the cleanup callback that follows it, Pause and Resume
// on backpressure, Stop at exit. Everything else runs on goroutines.
package collector

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/ack"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/decode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/integrity"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/metrics"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

// SQSAPI is the part of the SQS client the collector uses.
type SQSAPI interface {
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(context.Context, *sqs.DeleteMessageBatchInput, ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// S3API is the part of the S3 client the collector uses.
type S3API interface {
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Logger receives the collector's log lines. The plugin prints them through
// Fluent Bit so they honour log_level and look like Fluent Bit's own.
type Logger interface {
	Errorf(format string, args ...any)
	Warnf(format string, args ...any)
	Infof(format string, args ...any)
	Debugf(format string, args ...any)
}

// Options are what a Collector is built from.
type Options struct {
	Config *config.Config
	SQS    SQSAPI
	S3     S3API
	// NewEncoder returns a fresh encoder of the configured schema; each
	// worker owns one.
	NewEncoder func() (record.Encoder, error)
	// NewInflater returns an Inflater for one worker's decoder
	// (decode.Decoder.SetInflater); nil, or a nil result: gzip objects
	// stream through Go's reader.
	NewInflater func() decode.Inflater
	Limits      decode.Limits
	Log         Logger
	// Counters reads Fluent Bit's counters of this instance (package ack).
	// nil, a failed first reading or ack=delay in Config: the collector
	// acknowledges by delay.
	Counters func() (ack.Counters, bool)
	// AckWhy says why Counters is nil, for the start line.
	AckWhy string
	// CloudTrail returns the CloudTrail client of a region, for
	// cloudtrail:ListPublicKeys when integrity is on without
	// integrity_public_keys (integrity.go).
	CloudTrail func(region string) *cloudtrail.Client
	// Memory holds the queued records (queue.go); nil: the Go heap.
	Memory Memory
}

// Collector is one input instance's pipeline.
type Collector struct {
	cfg    *config.Config
	sqs    SQSAPI
	s3     S3API
	log    Logger
	newEnc func() (record.Encoder, error)
	newInf func() decode.Inflater
	limits decode.Limits

	queue *batchQueue
	jobs  chan job

	ctx    context.Context // cancelled by Stop: ends every goroutine
	cancel context.CancelFunc

	mu       sync.Mutex
	messages map[string]*message // in flight, by message ID
	active   int                 // messages whose objects are not all decoded
	paused   bool
	stopping bool
	wake     chan struct{} // poked when capacity frees or the input resumes

	wg      sync.WaitGroup
	started atomic.Bool

	counters     func() (ack.Counters, bool)
	readFailed   atomic.Bool
	countersGone atomic.Bool
	ackMu        sync.Mutex
	tracker      *ack.Tracker // guarded by ackMu; its mode never changes
	// handingSince (guarded by ackMu) is when the handover in progress
	// was taken, zero between handovers; handEnds counts the handovers
	// Handed. A reading of Fluent Bit's counters taken while a handover is
	// in progress may already count records the tracker has not been
	// given yet (observeAcks).
	handingSince time.Time
	handEnds     uint64
	// reading (guarded by ackMu) is the latest reading of Fluent Bit's
	// counters that the tracker may be given: one taken while no
	// handover was in progress, on the deleter's tick or around a
	// handover (Take, Handed). readAt is when.
	reading ack.Counters
	readAt  time.Time
	ackWhy  string

	integ *integrity.Checker // nil unless integrity is on (integrity.go)

	// Pacing (handover.go), touched only by the one caller of Take and
	// Handed (the plugin's handover goroutine, or Fluent Bit's thread for
	// the proxy's callback): whether the last handover was accepted with
	// counters, records_total just before it, and since when pace has been
	// holding the next one back.
	inRing     bool
	inRingAt   uint64
	pacedSince time.Time

	Stats Stats
}

// Stats are the collector's counters, read with atomic loads.
type Stats struct {
	MessagesReceived atomic.Int64
	MessagesDeleted  atomic.Int64
	MessagesReleased atomic.Int64
	MessagesFailed   atomic.Int64
	Ignored          atomic.Int64
	Objects          atomic.Int64
	ObjectsFailed    atomic.Int64
	BytesCompressed  atomic.Int64
	BytesRaw         atomic.Int64
	Records          atomic.Int64
	Extensions       atomic.Int64
	ObjectsInFlight  atomic.Int64

	FailedBy   metrics.LabeledCounter // messages given back to SQS, by reason
	IgnoredBy  metrics.LabeledCounter // notification records that named no object to read, by reason
	Errors     metrics.LabeledCounter // errors by class: receive, notification, download, decode, visibility, delete, internal
	EventLag   metrics.Histogram      // seconds from eventTime to handover, sampled on the first event of each batch
	MessageLag metrics.Histogram      // seconds from SQS SentTimestamp to receive

	Handovers      metrics.LabeledCounter // handovers by what Fluent Bit did: accepted, dropped, absorbed
	RecordsDropped atomic.Int64           // records in dropped handovers (each handed over again)
	Rehanded       atomic.Int64           // accepted handovers that carried records dropped before
	AckTimeouts    atomic.Int64           // handovers taken as stored after ack_timeout
	Paced          atomic.Int64           // ticks that handed nothing over because the previous handover was still in Fluent Bit's ring buffer
	AckLag         *metrics.Histogram     // seconds from handover to counted by Fluent Bit
}

// AckBuckets are the upper bounds, in seconds, of the acknowledgement lag:
// Fluent Bit's engine drains ring buffers every 250 ms.
var AckBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300}

// New builds a collector. It makes no AWS call; Start begins the work.
func New(o Options) (*Collector, error) {
	if o.Config == nil || o.SQS == nil || o.S3 == nil || o.NewEncoder == nil || o.Log == nil {
		return nil, errors.New("collector: incomplete options")
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Collector{
		cfg:      o.Config,
		sqs:      o.SQS,
		s3:       o.S3,
		log:      o.Log,
		newEnc:   o.NewEncoder,
		newInf:   o.NewInflater,
		limits:   o.Limits,
		queue:    newBatchQueue(o.Config.BufferMaxSize, o.Memory),
		jobs:     make(chan job),
		ctx:      ctx,
		cancel:   cancel,
		messages: make(map[string]*message),
		wake:     make(chan struct{}, 1),
		counters: o.Counters,
		ackWhy:   o.AckWhy,
	}
	c.Stats.AckLag = metrics.NewHistogram(AckBuckets)
	c.tracker = c.newTracker()
	integ, err := newChecker(o)
	if err != nil {
		cancel()
		return nil, err
	}
	c.integ = integ
	return c, nil
}

// newTracker picks the acknowledgement mode: Fluent Bit's counters when they
// can be read, else the delay.
func (c *Collector) newTracker() *ack.Tracker {
	switch {
	case c.cfg.Ack == "delay":
		c.ackWhy = "ack delay configured"
	case c.counters == nil:
	default:
		if start, ok := c.counters(); ok {
			return ack.NewCounting(start, c.cfg.DeleteMargin(true), c.cfg.AckTimeout)
		}
		c.ackWhy = "this Fluent Bit has no ring buffer counters for the instance (fluentbit_input_ring_buffer_writes_total, Fluent Bit 4.1 and later)"
	}
	c.counters = nil
	return ack.NewDelay(c.cfg.DeleteMargin(false))
}

// AckReason says why the collector acknowledges by delay ("" with counters).
func (c *Collector) AckReason() string {
	if c.Counting() {
		return ""
	}
	return c.ackWhy
}

// Start launches the poller, the workers, the visibility heartbeat and the
// deleter. It returns an error when an encoder cannot be built.
func (c *Collector) Start() error {
	if !c.started.CompareAndSwap(false, true) {
		return errors.New("collector: already started")
	}
	for i := 0; i < c.cfg.Workers; i++ {
		if _, err := c.newEnc(); err != nil {
			c.cancel()
			return fmt.Errorf("schema %s: %w", c.cfg.Schema, err)
		}
		c.wg.Add(1)
		go c.worker()
	}
	c.wg.Add(3)
	go c.forever("poller", c.poller)
	go c.forever("heartbeat", c.heartbeat)
	go c.forever("deleter", c.deleter)
	return nil
}

// forever runs loop until the collector stops, restarting it after a panic:
// a goroutine's panic would otherwise abort the whole Fluent Bit process.
func (c *Collector) forever(name string, loop func()) {
	defer c.wg.Done()
	for c.ctx.Err() == nil {
		func() {
			defer func() {
				if r := recover(); r != nil {
					c.log.Errorf("queue %s: internal error in %s, restarting it: %v\n%s", c.cfg.QueueURL, name, r, debug.Stack())
					sleep(c.ctx, time.Second)
				}
			}()
			loop()
		}()
	}
}

// every runs fn every period until the collector stops.
func (c *Collector) every(period time.Duration, fn func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

func (c *Collector) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Pause stops receiving new messages and handing over records; work already
// started goes on until the bounded queue is full.
func (c *Collector) Pause() {
	c.mu.Lock()
	c.paused = true
	c.mu.Unlock()
	c.ackMu.Lock()
	c.tracker.Pause()
	c.ackMu.Unlock()
}

// Resume undoes Pause.
func (c *Collector) Resume() {
	c.mu.Lock()
	c.paused = false
	c.mu.Unlock()
	c.ackMu.Lock()
	c.tracker.Resume(time.Now())
	c.ackMu.Unlock()
	c.poke()
}

// Paused reports whether the input is paused.
func (c *Collector) Paused() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paused
}

// capacity is how many more messages may be started now.
func (c *Collector) capacity() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.paused || c.stopping {
		return 0
	}
	return c.cfg.Workers - c.active
}

// InFlight returns the number of messages being worked on and the queued
// batches' count and bytes.
func (c *Collector) InFlight() (messages, batches, bytes int) {
	c.mu.Lock()
	messages = len(c.messages)
	c.mu.Unlock()
	batches, bytes = c.queue.size()
	return
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
