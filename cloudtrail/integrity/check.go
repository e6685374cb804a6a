package integrity

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/metrics"
)

// S3API is the part of the S3 client a Checker uses.
type S3API interface {
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Checker checks digests. Its fields are set once, before the first Check;
// Check is safe for concurrent use.
type Checker struct {
	S3     S3API
	Keys   KeySource
	Cache  *Cache
	Limits Limits
	// BucketOwner, when set, is sent as ExpectedBucketOwner on every
	// GetObject (expected_bucket_owner).
	BucketOwner string
	Stats       Stats
}

// Stats count what Checker did, for the metrics.
type Stats struct {
	Digests   metrics.LabeledCounter // digests by result: valid, invalid, error
	Files     metrics.LabeledCounter // listed log files by result: verified, missing, modified, unchecked
	Problems  metrics.LabeledCounter // problems by kind: signature, chain, file
	Downloads atomic.Int64           // log files downloaded for a check (not ingested by this replica lately)
	CacheHits atomic.Int64           // log files verified from the hash of what the plugin ingested
}

// Metadata keys of a digest object ("CloudTrail digest file structure":
// x-amz-meta-signature and x-amz-meta-signature-algorithm; the backfill
// generation time of a backfill digest). The SDK returns them without the
// x-amz-meta- prefix; S3 keeps user metadata keys in lower case.
const (
	metaSignature = "signature"
	metaAlgorithm = "signature-algorithm"
	metaBackfill  = "backfill-generation-timestamp"
)

// Check checks the digest at bucket/key. It returns a Result whenever the
// digest could be checked, whatever it found; an error when AWS failed
// (retry later) or the digest broke a bound (errors.Is ErrHostile).
func (c *Checker) Check(ctx context.Context, bucket, key string) (*Result, error) {
	r, err := c.check(ctx, bucket, key)
	if err != nil {
		c.Stats.Digests.Add("error", 1)
		return nil, err
	}
	c.Stats.Digests.Add(r.Verdict(), 1)
	c.Stats.Files.Add(FileVerified, int64(r.Verified))
	c.Stats.Files.Add(FileMissing, int64(len(r.Missing)))
	c.Stats.Files.Add(FileModified, int64(len(r.Modified)))
	c.Stats.Files.Add(FileUnchecked, int64(len(r.Unchecked)))
	for _, k := range r.kinds {
		c.Stats.Problems.Add(k, 1)
	}
	return r, nil
}

func (c *Checker) check(ctx context.Context, bucket, key string) (*Result, error) {
	ki, ok := ParseKey(key)
	if !ok {
		return nil, fmt.Errorf("%w: the key is not a CloudTrail digest file name (ACCOUNT_CloudTrail-Digest_REGION_TRAIL_REGION_TIMESTAMP.json.gz)", ErrHostile)
	}
	raw, meta, etag, err := c.getDigest(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	d, err := Parse(raw, c.Limits)
	if err != nil {
		return nil, err
	}
	r := &Result{
		Bucket: bucket, Key: key, ETag: etag,
		Account: d.AccountID, Region: ki.Region, Trail: ki.Trail, Backfill: ki.Backfill,
		StartTime: d.StartTime, EndTime: d.EndTime, Fingerprint: d.Fingerprint,
		Listed: len(d.LogFiles), Checked: time.Now().UTC(),
	}
	if r.Account == "" {
		r.Account = ki.Account
	}
	r.End, _ = time.Parse(time.RFC3339, d.EndTime)
	sig := metaValue(meta, metaSignature)
	if err := c.signature(ctx, r, d, raw, meta, sig); err != nil {
		return nil, err
	}
	if r.Signature == SigValid {
		// Only a digest CloudTrail signed may vouch for the next one.
		c.Cache.PutDigest(bucket, key, sig)
	}
	if err := c.chain(ctx, r, d); err != nil {
		return nil, err
	}
	if err := c.files(ctx, r, d); err != nil {
		return nil, err
	}
	return r, nil
}

// getDigest downloads a digest within the size limit and returns its
// uncompressed text, its metadata and its ETag.
func (c *Checker) getDigest(ctx context.Context, bucket, key string) ([]byte, map[string]string, string, error) {
	out, err := c.get(ctx, bucket, key)
	if err != nil {
		return nil, nil, "", fmt.Errorf("download: %w", err)
	}
	defer out.Body.Close()
	lim := c.Limits.MaxDigestBytes
	if lim > 0 && aws.ToInt64(out.ContentLength) > lim {
		return nil, nil, "", fmt.Errorf("%w: %d bytes, more than %d", ErrHostile, aws.ToInt64(out.ContentLength), lim)
	}
	var buf bytes.Buffer
	_, _, err = hashStream(out.Body, &buf, lim)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, nil, "", fmt.Errorf("%w: %v", ErrHostile, err)
		}
		return nil, nil, "", fmt.Errorf("download: %w", err)
	}
	return buf.Bytes(), out.Metadata, aws.ToString(out.ETag), nil
}

// signature sets r.Signature: the steps "Validate the digest file" of the
// custom implementation page (retrieved from its original location; the
// hex signature from metadata; the key by fingerprint; the data signing
// string; RSA verification), in validate-logs' order.
func (c *Checker) signature(ctx context.Context, r *Result, d *Digest, raw []byte, meta map[string]string, sig string) error {
	switch {
	case d.Bucket != r.Bucket || d.Key != r.Key:
		r.Signature = SigMoved
		r.problem("signature", "the digest says it is s3://%s/%s: it has been moved from its original location", d.Bucket, d.Key)
		return nil
	case sig == "" || metaValue(meta, metaAlgorithm) == "":
		r.Signature = SigMissing
		r.problem("signature", "the digest object has no signature metadata (x-amz-meta-signature, x-amz-meta-signature-algorithm)")
		return nil
	case metaValue(meta, metaAlgorithm) != SignatureAlgorithm:
		r.Signature = SigInvalid
		r.problem("signature", "signature algorithm %q, not %s", metaValue(meta, metaAlgorithm), SignatureAlgorithm)
		return nil
	}
	// A backfill digest was signed when it was generated, with the key in
	// use then ("CloudTrail digest file structure": backfill digests carry
	// x-amz-meta-backfill-generation-timestamp).
	at := r.End
	if t, err := time.Parse(time.RFC3339, metaValue(meta, metaBackfill)); err == nil {
		at = t
	}
	if at.IsZero() {
		at = time.Now()
	}
	var pub *rsa.PublicKey
	pub, err := c.Keys.Key(ctx, r.Region, d.Fingerprint, at)
	switch {
	case errors.Is(err, ErrUnknownKey):
		r.Signature = SigUnknownKey
		r.problem("signature", "no public key in %s has the digest's fingerprint %s", r.Region, d.Fingerprint)
		return nil
	case err != nil:
		return err
	}
	if err := Verify(pub, SigningString(d, raw), sig); err != nil {
		r.Signature = SigInvalid
		r.problem("signature", "signature verification failed with the key %s: the digest or its signature was altered", d.Fingerprint)
		return nil
	}
	r.Signature = SigValid
	return nil
}

// chain sets r.Chain. A digest names its predecessor (bucket, key and
// signature); validate-logs follows that link and reports a missing
// predecessor, and a digest with no predecessor (previousDigestSignature
// null) starts a chain: a trail's first digest, or the first after logging
// or validation was turned off and on again (validate-logs' "gap").
// Backfill digests form their own chain (their key ends in _backfill), so
// the link is followed the same way.
func (c *Checker) chain(ctx context.Context, r *Result, d *Digest) error {
	if d.PreviousSignature == nil || d.PreviousBucket == nil || d.PreviousKey == nil || *d.PreviousKey == "" {
		r.Chain = ChainStart
		return nil
	}
	r.PreviousBucket, r.PreviousKey = *d.PreviousBucket, *d.PreviousKey
	sig, ok := c.Cache.Digest(r.PreviousBucket, r.PreviousKey)
	if !ok {
		// Another replica checked it, or it is older than the cache: its
		// signature is in its metadata; the body is not needed.
		out, err := c.get(ctx, r.PreviousBucket, r.PreviousKey)
		switch {
		case isGone(err):
			r.Chain = ChainMissing
			r.problem("chain", "the previous digest s3://%s/%s is gone (%s)", r.PreviousBucket, r.PreviousKey, errCode(err))
			return nil
		case err != nil:
			return fmt.Errorf("previous digest s3://%s/%s: %w", r.PreviousBucket, r.PreviousKey, err)
		}
		out.Body.Close()
		sig = metaValue(out.Metadata, metaSignature)
	}
	if !strings.EqualFold(sig, *d.PreviousSignature) {
		r.Chain = ChainMismatch
		r.problem("chain", "the previous digest s3://%s/%s has another signature than this digest names: it was replaced", r.PreviousBucket, r.PreviousKey)
		return nil
	}
	r.Chain = ChainOK
	return nil
}

// files checks every log file the digest lists: the hash the plugin
// computed while ingesting it when it has one, else the file downloaded
// and hashed now ("Validate the log files": SHA-256 of the uncompressed
// content against hashValue; validate-logs' _download_log).
func (c *Checker) files(ctx context.Context, r *Result, d *Digest) error {
	for _, f := range d.LogFiles {
		if !strings.EqualFold(f.Algorithm, "SHA-256") {
			r.Unchecked = append(r.Unchecked, "s3://"+f.Bucket+"/"+f.Key)
			r.problem("file", "s3://%s/%s: hash algorithm %q is not SHA-256, not checked", f.Bucket, f.Key, f.Algorithm)
			continue
		}
		sum, ok := c.Cache.File(f.Bucket, f.Key)
		if ok {
			c.Stats.CacheHits.Add(1)
			r.Cached++
		} else {
			var gone bool
			var err error
			sum, gone, err = c.hashLog(ctx, f.Bucket, f.Key)
			switch {
			case gone:
				r.Missing = append(r.Missing, "s3://"+f.Bucket+"/"+f.Key)
				r.problem("file", "s3://%s/%s is missing (%v)", f.Bucket, f.Key, err)
				continue
			case err != nil:
				return fmt.Errorf("log file s3://%s/%s: %w", f.Bucket, f.Key, err)
			}
		}
		if !hexEqual(sum[:], f.Hash) {
			r.Modified = append(r.Modified, "s3://"+f.Bucket+"/"+f.Key)
			r.problem("file", "s3://%s/%s was modified: its SHA-256 is not the digest's", f.Bucket, f.Key)
			continue
		}
		r.Verified++
	}
	return nil
}

// hashLog downloads a log file and hashes its uncompressed content; gone
// reports that S3 has no such object.
func (c *Checker) hashLog(ctx context.Context, bucket, key string) (sum [32]byte, gone bool, err error) {
	out, err := c.get(ctx, bucket, key)
	if isGone(err) {
		return sum, true, errors.New(errCode(err))
	}
	if err != nil {
		return sum, false, fmt.Errorf("download: %w", err)
	}
	defer out.Body.Close()
	c.Stats.Downloads.Add(1)
	sum, _, err = hashStream(out.Body, io.Discard, c.Limits.MaxLogBytes)
	return sum, false, err
}

func (c *Checker) get(ctx context.Context, bucket, key string) (*s3.GetObjectOutput, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if c.BucketOwner != "" {
		in.ExpectedBucketOwner = aws.String(c.BucketOwner)
	}
	return c.S3.GetObject(ctx, in)
}

func (r *Result) problem(kind, format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	r.kinds = append(r.kinds, kind)
}

// isGone reports whether err says the object does not exist. Without
// s3:ListBucket, S3 answers AccessDenied instead of NoSuchKey for a key that
// does not exist; the plugin reads every object of the trail with
// s3:GetObject, so AccessDenied on a key a digest lists is taken as gone
// too, and the finding says which of the two S3 answered.
func isGone(err error) bool {
	switch errCode(err) {
	case "NoSuchKey", "NotFound", "AccessDenied":
		return true
	}
	return false
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// metaValue reads a user metadata key whatever its case.
func metaValue(meta map[string]string, key string) string {
	if v, ok := meta[key]; ok {
		return v
	}
	for k, v := range meta {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}
