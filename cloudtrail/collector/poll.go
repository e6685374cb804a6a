package collector

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/notify"
)

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
	res.Objects = append(res.Objects, c.digestObjects(res)...)
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
