package integrity

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// SignatureAlgorithm is the only algorithm CloudTrail signs digests with
// (digestSignatureAlgorithm, and the S3 metadata signature-algorithm).
const SignatureAlgorithm = "SHA256withRSA"

// SigningString returns the data signing string of d, whose uncompressed
// digest file text is raw:
//
//	digestEndTime \n digestS3Bucket/digestS3Object \n hex(SHA-256(raw)) \n previousDigestSignature
//
// with the literal text "null" as previousDigestSignature in a chain's first
// digest and no trailing newline ("Validating CloudTrail log file integrity
// with custom implementations", "Data signing string", and
// Sha256RSADigestValidator._create_string_to_sign in aws-cli's
// validation.py). digestEndTime is used as written in the digest, not
// reformatted.
func SigningString(d *Digest, raw []byte) []byte {
	sum := sha256.Sum256(raw)
	prev := "null"
	if d.PreviousSignature != nil {
		prev = *d.PreviousSignature
	}
	var b strings.Builder
	b.Grow(len(d.EndTime) + len(d.Bucket) + len(d.Key) + 2*len(sum) + len(prev) + 4)
	b.WriteString(d.EndTime)
	b.WriteByte('\n')
	b.WriteString(d.Bucket)
	b.WriteByte('/')
	b.WriteString(d.Key)
	b.WriteByte('\n')
	b.WriteString(hex.EncodeToString(sum[:]))
	b.WriteByte('\n')
	b.WriteString(prev)
	return []byte(b.String())
}

// ErrBadSignature is returned by Verify when the signature does not match.
var ErrBadSignature = errors.New("signature verification failed")

// Verify checks the hex signature sigHex of signing (SigningString) with
// pub: RSA PKCS#1 v1.5 over the SHA-256 of the string, which is what
// SHA256withRSA means ("the SHA-256 hash of the string and the private key
// are passed to the RSA signing algorithm", and
// RSASignatureAlgorithm.PKCS1_5_SHA256 in validate-logs).
func Verify(pub *rsa.PublicKey, signing []byte, sigHex string) error {
	sig, err := hex.DecodeString(sigHex)
	if err != nil {
		return fmt.Errorf("%w: signature is not hex: %v", ErrBadSignature, err)
	}
	sum := sha256.Sum256(signing)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return ErrBadSignature
	}
	return nil
}

// Sign is the signer's side of Verify, for tests and tools that make their
// own digests: it returns the hex signature CloudTrail would put in the
// digest object's x-amz-meta-signature.
func Sign(priv *rsa.PrivateKey, signing []byte) (string, error) {
	sum := sha256.Sum256(signing)
	sig, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign digest: %w", err)
	}
	return hex.EncodeToString(sig), nil
}
