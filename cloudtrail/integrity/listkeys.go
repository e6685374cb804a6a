package integrity

import (
	"context"
	"crypto/rsa"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// ListKeysAPI is the part of the CloudTrail client AWSKeys uses.
type ListKeysAPI interface {
	ListPublicKeys(context.Context, *cloudtrail.ListPublicKeysInput, ...func(*cloudtrail.Options)) (*cloudtrail.ListPublicKeysOutput, error)
}

// AWSKeys is a KeySource backed by cloudtrail:ListPublicKeys, asked in the
// digest's region ("Each digest file is signed with a private key unique to
// its Region ... you must look in the same Region", ListPublicKeys in the
// CloudTrail API reference) for the hour around the digest, as
// validate-logs asks for its whole range. Keys found are kept (CloudTrail
// rotates them rarely; at most maxKeys); a fingerprint ListPublicKeys does
// not know is remembered for missTTL so that digests naming it do not call
// AWS each time.
type AWSKeys struct {
	// Client returns the CloudTrail client of a region.
	Client func(region string) ListKeysAPI

	mu     sync.Mutex
	keys   map[string]*rsa.PublicKey // by region + "/" + fingerprint
	misses map[string]time.Time      // by region + "/" + fingerprint: when it was not found
}

const (
	maxKeys = 256
	missTTL = 10 * time.Minute
)

// Key implements KeySource.
func (a *AWSKeys) Key(ctx context.Context, region, fingerprint string, at time.Time) (*rsa.PublicKey, error) {
	id := region + "/" + fingerprint
	a.mu.Lock()
	if k, ok := a.keys[id]; ok {
		a.mu.Unlock()
		return k, nil
	}
	if t, ok := a.misses[id]; ok && time.Since(t) < missTTL {
		a.mu.Unlock()
		return nil, ErrUnknownKey
	}
	a.mu.Unlock()

	start, end := at.Add(-time.Hour), at.Add(time.Hour)
	if now := time.Now(); end.After(now) {
		end = now
	}
	if !start.Before(end) {
		start = end.Add(-time.Hour)
	}
	out, err := a.Client(region).ListPublicKeys(ctx, &cloudtrail.ListPublicKeysInput{StartTime: aws.Time(start), EndTime: aws.Time(end)})
	if err != nil {
		return nil, fmt.Errorf("cloudtrail:ListPublicKeys in %s: %w", region, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.keys == nil {
		a.keys, a.misses = map[string]*rsa.PublicKey{}, map[string]time.Time{}
	}
	var found *rsa.PublicKey
	for _, pk := range out.PublicKeyList {
		k, err := ParsePublicKey(pk.Value)
		if err != nil {
			continue // a key we cannot read cannot verify anything
		}
		// Index by the fingerprint computed from the key, not the one AWS
		// sends along, so a key is only ever used for its own fingerprint.
		fp := Fingerprint(pk.Value)
		if len(a.keys) >= maxKeys {
			clear(a.keys)
		}
		a.keys[region+"/"+fp] = k
		if fp == fingerprint {
			found = k
		}
	}
	if found == nil {
		if len(a.misses) >= maxKeys {
			clear(a.misses)
		}
		a.misses[id] = time.Now()
		return nil, ErrUnknownKey
	}
	return found, nil
}
