// Package schema picks the record encoder for an instance's `schema` key.
package schema

import (
	"fmt"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode"
)

// Factory returns a constructor of encoders for c.Schema. It builds one
// encoder up front so that a bad option fails Init, not the first object.
func Factory(c *config.Config) (func() (record.Encoder, error), error) {
	var f func() (record.Encoder, error)
	switch c.Schema {
	case "raw":
		f = func() (record.Encoder, error) { return &transcode.Raw{}, nil }
	default:
		return nil, fmt.Errorf("schema %q: unknown: use raw, ocsf or ecs", c.Schema)
	}
	if _, err := f(); err != nil {
		return nil, fmt.Errorf("schema %s: %w", c.Schema, err)
	}
	return f, nil
}
