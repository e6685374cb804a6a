package collector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/integrity"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/notify"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

// Integrity checking (integrity on): a digest notification, which the
// collector otherwise skips, becomes a job like a log file; the worker
// checks the digest (package integrity) instead of decoding it, and queues
// the finding as a batch of one record of the message. From there the
// finding takes the path of every record: handover, acknowledgement, delete
// (delete.go) or, when the check fails, back to the queue (message.go).
// Log files are hashed while they are decoded (fetch, Decoder.Tee), so the
// digest that lists them an hour later need not download them again.

// newChecker builds the integrity checker of o, or nil when integrity is off.
func newChecker(o Options) (*integrity.Checker, error) {
	cfg := o.Config
	if !cfg.Integrity {
		return nil, nil
	}
	var keys integrity.KeySource
	switch {
	case cfg.IntegrityPublicKeys != "":
		fk, err := integrity.LoadKeys(cfg.IntegrityPublicKeys)
		if err != nil {
			return nil, err
		}
		keys = fk
	case o.CloudTrail != nil:
		keys = &integrity.AWSKeys{Client: func(region string) integrity.ListKeysAPI { return o.CloudTrail(region) }}
	default:
		return nil, errors.New("integrity: no public keys: set integrity_public_keys or give the collector a CloudTrail client")
	}
	lim := integrity.DefaultLimits()
	lim.Buckets = cfg.BucketAllow
	lim.MaxLogBytes = cfg.MaxDecompressedSize
	return &integrity.Checker{S3: o.S3, Keys: keys, Cache: integrity.NewCache(0, 0, 0), Limits: lim, BucketOwner: cfg.BucketOwner}, nil
}

// digestObjects returns the digests of a notification that are to be
// checked: none when integrity is off.
func (c *Collector) digestObjects(res notify.Result) []notify.Object {
	if c.integ == nil {
		return nil
	}
	var out []notify.Object
	for _, ig := range res.Ignored {
		if ig.Reason == notify.ReasonDigest {
			out = append(out, notify.Object{Bucket: ig.Bucket, Key: ig.Key})
		}
	}
	return out
}

// isDigest reports whether a job is a digest to check. Digest keys reach the
// workers only through digestObjects.
func (c *Collector) isDigest(o notify.Object) bool {
	return c.integ != nil && integrity.IsDigestKey(o.Key)
}

// checkDigest checks one digest and queues its finding as a record of m.
// An error (AWS, or a digest refused as hostile) fails the message like a
// failed download.
func (c *Collector) checkDigest(ctx context.Context, m *message, o notify.Object) error {
	r, err := c.integ.Check(ctx, o.Bucket, o.Key)
	if err != nil {
		return fmt.Errorf("integrity: %w", err)
	}
	for _, p := range r.Problems {
		c.log.Warnf("queue %s: message %s: integrity: digest s3://%s/%s (%s %s, %s to %s): %s",
			c.cfg.QueueURL, m.id, o.Bucket, o.Key, r.Account, r.Region, r.StartTime, r.EndTime, p)
	}
	if r.Valid() {
		c.log.Debugf("queue %s: message %s: integrity: digest s3://%s/%s valid: %d log files verified (%d from ingest)",
			c.cfg.QueueURL, m.id, o.Bucket, o.Key, r.Verified, r.Cached)
	}
	src := &record.Source{QueueURL: c.cfg.QueueURL, MessageID: m.id, Bucket: o.Bucket, Key: o.Key, ETag: r.ETag, Received: time.Now()}
	data := integrity.AppendRecord(nil, r, c.cfg.Schema, c.cfg.OCSFVersion, src)
	c.mu.Lock()
	m.pending++
	c.mu.Unlock()
	if err := c.queue.put(ctx, batch{data: data, events: 1, msg: m}); err != nil {
		c.mu.Lock()
		m.pending--
		c.mu.Unlock()
		return err
	}
	return nil
}

// Integrity returns the integrity checker, nil when integrity is off.
func (c *Collector) Integrity() *integrity.Checker { return c.integ }
