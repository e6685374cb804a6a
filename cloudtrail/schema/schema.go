// Package schema picks the record encoder for an instance's `schema` key.
package schema

import (
	"fmt"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode"
)

// Factory returns a constructor of encoders for c.Schema; each worker owns
// one encoder. It builds one up front so that a bad option fails Init, not
// the first object.
func Factory(c *config.Config) (func() (record.Encoder, error), error) {
	var f func() (record.Encoder, error)
	switch c.Schema {
	case normalize.SchemaRaw:
		f = func() (record.Encoder, error) { return &transcode.Raw{}, nil }
	case normalize.SchemaOCSF, normalize.SchemaECS:
		nc := normalize.Config{Schema: c.Schema, OCSFVersion: c.OCSFVersion, OCSFClasses: c.OCSFClasses}
		f = func() (record.Encoder, error) { return normalize.New(nc) }
	default:
		return nil, fmt.Errorf("schema %q: unknown: use raw, ocsf or ecs", c.Schema)
	}
	enc, err := f()
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", c.Schema, err)
	}
	if enc == nil {
		return nil, fmt.Errorf("schema %s: no encoder", c.Schema)
	}
	return f, nil
}
