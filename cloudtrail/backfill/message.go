package backfill

import (
	"encoding/json"
	"net/url"
	"time"
)

// Message limits. A classic queue accepts 256 KiB per message and per
// SendMessageBatch; ten messages of at most maxMessageBytes fit in one batch
// on any queue.
const (
	maxMessageBytes = 24 << 10
	// MaxPerMessage bounds -per-message: the plugin handles a message as a
	// unit (one failing object sends all of them back to the queue), so a
	// message stays small.
	MaxPerMessage = 100
	// ConfigurationID marks the notifications this package writes, where S3
	// puts the name of the bucket's notification configuration.
	ConfigurationID = "cloudtrail-backfill"
)

// message is one SQS message body under construction and the objects it
// names, in key order.
type message struct {
	objects []Object
	records []json.RawMessage
	size    int
}

// record is one S3 event notification record, in the shape S3 sends to SQS:
// the key form-encoded, the ETag without quotes.
func record(bucket string, o Object, now time.Time) json.RawMessage {
	type obj struct {
		Key  string `json:"key"`
		Size int64  `json:"size"`
		ETag string `json:"eTag,omitempty"`
	}
	type bkt struct {
		Name string `json:"name"`
		ARN  string `json:"arn"`
	}
	type s3 struct {
		SchemaVersion   string `json:"s3SchemaVersion"`
		ConfigurationID string `json:"configurationId"`
		Bucket          bkt    `json:"bucket"`
		Object          obj    `json:"object"`
	}
	r := struct {
		EventVersion string `json:"eventVersion"`
		EventSource  string `json:"eventSource"`
		EventTime    string `json:"eventTime"`
		EventName    string `json:"eventName"`
		S3           s3     `json:"s3"`
	}{
		EventVersion: "2.1",
		EventSource:  "aws:s3",
		EventTime:    now.UTC().Format("2006-01-02T15:04:05.000Z"),
		EventName:    "ObjectCreated:Put",
		S3: s3{
			SchemaVersion:   "1.0",
			ConfigurationID: ConfigurationID,
			Bucket:          bkt{Name: bucket, ARN: "arn:aws:s3:::" + bucket},
			Object:          obj{Key: url.QueryEscape(o.Key), Size: o.Size, ETag: o.ETag},
		},
	}
	b, _ := json.Marshal(r) // strings and numbers only: cannot fail
	return b
}

// fits reports whether one more record can join the message.
func (m *message) fits(r json.RawMessage, perMessage int) bool {
	return len(m.records) == 0 || (len(m.records) < perMessage && m.size+len(r)+1 <= maxMessageBytes)
}

func (m *message) add(o Object, r json.RawMessage) {
	m.objects = append(m.objects, o)
	m.records = append(m.records, r)
	m.size += len(r) + 1
}

// body is the notification: {"Records":[...]}.
func (m *message) body() string {
	b, _ := json.Marshal(struct {
		Records []json.RawMessage `json:"Records"`
	}{m.records})
	return string(b)
}

func (m *message) bytes() int64 {
	var n int64
	for _, o := range m.objects {
		n += o.Size
	}
	return n
}
