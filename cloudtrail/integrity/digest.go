package integrity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// ErrHostile is matched (errors.Is) by the errors of digests that are not
// checked at all because they break a bound: too large, malformed, too many
// files, or naming a bucket outside the allow-list. Such a digest did not
// come from CloudTrail as documented; retrying it gives the same error, so
// its message ends in the dead-letter queue.
var ErrHostile = errors.New("digest refused")

// Limits bound the work one digest can cause.
type Limits struct {
	// MaxDigestBytes bounds the digest file, compressed and decompressed.
	// AWS's sample digests are under 2 KB; a digest lists the log files of
	// one hour of one account and region, about 400 bytes each.
	MaxDigestBytes int64
	// MaxFiles bounds logFiles: each listed file not seen by the plugin is
	// downloaded and hashed.
	MaxFiles int
	// MaxLogBytes bounds one log file after decompression when it is
	// downloaded for the check (the plugin's max_decompressed_size).
	MaxLogBytes int64
	// Buckets, when not empty, are the only buckets a digest may name for
	// itself, its previous digest and its log files (bucket_allowlist).
	Buckets []string
}

// DefaultLimits are generous for real CloudTrail and small enough that a
// crafted digest cannot make a replica download a bucket.
func DefaultLimits() Limits {
	return Limits{MaxDigestBytes: 16 << 20, MaxFiles: 5000, MaxLogBytes: 10 << 30}
}

// LogFile is one entry of a digest's logFiles.
type LogFile struct {
	Bucket    string `json:"s3Bucket"`
	Key       string `json:"s3Object"`
	Hash      string `json:"hashValue"`
	Algorithm string `json:"hashAlgorithm"`
}

// Digest is a parsed digest file. Field names are those of "CloudTrail
// digest file structure"; the *string fields are null in a chain's first
// digest.
type Digest struct {
	AccountID         string    `json:"awsAccountId"`
	StartTime         string    `json:"digestStartTime"`
	EndTime           string    `json:"digestEndTime"`
	Bucket            string    `json:"digestS3Bucket"`
	Key               string    `json:"digestS3Object"`
	Fingerprint       string    `json:"digestPublicKeyFingerprint"`
	SignatureAlg      string    `json:"digestSignatureAlgorithm"`
	PreviousBucket    *string   `json:"previousDigestS3Bucket"`
	PreviousKey       *string   `json:"previousDigestS3Object"`
	PreviousSignature *string   `json:"previousDigestSignature"`
	LogFiles          []LogFile `json:"logFiles"`
}

// requiredKeys must be present (null allowed) before a digest is checked:
// the list validate-logs uses (DigestTraverser.required_digest_keys).
var requiredKeys = []string{
	"digestPublicKeyFingerprint", "digestS3Bucket", "digestS3Object",
	"previousDigestSignature", "digestEndTime", "digestStartTime",
}

// Parse decodes the uncompressed digest text data within lim. Every error
// wraps ErrHostile.
func Parse(data []byte, lim Limits) (*Digest, error) {
	if lim.MaxDigestBytes > 0 && int64(len(data)) > lim.MaxDigestBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrHostile, len(data), lim.MaxDigestBytes)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %v", ErrHostile, err)
	}
	for _, k := range requiredKeys {
		if _, ok := keys[k]; !ok {
			return nil, fmt.Errorf("%w: invalid format: no %s", ErrHostile, k)
		}
	}
	// Count logFiles before decoding them, so that a digest listing a
	// million files is refused without building them.
	if raw, ok := keys["logFiles"]; ok && lim.MaxFiles > 0 {
		if n, err := countArray(raw); err != nil {
			return nil, fmt.Errorf("%w: logFiles: %v", ErrHostile, err)
		} else if n > lim.MaxFiles {
			return nil, fmt.Errorf("%w: lists %d log files, more than %d", ErrHostile, n, lim.MaxFiles)
		}
	}
	var d Digest
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%w: invalid format: %v", ErrHostile, err)
	}
	if d.Bucket == "" || d.Key == "" || d.EndTime == "" {
		return nil, fmt.Errorf("%w: invalid format: empty digestS3Bucket, digestS3Object or digestEndTime", ErrHostile)
	}
	for i, f := range d.LogFiles {
		if f.Bucket == "" || f.Key == "" || f.Hash == "" {
			return nil, fmt.Errorf("%w: logFiles[%d]: empty s3Bucket, s3Object or hashValue", ErrHostile, i)
		}
	}
	if err := d.allowed(lim.Buckets); err != nil {
		return nil, err
	}
	return &d, nil
}

// allowed checks that every bucket the digest names is in the allow-list.
func (d *Digest) allowed(buckets []string) error {
	if len(buckets) == 0 {
		return nil
	}
	ok := func(b string) bool {
		for _, a := range buckets {
			if a == b {
				return true
			}
		}
		return false
	}
	if !ok(d.Bucket) {
		return fmt.Errorf("%w: digestS3Bucket %q is not in bucket_allowlist", ErrHostile, d.Bucket)
	}
	if d.PreviousBucket != nil && !ok(*d.PreviousBucket) {
		return fmt.Errorf("%w: previousDigestS3Bucket %q is not in bucket_allowlist", ErrHostile, *d.PreviousBucket)
	}
	for _, f := range d.LogFiles {
		if !ok(f.Bucket) {
			return fmt.Errorf("%w: log file s3://%s/%s: bucket not in bucket_allowlist", ErrHostile, f.Bucket, f.Key)
		}
	}
	return nil
}

// countArray counts the elements of a JSON array without decoding them.
func countArray(raw json.RawMessage) (int, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return 0, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return 0, errors.New("not an array")
	}
	n := 0
	for dec.More() {
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// digestName matches a digest file name: ACCOUNT_CloudTrail-Digest_REGION_
// TRAIL_HOMEREGION_YYYYMMDDTHHMMSSZ[_backfill].json.gz ("Digest file
// location" in "CloudTrail digest file structure").
var digestName = regexp.MustCompile(`^(\d{12})_CloudTrail-Digest_([a-z0-9-]+)_(.+)_(\d{8}T\d{6}Z)(_backfill)?\.json\.gz$`)

// KeyInfo is what a digest key says about its digest.
type KeyInfo struct {
	Account, Region, Trail string // Trail is TRAIL_HOMEREGION as in the name
	Time                   string // YYYYMMDDTHHMMSSZ, the digest's end
	Backfill               bool
	// Chain names the sequence of digests this one belongs to: the
	// folder up to CloudTrail-Digest/REGION, the account, region and
	// trail, and whether it is a backfill chain (AWS delivers backfill
	// digests, "_backfill", for log files their hour's digest missed).
	Chain string
}

// IsDigestKey reports whether key is in a CloudTrail-Digest folder, the
// test notify applies before skipping digests.
func IsDigestKey(key string) bool { return strings.Contains(key, "CloudTrail-Digest") }

// ParseKey reads a digest key; ok is false when the name is not a digest
// name.
func ParseKey(key string) (KeyInfo, bool) {
	m := digestName.FindStringSubmatch(path.Base(key))
	if m == nil {
		return KeyInfo{}, false
	}
	k := KeyInfo{Account: m[1], Region: m[2], Trail: m[3], Time: m[4], Backfill: m[5] != ""}
	dir := key
	if i := strings.Index(key, "/CloudTrail-Digest/"); i >= 0 {
		dir = key[:i]
	}
	k.Chain = dir + "|" + k.Account + "|" + k.Region + "|" + k.Trail
	if k.Backfill {
		k.Chain += "|backfill"
	}
	return k, true
}
