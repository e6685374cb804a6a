package seed

import (
	"bytes"
	"context"
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
)

// Digests makes CloudTrail digest files the way CloudTrail signs them, with
// its own RSA key pair, for tests of integrity checking: each Next is the
// next hour's digest of one chain (account, region, trail), linked to the
// previous one by its signature. The signing is written here from AWS's
// description ("Validating CloudTrail log file integrity with custom
// implementations"), not with the plugin's code, so a test compares two
// independent readings of it.
type Digests struct {
	Priv        *rsa.PrivateKey
	Fingerprint string // hex MD5 of the DER PKCS#1 public key, as CloudTrail's
	Bucket      string
	Account     string
	Region      string
	Trail       string
	Start       time.Time // end of the first digest's hour minus one hour

	n                int
	prevKey, prevSig string
}

// DigestObject is one digest file as CloudTrail stores it.
type DigestObject struct {
	Key       string
	JSON      []byte // uncompressed
	Signature string // hex, x-amz-meta-signature
}

// LogFile is a log file a digest lists: its key and uncompressed content.
type LogFile struct {
	Key  string
	JSON []byte
}

// NewDigests makes a key pair for a chain of digests.
func NewDigests(bucket, account, region, trail string) (*Digests, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	sum := md5.Sum(x509.MarshalPKCS1PublicKey(&priv.PublicKey))
	return &Digests{Priv: priv, Fingerprint: hex.EncodeToString(sum[:]), Bucket: bucket, Account: account,
		Region: region, Trail: trail, Start: time.Date(2024, 1, 1, 0, 1, 31, 0, time.UTC)}, nil
}

// PublicPEM is the public key as an "RSA PUBLIC KEY" PEM block.
func (d *Digests) PublicPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&d.Priv.PublicKey)})
}

// Next returns the next digest of the chain, listing files.
func (d *Digests) Next(files []LogFile) DigestObject {
	start := d.Start.Add(time.Duration(d.n) * time.Hour)
	end := start.Add(time.Hour)
	d.n++
	key := fmt.Sprintf("AWSLogs/%s/CloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_%s_%s_%s.json.gz",
		d.Account, d.Region, end.Format("2006/01/02"), d.Account, d.Region, d.Trail, d.Region, end.Format("20060102T150405Z"))
	type logFile struct {
		S3Bucket        string `json:"s3Bucket"`
		S3Object        string `json:"s3Object"`
		HashValue       string `json:"hashValue"`
		HashAlgorithm   string `json:"hashAlgorithm"`
		NewestEventTime string `json:"newestEventTime"`
		OldestEventTime string `json:"oldestEventTime"`
	}
	null := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	doc := struct {
		AccountID   string    `json:"awsAccountId"`
		Start       string    `json:"digestStartTime"`
		End         string    `json:"digestEndTime"`
		Bucket      string    `json:"digestS3Bucket"`
		Object      string    `json:"digestS3Object"`
		Fingerprint string    `json:"digestPublicKeyFingerprint"`
		Algorithm   string    `json:"digestSignatureAlgorithm"`
		Newest      *string   `json:"newestEventTime"`
		Oldest      *string   `json:"oldestEventTime"`
		PrevBucket  *string   `json:"previousDigestS3Bucket"`
		PrevObject  *string   `json:"previousDigestS3Object"`
		PrevHash    *string   `json:"previousDigestHashValue"`
		PrevHashAlg *string   `json:"previousDigestHashAlgorithm"`
		PrevSig     *string   `json:"previousDigestSignature"`
		LogFiles    []logFile `json:"logFiles"`
	}{
		AccountID: d.Account, Start: start.Format(time.RFC3339), End: end.Format(time.RFC3339),
		Bucket: d.Bucket, Object: key, Fingerprint: d.Fingerprint, Algorithm: "SHA256withRSA",
		PrevSig: null(d.prevSig), LogFiles: []logFile{},
	}
	if d.prevKey != "" {
		doc.PrevBucket, doc.PrevObject, doc.PrevHashAlg = null(d.Bucket), null(d.prevKey), null("SHA-256")
		doc.PrevHash = null("0000000000000000000000000000000000000000000000000000000000000000")
	}
	for _, f := range files {
		sum := sha256.Sum256(f.JSON)
		doc.LogFiles = append(doc.LogFiles, logFile{S3Bucket: d.Bucket, S3Object: f.Key, HashValue: hex.EncodeToString(sum[:]),
			HashAlgorithm: "SHA-256", NewestEventTime: end.Format(time.RFC3339), OldestEventTime: start.Format(time.RFC3339)})
	}
	body, _ := json.MarshalIndent(doc, "", "  ")
	// The data signing string: digestEndTime, digestS3Bucket/digestS3Object,
	// hex SHA-256 of the uncompressed digest, previousDigestSignature
	// ("null" for the first), joined by newlines.
	sum := sha256.Sum256(body)
	prev := d.prevSig
	if prev == "" {
		prev = "null"
	}
	signing := doc.End + "\n" + d.Bucket + "/" + key + "\n" + hex.EncodeToString(sum[:]) + "\n" + prev
	h := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(nil, d.Priv, crypto.SHA256, h[:])
	if err != nil {
		panic(err) // a 2048-bit key always signs a SHA-256
	}
	obj := DigestObject{Key: key, JSON: body, Signature: hex.EncodeToString(sig)}
	d.prevKey, d.prevSig = key, obj.Signature
	return obj
}

// PutDigest uploads a digest gzip'd, with the signature metadata CloudTrail
// sets.
func PutDigest(ctx context.Context, srv *emu.Server, bucket string, o DigestObject) error {
	_, err := srv.S3().PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(o.Key), Body: bytes.NewReader(Gzip(o.JSON)),
		Metadata: map[string]string{"signature": o.Signature, "signature-algorithm": "SHA256withRSA"},
	})
	if err != nil {
		return fmt.Errorf("put digest s3://%s/%s: %w", bucket, o.Key, err)
	}
	return nil
}
