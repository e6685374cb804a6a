package seed

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
)

// Scenario is a queue seeded with every real CloudTrail file of the
// project, reaching the queue through every notification shape.
type Scenario struct {
	QueueURL string
	Bucket   string
	Want     map[string]int      // eventID -> how many records carry it (some corpus IDs repeat or are empty)
	Keys     map[string][]string // eventID -> object keys it may come from
	Files    int
	Messages int // messages sent to the queue, including the ones naming no object
}

// Events is the number of records the scenario must produce.
func (sc *Scenario) Events() int {
	n := 0
	for _, c := range sc.Want {
		n += c
	}
	return n
}

// AllArrived reports whether got (eventID -> records seen) holds every
// record the scenario must produce; duplicates are allowed.
func (sc *Scenario) AllArrived(got map[string]int) bool {
	for id, n := range sc.Want {
		if got[id] < n {
			return false
		}
	}
	return true
}

// Full seeds srv: a queue named queue, a bucket that notifies it, and a
// second bucket (bucket+"-other") whose objects are announced by hand-sent
// SNS-wrapped S3 events, EventBridge events and CloudTrail SNS notices. Keys
// contain spaces, '+', '%', '=' and non-ASCII; some objects are plain JSON;
// a digest file, an s3:TestEvent and a delete event are included.
func Full(ctx context.Context, srv *emu.Server, queue, bucket string) (*Scenario, error) {
	q, err := srv.CreateQueue(ctx, queue, nil)
	if err != nil {
		return nil, err
	}
	other := bucket + "-other"
	if err := srv.CreateBucket(ctx, bucket, queue); err != nil {
		return nil, err
	}
	if err := srv.CreateBucket(ctx, other, ""); err != nil {
		return nil, err
	}
	files, err := Corpus(filepath.Join(emu.Root(), "test", "testdata", "cloudtrail"))
	if err != nil {
		return nil, err
	}
	sc := &Scenario{QueueURL: q, Bucket: bucket, Want: map[string]int{}, Keys: map[string][]string{}, Files: len(files)}
	for i, f := range files {
		key := Key("111122223333", "us-east-1", i)
		switch i % 4 {
		case 1:
			key = strings.Replace(key, ".json.gz", " a+b%c=d ü日本.json.gz", 1)
		case 2:
			key = strings.Replace(key, ".json.gz", ".json", 1) // plain JSON, not gzip
		}
		if f.Digest {
			key = DigestKey("111122223333", "us-east-1", i)
		}
		body := f.JSON
		if strings.HasSuffix(key, ".gz") {
			body = Gzip(body)
		}
		b := bucket
		if i%4 == 3 {
			b = other
		}
		if err := srv.Put(ctx, b, key, body); err != nil {
			return nil, err
		}
		sc.Messages++
		if b == other {
			var msg string
			switch (i / 4) % 3 {
			case 0: // SNS-wrapped S3 event
				inner := fmt.Sprintf(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":%q},"object":{"key":%q,"size":%d}}}]}`, other, url.QueryEscape(key), len(body))
				msg = fmt.Sprintf(`{"Type":"Notification","MessageId":"m%d","TopicArn":"arn:aws:sns:us-east-1:111122223333:t","Message":%q}`, i, inner)
			case 1: // EventBridge
				msg = fmt.Sprintf(`{"version":"0","id":"e%d","detail-type":"Object Created","source":"aws.s3","account":"111122223333","time":"2024-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{"bucket":{"name":%q},"object":{"key":%q,"size":%d}}}`, i, other, key, len(body))
			case 2: // CloudTrail's own SNS notice
				inner := fmt.Sprintf(`{"s3Bucket":%q,"s3ObjectKey":[%q]}`, other, key)
				msg = fmt.Sprintf(`{"Type":"Notification","MessageId":"c%d","TopicArn":"arn:aws:sns:us-east-1:111122223333:t","Message":%q}`, i, inner)
			}
			if err := srv.Send(ctx, q, msg); err != nil {
				return nil, err
			}
		}
		for _, id := range f.EventIDs {
			sc.Want[id]++
			sc.Keys[id] = append(sc.Keys[id], key)
		}
	}
	for _, m := range []string{
		fmt.Sprintf(`{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-01-01T00:00:00Z","Bucket":%q,"RequestId":"r","HostId":"h"}`, bucket),
		fmt.Sprintf(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":%q},"object":{"key":"gone.json.gz"}}}]}`, bucket),
	} {
		if err := srv.Send(ctx, q, m); err != nil {
			return nil, err
		}
		sc.Messages++
	}
	return sc, nil
}
