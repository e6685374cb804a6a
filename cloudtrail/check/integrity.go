package check

import (
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/integrity"
)

// integrityKeys checks, when integrity is on, where the public keys that
// verify digest files come from: the integrity_public_keys file must hold
// at least one key; without it the principal must be allowed
// cloudtrail:ListPublicKeys (asked here in the configured region; the
// plugin asks in each digest's region, with the same permission).
func (r *run) integrityKeys() {
	if !r.cfg.Integrity {
		return
	}
	if f := r.cfg.IntegrityPublicKeys; f != "" {
		keys, err := integrity.LoadKeys(f)
		if err != nil {
			r.fail("integrity_public_keys", "%v", err)
			return
		}
		r.ok("integrity_public_keys", "%s: %d public key(s); cloudtrail:ListPublicKeys is not used", f, len(keys))
		return
	}
	c := r.clients
	if c == nil {
		var err error
		if c, err = r.newClients(r.cfg); err != nil {
			r.fail("region", "%v", err)
			return
		}
		defer closeIdle(c)
	}
	ctx, cancel := r.call()
	defer cancel()
	out, err := c.CloudTrail(r.cfg.Region).ListPublicKeys(ctx, &cloudtrail.ListPublicKeysInput{})
	if err != nil {
		r.fail("cloudtrail:ListPublicKeys", "%s", r.denied(err, "cloudtrail:ListPublicKeys", "*", "integrity"))
		return
	}
	r.ok("cloudtrail:ListPublicKeys", "allowed: %d current public key(s) in %s to verify digest files", len(out.PublicKeyList), r.cfg.Region)
}
