package integrity

import (
	"context"
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrUnknownKey is returned by a KeySource that has no key with the
// fingerprint asked for: a finding about the digest, not an AWS error.
var ErrUnknownKey = errors.New("no public key with this fingerprint")

// KeySource finds the public key a digest names by its
// digestPublicKeyFingerprint. region is the digest's region: CloudTrail
// signs with a key per region and ListPublicKeys answers for the region it
// is asked in. at is the time the key was in use (digestEndTime, or the
// backfill generation time of a backfill digest). An AWS error is returned
// as is, ErrUnknownKey when the source has no such key.
type KeySource interface {
	Key(ctx context.Context, region, fingerprint string, at time.Time) (*rsa.PublicKey, error)
}

// Fingerprint returns the fingerprint CloudTrail gives the public key whose
// DER-encoded PKCS#1 form is der: the hex MD5 of those bytes. AWS's pages
// do not state it; it matches every fingerprint/key pair ListPublicKeys
// returns (../shared/docs/cloudtrail-integrity.md).
func Fingerprint(der []byte) string {
	sum := md5.Sum(der)
	return hex.EncodeToString(sum[:])
}

// ParsePublicKey reads the DER bytes of a public key: PKCS#1 (what
// ListPublicKeys returns in Value) or PKIX (what most tools write).
func ParsePublicKey(der []byte) (*rsa.PublicKey, error) {
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("neither a PKCS#1 nor a PKIX public key: %w", err)
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("not an RSA key (%T)", k)
	}
	return rk, nil
}

// FileKeys is a KeySource read from a PEM file: for air-gapped use (no
// cloudtrail:ListPublicKeys) and tests. Keys are matched by fingerprint
// whatever the region and time.
type FileKeys map[string]*rsa.PublicKey

// LoadKeys reads every "RSA PUBLIC KEY" (PKCS#1) and "PUBLIC KEY" (PKIX)
// block of a PEM file. The fingerprint is always computed over the PKCS#1
// form, as CloudTrail does, so a key saved either way matches.
func LoadKeys(file string) (FileKeys, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("integrity_public_keys: %w", err)
	}
	keys := FileKeys{}
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "RSA PUBLIC KEY" && blk.Type != "PUBLIC KEY" {
			continue
		}
		k, err := ParsePublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("integrity_public_keys %s: %s block: %w", file, blk.Type, err)
		}
		keys[Fingerprint(x509.MarshalPKCS1PublicKey(k))] = k
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("integrity_public_keys %s: no RSA PUBLIC KEY or PUBLIC KEY block", file)
	}
	return keys, nil
}

// Key implements KeySource.
func (f FileKeys) Key(_ context.Context, _, fingerprint string, _ time.Time) (*rsa.PublicKey, error) {
	if k, ok := f[fingerprint]; ok {
		return k, nil
	}
	return nil, ErrUnknownKey
}
