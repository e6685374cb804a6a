package collector

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

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
