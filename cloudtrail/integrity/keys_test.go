package integrity_test

import (
	"context"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/integrity"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
)

// fakeTrail answers ListPublicKeys with one key and counts the calls.
type fakeTrail struct {
	der   []byte
	calls int
	err   error
}

func (f *fakeTrail) ListPublicKeys(_ context.Context, in *cloudtrail.ListPublicKeysInput, _ ...func(*cloudtrail.Options)) (*cloudtrail.ListPublicKeysOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	if in.StartTime == nil || in.EndTime == nil || !in.StartTime.Before(*in.EndTime) {
		return nil, errors.New("bad time range")
	}
	return &cloudtrail.ListPublicKeysOutput{PublicKeyList: []cttypes.PublicKey{{
		Fingerprint: aws.String(integrity.Fingerprint(f.der)), Value: f.der,
	}}}, nil
}

func TestAWSKeys(t *testing.T) {
	ch, err := seed.NewDigests("b", "111122223333", "eu-west-1", "t")
	if err != nil {
		t.Fatal(err)
	}
	ft := &fakeTrail{der: x509.MarshalPKCS1PublicKey(&ch.Priv.PublicKey)}
	var regions []string
	k := &integrity.AWSKeys{Client: func(region string) integrity.ListKeysAPI { regions = append(regions, region); return ft }}
	at := time.Date(2024, 1, 1, 1, 0, 0, 0, time.UTC)
	for range 2 {
		pub, err := k.Key(context.Background(), "eu-west-1", ch.Fingerprint, at)
		if err != nil || !pub.Equal(&ch.Priv.PublicKey) {
			t.Fatalf("key: %v", err)
		}
	}
	if ft.calls != 1 || regions[0] != "eu-west-1" {
		t.Fatalf("calls %d regions %v: the key is cached", ft.calls, regions)
	}
	for range 2 {
		if _, err := k.Key(context.Background(), "eu-west-1", "00000000000000000000000000000000", at); !errors.Is(err, integrity.ErrUnknownKey) {
			t.Fatalf("unknown: %v", err)
		}
	}
	if ft.calls != 2 {
		t.Fatalf("calls %d: an unknown fingerprint is remembered", ft.calls)
	}
	ft.err = errors.New("throttled")
	if _, err := k.Key(context.Background(), "us-east-1", ch.Fingerprint, at); err == nil || errors.Is(err, integrity.ErrUnknownKey) {
		t.Fatalf("AWS error: %v", err)
	}
	// The fingerprint is the hex MD5 of the DER PKCS#1 key, as in the digest.
	if integrity.Fingerprint(ft.der) != ch.Fingerprint {
		t.Fatal("fingerprint")
	}
}
