package bench

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/decode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/schema"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode/transcodetest"
)

// batchBytes is what a collector worker asks of the decoder with the default
// buffer_max_size (min(1 MiB, buffer_max_size/8)).
const batchBytes = 1 << 20

var schemas = []string{"raw", "ocsf", "ecs"}

var src = &record.Source{
	QueueURL:  "https://sqs.us-east-1.amazonaws.com/123456789012/cloudtrail",
	MessageID: "6f1c5e0a-9b2d-4c1e-8f3a-0d2b7c9e4a15",
	Bucket:    "trail-bucket",
	Key:       "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/14/123456789012_CloudTrail_us-east-1_20240314T0905Z_abcdef0123456789.json.gz",
	Received:  time.Date(2024, 3, 14, 9, 6, 0, 0, time.UTC),
}

// decoder returns a Decoder with the encoder the plugin builds for s.
func decoder(tb testing.TB, s string) *decode.Decoder {
	tb.Helper()
	cfg, err := config.Parse(func(k string) string {
		switch k {
		case "queue_url":
			return src.QueueURL
		case "schema":
			return s
		}
		return ""
	})
	if err != nil {
		tb.Fatal(err)
	}
	f, err := schema.Factory(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	enc, err := f()
	if err != nil {
		tb.Fatal(err)
	}
	return decode.New(enc, decode.DefaultLimits())
}

// run decodes every object once and returns events and uncompressed bytes.
func run(tb testing.TB, d *decode.Decoder, objects [][]byte, rd *bytes.Reader, emit func([]byte, int) error) (int, int64) {
	events, size := 0, int64(0)
	for _, o := range objects {
		rd.Reset(o)
		st, err := d.Decode(rd, src, batchBytes, emit)
		if err != nil {
			tb.Fatal(err)
		}
		events += st.Events
		size += st.UncompressedBytes
	}
	return events, size
}

// benchObjects reports MB/s of uncompressed JSON (SetBytes), events/s,
// allocs/event and the usual -benchmem figures per pass over objects.
func benchObjects(b *testing.B, s string, objects [][]byte) {
	d := decoder(b, s)
	var rd bytes.Reader
	emit := func([]byte, int) error { return nil }
	events, size := run(b, d, objects, &rd, emit) // warm-up, and the totals
	measure(b, events, size, func() { run(b, d, objects, &rd, emit) })
}

// measure times pass, which handles events events and size bytes of JSON,
// and reports the metrics of benchObjects.
func measure(b *testing.B, events int, size int64, pass func()) {
	b.SetBytes(size)
	b.ReportAllocs()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ResetTimer()
	for b.Loop() {
		pass()
	}
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	n := float64(events) * float64(b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/n, "allocs/event")
}

// BenchmarkSchema is the decode path per schema on the project's
// deterministic corpus (about 1.7 KB per event, about 6× gzip, the event mix
// of docs/perf-limits.md), for a typical 1,000-event object and a large
// 10,000-event one.
func BenchmarkSchema(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		gz := transcodetest.Generate(n).Gzip
		for _, s := range schemas {
			b.Run(fmt.Sprintf("schema=%s/events=%d", s, n), func(b *testing.B) {
				benchObjects(b, s, [][]byte{gz})
			})
		}
	}
}

// BenchmarkSchemaRealFiles decodes every real CloudTrail log file of the
// test data (the project's, and ../shared/testdata/cloudtrail when present),
// gzip'd as CloudTrail stores them, once per op. The files are small (1 to a
// few hundred events), so per-object overhead weighs more than on the
// synthetic corpus.
func BenchmarkSchemaRealFiles(b *testing.B) {
	objects := realObjects(b)
	for _, s := range schemas {
		b.Run("schema="+s, func(b *testing.B) {
			benchObjects(b, s, objects)
		})
	}
}

var realDirs = []string{"../../test/testdata/cloudtrail", "../../../shared/testdata/cloudtrail"}

// realObjects returns the distinct CloudTrail log files (with a Records
// array; digests and OCSF outputs left out) under realDirs, gzip-compressed.
func realObjects(tb testing.TB) [][]byte {
	seen := map[string]bool{}
	var paths []string
	var out [][]byte
	for _, dir := range realDirs {
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		filepath.WalkDir(dir, func(p string, de os.DirEntry, err error) error {
			if err == nil && !de.IsDir() && !strings.HasSuffix(p, ".ocsf.json") &&
				(strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".gz")) {
				paths = append(paths, p)
			}
			return nil
		})
	}
	sort.Strings(paths)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				continue
			}
			if data, err = io.ReadAll(zr); err != nil {
				continue
			}
		}
		var doc struct{ Records []json.RawMessage }
		if json.Unmarshal(data, &doc) != nil || len(doc.Records) == 0 || seen[string(data)] {
			continue
		}
		seen[string(data)] = true
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(data)
		zw.Close()
		out = append(out, z.Bytes())
	}
	if len(out) < 20 {
		tb.Fatalf("found only %d CloudTrail log files under %v", len(out), realDirs)
	}
	return out
}

// TestRealFilesEverySchema makes sure the real-files benchmark measures
// successful decodes: every file decodes with every schema.
func TestRealFilesEverySchema(t *testing.T) {
	objects := realObjects(t)
	for _, s := range schemas {
		var rd bytes.Reader
		events, size := run(t, decoder(t, s), objects, &rd, func([]byte, int) error { return nil })
		t.Logf("schema %s: %d files, %d events, %d bytes of JSON", s, len(objects), events, size)
	}
}

// TestPeakHeapEverySchema checks that memory does not grow with the object,
// for every schema: one 10,000-event object (about 19 MB of JSON, 3 MB of
// gzip) must decode within a few MiB of heap. Each batch is handed on before
// the next is written into the same buffer, as the collector does
// (ReuseBatches: it copies batches into its C record memory). Two figures: the peak of
// the heap's objects (live plus garbage the GC has not yet reclaimed, which
// is what the process pays for) and the peak live heap measured by each GC.
func TestPeakHeapEverySchema(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short mode: decodes a 10,000-event object per schema to measure peak heap; make test runs it (no -short)")
	}
	gz := transcodetest.Generate(10000).Gzip
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	for _, s := range schemas {
		d := decoder(t, s)
		d.ReuseBatches()
		runtime.GC()
		runtime.GC()
		metrics.Read(sample)
		base, baseLive, gc0 := sample[0].Value.Uint64(), sample[1].Value.Uint64(), sample[2].Value.Uint64()
		var mu sync.Mutex
		var peak, peakLive uint64
		bump := func() {
			mu.Lock()
			defer mu.Unlock()
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			peakLive = max(peakLive, sample[1].Value.Uint64())
		}
		done, stopped := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(stopped)
			for {
				bump()
				select {
				case <-done:
					return
				case <-time.After(50 * time.Microsecond):
				}
			}
		}()
		events := 0
		st, err := d.Decode(bytes.NewReader(gz), src, batchBytes, func(b []byte, n int) error {
			events += n
			bump()
			return nil
		})
		close(done)
		<-stopped
		if err != nil || events != 10000 {
			t.Fatalf("schema %s: %v, %d events", s, err, events)
		}
		grow, live := float64(int64(peak)-int64(base))/(1<<20), float64(int64(peakLive)-int64(baseLive))/(1<<20)
		t.Logf("schema %s: %.1f MB JSON: peak heap +%.2f MiB (live +%.2f MiB at the GCs, %d GCs)", s, float64(st.UncompressedBytes)/1e6, grow, live, sample[2].Value.Uint64()-gc0)
		if grow > 4 || live > 4 {
			t.Errorf("schema %s: heap grew by %.1f MiB (live %.1f MiB) while decoding one 10,000-event object", s, grow, live)
		}
	}
}
