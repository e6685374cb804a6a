//go:build nolibdeflate

package inflate

import "github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/decode"

// Available reports whether this build inflates with libdeflate: built with
// -tags nolibdeflate, it does not, and gzip objects stream through Go's
// reader.
const Available = false

// New returns nil: the decoder streams.
func New() decode.Inflater { return nil }
