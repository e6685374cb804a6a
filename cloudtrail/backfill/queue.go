package backfill

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQSAPI is the part of the SQS client the backfill uses.
type SQSAPI interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// batchSize is SendMessageBatch's limit.
const batchSize = 10

// Queue sends notifications to one queue without letting it grow beyond
// MaxQueued messages, so that a backfill neither buries live notifications
// nor outruns the consumers: it only adds messages when the consumers have
// taken earlier ones.
type Queue struct {
	SQS SQSAPI
	URL string
	// MaxQueued bounds the messages visible plus in flight (0: no bound).
	MaxQueued int
	// Poll is how often the depth is read again while the queue is full.
	Poll time.Duration
	// Waiting, when set, is called each time the queue is found full, with
	// its depth.
	Waiting func(depth int)
}

// Depth returns the messages visible plus in flight (plus delayed).
func (q *Queue) Depth(ctx context.Context) (int, error) {
	out, err := q.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(q.URL),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return 0, fmt.Errorf("queue %s: depth (sqs:GetQueueAttributes): %w", q.URL, err)
	}
	n := 0
	for _, v := range out.Attributes {
		i, _ := strconv.Atoi(v)
		n += i
	}
	return n, nil
}

// Room waits until the queue can take at least one more message and returns
// how many of want it can take now.
func (q *Queue) Room(ctx context.Context, want int) (int, error) {
	if q.MaxQueued <= 0 {
		return want, nil
	}
	for {
		depth, err := q.Depth(ctx)
		if err != nil {
			return 0, err
		}
		if room := q.MaxQueued - depth; room > 0 {
			return min(room, want), nil
		}
		if q.Waiting != nil {
			q.Waiting(depth)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(q.Poll):
		}
	}
}

// Send sends up to ten bodies in one SendMessageBatch, sending again the
// entries SQS failed for a reason of its own (throttling, an internal
// error). It returns how many leading bodies are in the queue; after an
// error some later ones may be too.
func (q *Queue) Send(ctx context.Context, bodies []string) (int, error) {
	done := make([]bool, len(bodies))
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return leading(done), ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 250 * time.Millisecond):
			}
		}
		in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL)}
		for i, b := range bodies {
			if !done[i] {
				in.Entries = append(in.Entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b)})
			}
		}
		if len(in.Entries) == 0 {
			break
		}
		out, err := q.SQS.SendMessageBatch(ctx, in)
		if err != nil {
			return leading(done), fmt.Errorf("queue %s: sqs:SendMessageBatch: %w", q.URL, err)
		}
		for _, s := range out.Successful {
			if i, err := strconv.Atoi(aws.ToString(s.Id)); err == nil && i < len(done) {
				done[i] = true
			}
		}
		lastErr = nil
		for _, f := range out.Failed {
			lastErr = fmt.Errorf("queue %s: sqs:SendMessageBatch entry failed: %s: %s", q.URL, aws.ToString(f.Code), aws.ToString(f.Message))
			if f.SenderFault {
				return leading(done), lastErr // the same body fails again
			}
		}
	}
	if n := leading(done); n < len(bodies) {
		if lastErr == nil {
			lastErr = fmt.Errorf("queue %s: sqs:SendMessageBatch: %d of %d entries not sent", q.URL, len(bodies)-n, len(bodies))
		}
		return n, lastErr
	}
	return len(bodies), nil
}

func leading(done []bool) int {
	for i, d := range done {
		if !d {
			return i
		}
	}
	return len(done)
}
