// Package normalize selects the output schema of the plugin. The schemas
// themselves live in the sub-packages: ocsf (OCSF 1.1.0/1.5.0, as Amazon
// Security Lake maps CloudTrail) and ecs (Elastic Common Schema, as
// Elastic's AWS integration maps it). Both parse each event with jsontree
// and write msgpack directly, without building Go maps, so normalizing
// stays in the same cost range as the raw transcoder.
package normalize

import (
	"fmt"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/ecs"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/ocsf"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

// Schema names accepted by the plugin's "schema" key.
const (
	SchemaRaw  = "raw"
	SchemaOCSF = "ocsf"
	SchemaECS  = "ecs"
)

// Config is the part of the plugin configuration that concerns schemas.
type Config struct {
	Schema      string // "raw" (default when empty), "ocsf" or "ecs"
	OCSFVersion string // ocsf_version: "1.1.0" (default) or "1.5.0"
	OCSFClasses string // ocsf_classes: "default" or "api_activity"
}

// New returns the Encoder for cfg.Schema. For "raw" it returns (nil, nil):
// the raw schema is the transcoder's job, not a normalization. Unknown
// values are an error that names them.
func New(cfg Config) (record.Encoder, error) {
	switch cfg.Schema {
	case "", SchemaRaw:
		if cfg.OCSFVersion != "" || cfg.OCSFClasses != "" {
			// Validate anyway so a typo does not wait until the schema changes.
			if _, err := ocsf.New(ocsf.Options{Version: cfg.OCSFVersion, Classes: cfg.OCSFClasses}); err != nil {
				return nil, err
			}
		}
		return nil, nil
	case SchemaOCSF:
		return ocsf.New(ocsf.Options{Version: cfg.OCSFVersion, Classes: cfg.OCSFClasses})
	case SchemaECS:
		if _, err := ocsf.New(ocsf.Options{Version: cfg.OCSFVersion, Classes: cfg.OCSFClasses}); err != nil {
			return nil, err
		}
		return ecs.New(), nil
	default:
		return nil, fmt.Errorf("normalize: unknown schema %q (want %q, %q or %q)", cfg.Schema, SchemaRaw, SchemaOCSF, SchemaECS)
	}
}
