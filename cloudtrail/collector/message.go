package collector

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/decode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/notify"
)

type msgState int

const (
	stateReceived msgState = iota // objects not all decoded
	stateDecoded                  // all objects decoded, records not all handed over
	stateAcked                    // Fluent Bit has every record (package ack); delete is due at deleteAt
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

// failReason classifies a failed message for the metrics.
func failReason(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "internal error"):
		return "internal"
	case strings.Contains(msg, "integrity:"):
		return "integrity"
	case strings.Contains(msg, "download:") || strings.Contains(msg, "max_object_size"):
		return "download"
	case errors.Is(err, decode.ErrLimit):
		return "limit"
	default:
		return "decode"
	}
}
