// Package record defines what every output schema shares: where an event came
// from, and the interface that turns one CloudTrail event into one Fluent Bit
// entry.
package record

import "time"

// SourceKey is the top-level key, in every schema, of the map that says where
// a record came from. CloudTrail's own field names are lowerCamelCase without
// underscores, so a key starting with an underscore can never collide.
const SourceKey = "_cloudtrail"

// Source says where an event came from. It is written under SourceKey as
// {"bucket", "key", "sqs_message_id", "queue_url"}, and the encoder adds
// "event_time_invalid": true when eventTime did not parse.
type Source struct {
	QueueURL  string
	MessageID string
	Bucket    string
	Key       string
	// Received is when the object was fetched; it becomes the record time of
	// an event whose eventTime does not parse.
	Received time.Time
}

// Encoder turns CloudTrail events into Fluent Bit entries.
//
// Append appends exactly one complete entry, the msgpack array
// [EventTime, {body}], for the CloudTrail event whose JSON object text is
// event, and returns the extended buffer. On error dst is returned with its
// original length, so a failed event never leaves half an entry behind (one
// malformed entry makes Fluent Bit drop the rest of the buffer).
//
// An Encoder is not safe for concurrent use; each worker owns one.
type Encoder interface {
	Append(dst []byte, event []byte, src *Source) ([]byte, error)
}
