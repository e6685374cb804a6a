package integrity_test

import (
	"bytes"
	"testing"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/decode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/integrity"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
)

// BenchmarkDecode measures what integrity on adds to the hot path: the
// SHA-256 of every uncompressed byte, fed by Decoder.Tee while the object
// is decoded (raw schema, gzip'd synthetic log file of 1000 events).
func BenchmarkDecode(b *testing.B) {
	body, _ := seed.Synthetic("bench", 1000)
	gz := seed.Gzip(body)
	for _, hashed := range []bool{false, true} {
		name := "integrity=off"
		if hashed {
			name = "integrity=on"
		}
		b.Run(name, func(b *testing.B) {
			dec := decode.New(&transcode.Raw{}, decode.DefaultLimits())
			src := &record.Source{Bucket: "b", Key: "k"}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				h := integrity.NewHash()
				if hashed {
					dec.Tee(h)
				}
				if _, err := dec.Decode(bytes.NewReader(gz), src, 1<<20, func([]byte, int) error { return nil }); err != nil {
					b.Fatal(err)
				}
				h.Sum(nil)
			}
		})
	}
}
