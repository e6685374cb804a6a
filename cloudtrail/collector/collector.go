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
	"io"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/decode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/metrics"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/notify"
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
	Limits     decode.Limits
	Log        Logger
}

// Collector is one input instance's pipeline.
type Collector struct {
	cfg    *config.Config
	sqs    SQSAPI
	s3     S3API
	log    Logger
	newEnc func() (record.Encoder, error)
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
}

type msgState int

const (
	stateReceived msgState = iota // objects not all decoded
	stateDecoded                  // all objects decoded, records not all handed over
	stateHanded                   // every record handed over; delete is due at deleteAt
	stateFailed                   // an object failed; the message goes back to SQS
)

// message tracks one SQS message from receive to delete or release.
type message struct {
	id        string
	receipt   string
	receives  int // ApproximateReceiveCount
	objects   []notify.Object
	remaining int // objects not yet decoded
	pending   int // batches queued or taken but not yet handed over
	started   bool
	state     msgState
	deleteAt  time.Time
	ctx       context.Context
	cancel    context.CancelFunc
}

type job struct {
	msg *message
	obj notify.Object
}

// New builds a collector. It makes no AWS call; Start begins the work.
func New(o Options) (*Collector, error) {
	if o.Config == nil || o.SQS == nil || o.S3 == nil || o.NewEncoder == nil || o.Log == nil {
		return nil, errors.New("collector: incomplete options")
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Collector{
		cfg:      o.Config,
		sqs:      o.SQS,
		s3:       o.S3,
		log:      o.Log,
		newEnc:   o.NewEncoder,
		limits:   o.Limits,
		queue:    newBatchQueue(o.Config.BufferMaxSize),
		jobs:     make(chan job),
		ctx:      ctx,
		cancel:   cancel,
		messages: make(map[string]*message),
		wake:     make(chan struct{}, 1),
	}, nil
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
}

// Resume undoes Pause.
func (c *Collector) Resume() {
	c.mu.Lock()
	c.paused = false
	c.mu.Unlock()
	c.poke()
}

// Paused reports whether the input is paused.
func (c *Collector) Paused() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paused
}

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

// capacity is how many more messages may be started now.
func (c *Collector) capacity() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.paused || c.stopping {
		return 0
	}
	return c.cfg.Workers - c.active
}

func (c *Collector) poller() {
	var backoff time.Duration
	for c.ctx.Err() == nil {
		n := min(c.capacity(), c.cfg.MaxMessages)
		if n <= 0 {
			select {
			case <-c.wake:
			case <-time.After(time.Second):
			case <-c.ctx.Done():
			}
			continue
		}
		out, err := c.sqs.ReceiveMessage(c.ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(c.cfg.QueueURL),
			MaxNumberOfMessages:         int32(n),
			WaitTimeSeconds:             int32(c.cfg.WaitTime / time.Second),
			VisibilityTimeout:           int32(c.cfg.VisibilityTimeout / time.Second),
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount, sqstypes.MessageSystemAttributeNameSentTimestamp},
		})
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			backoff = nextBackoff(backoff)
			// The text is the same for every retry so that the logger can
			// group a burst of identical errors into one line and a count.
			c.Stats.Errors.Add("receive", 1)
			c.log.Errorf("queue %s: receive failed, retrying with backoff: %v", c.cfg.QueueURL, err)
			sleep(c.ctx, jitter(backoff))
			continue
		}
		backoff = 0
		for i := range out.Messages {
			c.accept(&out.Messages[i])
		}
	}
}

// accept registers a received message and queues its objects, or settles it
// at once when it names none.
func (c *Collector) accept(m *sqstypes.Message) {
	c.Stats.MessagesReceived.Add(1)
	if ms, err := strconv.ParseInt(m.Attributes[string(sqstypes.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
		c.Stats.MessageLag.Observe(time.Since(time.UnixMilli(ms)).Seconds())
	}
	id, receipt := aws.ToString(m.MessageId), aws.ToString(m.ReceiptHandle)
	receives, _ := strconv.Atoi(m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)])
	msg := &message{id: id, receipt: receipt, receives: receives}
	res, err := notify.Parse([]byte(aws.ToString(m.Body)))
	if err != nil {
		c.Stats.MessagesFailed.Add(1)
		c.Stats.FailedBy.Add("notification", 1)
		c.Stats.Errors.Add("notification", 1)
		c.log.Errorf("queue %s: message %s: cannot be processed, leaving it to the queue's redrive policy: %v", c.cfg.QueueURL, id, err)
		c.release(msg, failDelay(receives, c.cfg.VisibilityTimeout))
		return
	}
	for _, ig := range res.Ignored {
		c.Stats.Ignored.Add(1)
		c.Stats.IgnoredBy.Add(ig.Reason, 1)
		if ig.Key != "" {
			c.log.Debugf("queue %s: message %s: ignored s3://%s/%s: %s", c.cfg.QueueURL, id, ig.Bucket, ig.Key, ig.Reason)
		} else {
			c.log.Debugf("queue %s: message %s: ignored: %s", c.cfg.QueueURL, id, ig.Reason)
		}
	}
	for _, o := range res.Objects {
		if reason := c.refuse(o); reason != "" {
			c.Stats.MessagesFailed.Add(1)
			c.Stats.FailedBy.Add("refused", 1)
			c.log.Errorf("queue %s: message %s: refused s3://%s/%s: %s; leaving the message to the queue's redrive policy", c.cfg.QueueURL, id, o.Bucket, o.Key, reason)
			c.release(msg, failDelay(receives, c.cfg.VisibilityTimeout))
			return
		}
	}
	if len(res.Objects) == 0 {
		c.deleteNow([]*message{msg})
		return
	}
	msg.objects = res.Objects
	msg.remaining = len(res.Objects)
	msg.ctx, msg.cancel = context.WithCancel(c.ctx)
	c.mu.Lock()
	if old, dup := c.messages[id]; dup {
		// SQS delivered the same message again while we still work on it
		// (its visibility ran out). Keep working on the first copy but use
		// the newest receipt handle, which is the only valid one now.
		old.receipt = receipt
		c.mu.Unlock()
		return
	}
	c.messages[id] = msg
	c.active++
	c.mu.Unlock()
	c.wg.Add(1)
	go c.feed(msg)
}

// refuse returns why an object must not be read, or "".
func (c *Collector) refuse(o notify.Object) string {
	if len(c.cfg.BucketAllow) > 0 {
		ok := false
		for _, b := range c.cfg.BucketAllow {
			ok = ok || b == o.Bucket
		}
		if !ok {
			return "bucket not in bucket_allowlist"
		}
	}
	if c.cfg.MaxObjectSize > 0 && o.Size > c.cfg.MaxObjectSize {
		return fmt.Sprintf("object size %d exceeds max_object_size %d", o.Size, c.cfg.MaxObjectSize)
	}
	return ""
}

// feed hands a message's objects to the workers one at a time.
func (c *Collector) feed(m *message) {
	defer c.wg.Done()
	for _, o := range m.objects {
		select {
		case c.jobs <- job{msg: m, obj: o}:
		case <-m.ctx.Done():
			return
		}
	}
}

func (c *Collector) worker() {
	defer c.wg.Done()
	var dec *decode.Decoder
	for {
		select {
		case j := <-c.jobs:
			if dec == nil {
				enc, err := c.newEnc()
				if err != nil {
					c.fail(j.msg, fmt.Errorf("schema %s: %w", c.cfg.Schema, err))
					continue
				}
				dec = decode.New(enc, c.limits)
			}
			if !c.safeProcess(dec, j) {
				dec = nil // its state is unknown after a panic: build a new one
			}
		case <-c.ctx.Done():
			return
		}
	}
}

// safeProcess runs process and turns a panic into a failed message, so that
// one hostile object cannot take Fluent Bit down.
func (c *Collector) safeProcess(dec *decode.Decoder, j job) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			ok = false
			c.log.Errorf("queue %s: internal error on s3://%s/%s: %v\n%s", c.cfg.QueueURL, j.obj.Bucket, j.obj.Key, r, debug.Stack())
			c.fail(j.msg, fmt.Errorf("s3://%s/%s: internal error: %v", j.obj.Bucket, j.obj.Key, r))
		}
	}()
	c.Stats.ObjectsInFlight.Add(1)
	defer c.Stats.ObjectsInFlight.Add(-1)
	c.process(dec, j)
	return true
}

// failReason classifies a failed message for the metrics.
func failReason(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "internal error"):
		return "internal"
	case strings.Contains(msg, "download:") || strings.Contains(msg, "max_object_size"):
		return "download"
	case errors.Is(err, decode.ErrLimit):
		return "limit"
	default:
		return "decode"
	}
}

// batchBytes is the size of the batches workers produce: small enough that a
// callback can take a few of them, large enough to amortize the bookkeeping.
func (c *Collector) batchBytes() int {
	return max(64<<10, min(1<<20, c.cfg.BufferMaxSize/8))
}

func (c *Collector) process(dec *decode.Decoder, j job) {
	m := j.msg
	c.mu.Lock()
	if m.state == stateFailed || m.ctx.Err() != nil {
		c.mu.Unlock()
		return
	}
	m.started = true
	c.mu.Unlock()

	src := &record.Source{QueueURL: c.cfg.QueueURL, MessageID: m.id, Bucket: j.obj.Bucket, Key: j.obj.Key, Received: time.Now()}
	stats, err := c.fetch(m.ctx, dec, src, m)
	c.Stats.BytesCompressed.Add(stats.CompressedBytes)
	c.Stats.BytesRaw.Add(stats.UncompressedBytes)
	if err != nil {
		c.Stats.ObjectsFailed.Add(1)
		if m.ctx.Err() != nil && c.ctx.Err() != nil {
			return // stopping: Stop releases the message
		}
		c.fail(m, fmt.Errorf("s3://%s/%s: %w", j.obj.Bucket, j.obj.Key, err))
		return
	}
	c.Stats.Objects.Add(1)
	if stats.Skipped > 0 && stats.Events == 0 {
		c.log.Infof("queue %s: message %s: s3://%s/%s holds no CloudTrail events (digest file), skipped", c.cfg.QueueURL, m.id, j.obj.Bucket, j.obj.Key)
	}
	c.mu.Lock()
	m.remaining--
	if m.remaining == 0 && m.state == stateReceived {
		m.state = stateDecoded
		c.active--
		if m.pending == 0 {
			m.state = stateHanded
			m.deleteAt = time.Now().Add(c.cfg.DeleteDelay)
		}
		c.poke()
	}
	c.mu.Unlock()
}

func (c *Collector) fetch(ctx context.Context, dec *decode.Decoder, src *record.Source, m *message) (decode.Stats, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(src.Bucket), Key: aws.String(src.Key)}
	if c.cfg.BucketOwner != "" {
		in.ExpectedBucketOwner = aws.String(c.cfg.BucketOwner)
	}
	out, err := c.s3.GetObject(ctx, in)
	if err != nil {
		return decode.Stats{}, fmt.Errorf("download: %w", err)
	}
	defer out.Body.Close()
	body := io.Reader(out.Body)
	if lim := c.cfg.MaxObjectSize; lim > 0 {
		if n := aws.ToInt64(out.ContentLength); n > lim {
			return decode.Stats{}, fmt.Errorf("object size %d exceeds max_object_size %d", n, lim)
		}
		body = &limitReader{r: body, n: lim}
	}
	return dec.Decode(body, src, c.batchBytes(), func(b []byte, events int) error {
		c.mu.Lock()
		m.pending++
		c.mu.Unlock()
		if err := c.queue.put(ctx, batch{data: b, events: events, msg: m}); err != nil {
			c.mu.Lock()
			m.pending--
			c.mu.Unlock()
			return err
		}
		return nil
	})
}

// fail gives a message back to SQS after a delay that grows with the
// number of receives, so a broken object is retried a few times and then
// dead-lettered by the queue's redrive policy rather than hammered.
func (c *Collector) fail(m *message, err error) {
	c.mu.Lock()
	if m.state == stateFailed {
		c.mu.Unlock()
		return
	}
	if m.state == stateReceived {
		c.active--
	}
	m.state = stateFailed
	m.cancel()
	delete(c.messages, m.id)
	c.mu.Unlock()
	c.poke()
	c.Stats.MessagesFailed.Add(1)
	reason := failReason(err)
	c.Stats.FailedBy.Add(reason, 1)
	c.Stats.Errors.Add(reason, 1)
	delay := failDelay(m.receives, c.cfg.VisibilityTimeout)
	c.log.Errorf("queue %s: message %s: %v; the message returns to the queue in %s (receive %d)", c.cfg.QueueURL, m.id, err, delay, m.receives)
	c.release(m, delay)
}

// release sets a message's visibility so SQS delivers it again after delay.
func (c *Collector) release(m *message, delay time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(c.cfg.QueueURL),
		ReceiptHandle:     aws.String(m.receipt),
		VisibilityTimeout: int32(delay / time.Second),
	})
	if err != nil {
		c.log.Warnf("queue %s: message %s: could not change visibility (it returns when its visibility timeout ends): %v", c.cfg.QueueURL, m.id, err)
		return
	}
	c.Stats.MessagesReleased.Add(1)
}

func failDelay(receives int, ceiling time.Duration) time.Duration {
	d := 10 * time.Second
	for i := 1; i < receives && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// heartbeat extends the visibility of every message still being worked on,
// every half visibility timeout, so a slow download or a paused Fluent Bit
// does not let SQS hand the message to another replica.
func (c *Collector) heartbeat() {
	every := max(c.cfg.VisibilityTimeout/2, 500*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		c.mu.Lock()
		var live []*message
		for _, m := range c.messages {
			if m.state != stateFailed {
				live = append(live, m)
			}
		}
		c.mu.Unlock()
		for _, m := range live {
			ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
			c.mu.Lock()
			receipt := m.receipt
			c.mu.Unlock()
			_, err := c.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl:          aws.String(c.cfg.QueueURL),
				ReceiptHandle:     aws.String(receipt),
				VisibilityTimeout: int32(c.cfg.VisibilityTimeout / time.Second),
			})
			cancel()
			if err != nil {
				if c.ctx.Err() == nil {
					c.Stats.Errors.Add("visibility", 1)
					c.log.Warnf("queue %s: message %s: could not extend visibility: %v", c.cfg.QueueURL, m.id, err)
				}
				continue
			}
			c.Stats.Extensions.Add(1)
		}
	}
}

// deleter deletes messages whose records were all handed over once their
// delete delay has passed, in batches of up to ten.
func (c *Collector) deleter() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		c.deleteNow(c.due(time.Now()))
	}
}

// due removes and returns the messages whose delete time has come.
func (c *Collector) due(now time.Time) []*message {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*message
	for id, m := range c.messages {
		if m.state == stateHanded && !now.Before(m.deleteAt) {
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

// Stop ends the collector within the deadline of ctx: it receives nothing
// more, deletes the messages whose records were all handed over, and gives
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
	c.queue.drain()

	c.mu.Lock()
	var handed, release []*message
	for id, m := range c.messages {
		delete(c.messages, id)
		switch m.state {
		case stateHanded:
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
		c.log.Infof("queue %s: stopped: deleted %d handed-over messages, returned %d unfinished messages to the queue", c.cfg.QueueURL, len(handed), len(release))
	}
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

func nextBackoff(d time.Duration) time.Duration {
	if d == 0 {
		d = 500 * time.Millisecond
	} else {
		d = min(d*2, 30*time.Second)
	}
	return d
}

// jitter returns a random duration between d/2 and d: replicas that failed
// together do not retry together, and the backoff still doubles each time.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// limitReader fails, rather than truncating silently, when an object is
// larger than allowed.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("object exceeds max_object_size")
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, fmt.Errorf("object exceeds max_object_size")
	}
	return n, err
}
