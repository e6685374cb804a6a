package transcode

import (
	"encoding/json"
	"testing"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode/transcodetest"
)

// BenchmarkRawAppend measures the transcoder alone on the synthetic
// corpus's events, already split.
func BenchmarkRawAppend(b *testing.B) {
	c := transcodetest.Generate(1000)
	var doc struct{ Records []json.RawMessage }
	if err := json.Unmarshal(c.JSON, &doc); err != nil {
		b.Fatal(err)
	}
	size := 0
	for _, ev := range doc.Records {
		size += len(ev)
	}
	var r Raw
	buf := make([]byte, 0, 64<<10)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, ev := range doc.Records {
			var err error
			if _, err = r.Append(buf[:0], ev, testSrc); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(doc.Records))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkParseRFC3339(b *testing.B) {
	s := []byte("2024-01-02T03:04:05Z")
	for b.Loop() {
		if _, _, ok := parseRFC3339(s); !ok {
			b.Fatal("parse failed")
		}
	}
}
