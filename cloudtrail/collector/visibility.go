package collector

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// heartbeat extends the visibility of every message still being worked on,
// every half visibility timeout, so a slow download or a paused Fluent Bit
// does not let SQS hand the message to another replica.
func (c *Collector) heartbeat() {
	c.every(max(c.cfg.VisibilityTimeout/2, 500*time.Millisecond), c.extendAll)
}

// extendAll renews the visibility timeout of every live message.
func (c *Collector) extendAll() {
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
