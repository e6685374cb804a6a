package seed

import (
	"context"
	"fmt"
	"strings"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
)

// Synthetic returns a CloudTrail log file of n events whose eventIDs are
// prefix-0 ... prefix-(n-1), uncompressed, and the IDs.
func Synthetic(prefix string, n int) ([]byte, []string) {
	var b strings.Builder
	ids := make([]string, n)
	b.WriteString(`{"Records":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		ids[i] = fmt.Sprintf("%s-%d", prefix, i)
		fmt.Fprintf(&b, `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:worker","arn":"arn:aws:sts::111122223333:assumed-role/r/worker","accountId":"111122223333"},`+
			`"eventTime":"2024-01-01T00:%02d:%02dZ","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.%d",`+
			`"userAgent":"aws-sdk-go-v2/1.0","requestParameters":{"bucketName":"data","key":"k/%d"},"responseElements":null,"eventID":%q,"readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}`,
			i/60%60, i%60, i%250, i, ids[i])
	}
	b.WriteString(`]}`)
	return []byte(b.String()), ids
}

// Workload is a set of synthetic objects put into a bucket.
type Workload struct {
	Want map[string]int    // eventID -> 1
	Key  map[string]string // eventID -> object key
	Keys []string
}

// PutSynthetic uploads objects gzip'd synthetic objects of events events
// each into bucket, named under prefix, and returns what must arrive.
func PutSynthetic(ctx context.Context, srv *emu.Server, bucket, prefix string, objects, events int) (*Workload, error) {
	w := &Workload{Want: map[string]int{}, Key: map[string]string{}}
	if err := w.Add(ctx, srv, bucket, prefix, objects, events); err != nil {
		return nil, err
	}
	return w, nil
}

// Add uploads more objects into the workload.
func (w *Workload) Add(ctx context.Context, srv *emu.Server, bucket, prefix string, objects, events int) error {
	for i := range objects {
		key := fmt.Sprintf("AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01/%s_%05d.json.gz", prefix, i)
		body, ids := Synthetic(fmt.Sprintf("%s-%05d", prefix, i), events)
		if err := srv.Put(ctx, bucket, key, Gzip(body)); err != nil {
			return err
		}
		w.Keys = append(w.Keys, key)
		for _, id := range ids {
			w.Want[id]++
			w.Key[id] = key
		}
	}
	return nil
}

// Missing returns the wanted eventIDs that got does not hold.
func (w *Workload) Missing(got map[string]int) []string {
	var out []string
	for id := range w.Want {
		if got[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}
