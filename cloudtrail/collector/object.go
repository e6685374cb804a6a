package collector

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/decode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/integrity"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/notify"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

type job struct {
	msg *message
	obj notify.Object
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
				dec.ReuseBatches() // put copies each batch into the queue
				if c.newInf != nil {
					if inf := c.newInf(); inf != nil {
						dec.SetInflater(inf)
					}
				}
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

// batchBytes is the size of the batches workers produce: large enough to
// amortize the bookkeeping, small because each worker keeps one on the Go
// heap and because a handover leaves unused the end of the buffer that the
// next batch did not fit into.
func (c *Collector) batchBytes() int {
	return max(64<<10, min(256<<10, c.cfg.BufferMaxSize/32))
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

	var stats decode.Stats
	var err error
	if c.isDigest(j.obj) {
		err = c.checkDigest(m.ctx, m, j.obj)
	} else {
		src := &record.Source{QueueURL: c.cfg.QueueURL, MessageID: m.id, Bucket: j.obj.Bucket, Key: j.obj.Key, Received: time.Now()}
		stats, err = c.fetch(m.ctx, dec, src, m)
		c.Stats.BytesCompressed.Add(stats.CompressedBytes)
		c.Stats.BytesRaw.Add(stats.UncompressedBytes)
	}
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
			m.state = stateAcked
			m.deleteAt = time.Now()
		}
		c.poke()
	}
	c.mu.Unlock()
}

func (c *Collector) fetch(ctx context.Context, dec *decode.Decoder, src *record.Source, m *message) (_ decode.Stats, err error) {
	in := &s3.GetObjectInput{Bucket: aws.String(src.Bucket), Key: aws.String(src.Key)}
	if c.cfg.BucketOwner != "" {
		in.ExpectedBucketOwner = aws.String(c.cfg.BucketOwner)
	}
	out, err := c.s3.GetObject(ctx, in)
	if err != nil {
		return decode.Stats{}, fmt.Errorf("download: %w", err)
	}
	defer out.Body.Close()
	// The ETag makes the ids of events without an eventID differ between
	// versions of an object at the same key (record.ID).
	src.ETag = aws.ToString(out.ETag)
	body := io.Reader(out.Body)
	if lim := c.cfg.MaxObjectSize; lim > 0 {
		if n := aws.ToInt64(out.ContentLength); n > lim {
			return decode.Stats{}, fmt.Errorf("object size %d exceeds max_object_size %d", n, lim)
		}
		body = &limitReader{r: body, n: lim}
	}
	if c.integ != nil {
		// Hash what is ingested, for the digest that will list it.
		h := integrity.NewHash()
		dec.Tee(h)
		defer func() {
			if err == nil {
				var sum [32]byte
				c.integ.Cache.PutFile(src.Bucket, src.Key, [32]byte(h.Sum(sum[:0])))
			}
		}()
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
