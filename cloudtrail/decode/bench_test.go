package decode

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode/transcodetest"
)

// benchDecode runs the whole path, gzip bytes in memory to 1 MiB batches of
// entries, over objects, and reports throughput per uncompressed byte and
// events per second.
func benchDecode(b *testing.B, objects [][]byte, enc func() *Decoder) {
	d := enc()
	var rd bytes.Reader
	events, size := 0, int64(0)
	emit := func([]byte, int) error { return nil }
	for _, o := range objects {
		rd.Reset(o)
		st, err := d.Decode(&rd, testSrc, 1<<20, emit)
		if err != nil {
			b.Fatal(err)
		}
		events += st.Events
		size += st.UncompressedBytes
	}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, o := range objects {
			rd.Reset(o)
			if _, err := d.Decode(&rd, testSrc, 1<<20, emit); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(events), "events/op")
}

func rawDecoder() *Decoder { return New(&transcode.Raw{}, Limits{}) }

func BenchmarkDecodeRaw(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		c := transcodetest.Generate(n)
		b.Run(fmt.Sprintf("gzip/events=%d", n), func(b *testing.B) {
			benchDecode(b, [][]byte{c.Gzip}, rawDecoder)
		})
	}
	c := transcodetest.Generate(1000)
	b.Run("plain/events=1000", func(b *testing.B) {
		benchDecode(b, [][]byte{c.JSON}, rawDecoder)
	})
	b.Run("gzip-generic-path/events=1000", func(b *testing.B) {
		benchDecode(b, [][]byte{c.Gzip}, func() *Decoder { return New(appendOnly{&transcode.Raw{}}, Limits{}) })
	})
}

// BenchmarkDecodeRealFiles decodes every real CloudTrail log file in the
// shared test data once per iteration; they are small, so this mostly
// measures per-object overhead.
func BenchmarkDecodeRealFiles(b *testing.B) {
	logs, _ := realFiles(b)
	var objects [][]byte
	for _, p := range logs {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		objects = append(objects, data)
	}
	benchDecode(b, objects, rawDecoder)
}
