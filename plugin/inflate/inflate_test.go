//go:build !nolibdeflate

package inflate

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/decode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode/transcodetest"
)

func TestInflate(t *testing.T) {
	c := transcodetest.Generate(500)
	f := New()
	out, err := f.Inflate(c.Gzip, len(c.JSON))
	if err != nil || !bytes.Equal(out, c.JSON) {
		t.Fatalf("corpus: err %v, equal %v", err, bytes.Equal(out, c.JSON))
	}
	// Several members, as gzip allows.
	multi := append(transcodetest.Gzip(c.JSON[:1000]), transcodetest.Gzip(c.JSON[1000:])...)
	if out, err = f.Inflate(multi, len(c.JSON)); err != nil || !bytes.Equal(out, c.JSON) {
		t.Fatalf("multi-member: err %v", err)
	}
	flipped := bytes.Clone(c.Gzip)
	flipped[len(flipped)/2] ^= 0xff
	badCRC := bytes.Clone(c.Gzip)
	badCRC[len(badCRC)-6] ^= 0xff
	for name, tc := range map[string]struct {
		src  []byte
		size int
	}{
		"flipped byte":      {flipped, len(c.JSON)},
		"bad checksum":      {badCRC, len(c.JSON)},
		"truncated":         {c.Gzip[:len(c.Gzip)/2], len(c.JSON)},
		"size too small":    {c.Gzip, len(c.JSON) - 1},
		"size too large":    {c.Gzip, len(c.JSON) + 1},
		"trailing garbage":  {append(bytes.Clone(c.Gzip), "garbage"...), len(c.JSON)},
		"not gzip":          {c.JSON, len(c.JSON)},
		"empty":             {nil, 10},
		"members too large": {multi, len(c.JSON) - 1000},
	} {
		if _, err := f.Inflate(tc.src, tc.size); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// The buffer is reused once grown.
	a, _ := f.Inflate(c.Gzip, len(c.JSON))
	small := transcodetest.Gzip(c.JSON[:100])
	b, err := f.Inflate(small, 100)
	if err != nil || &a[0] != &b[0] || !bytes.Equal(b, c.JSON[:100]) {
		t.Errorf("second object: err %v, same buffer %v", err, &a[0] == &b[0])
	}
}

// TestDecoderWithLibdeflate: the decoder gives the same entries with
// libdeflate as with Go's streaming reader, on the synthetic corpus and on
// many small objects through one reused decoder.
func TestDecoderWithLibdeflate(t *testing.T) {
	src := &record.Source{Bucket: "b", Key: "k", MessageID: "m", QueueURL: "q"}
	stream := decode.New(&transcode.Raw{}, decode.Limits{})
	whole := decode.New(&transcode.Raw{}, decode.Limits{})
	used := &counting{Inflater: New()}
	whole.SetInflater(used)
	for _, n := range []int{1, 7, 1000, 3000, 10} {
		c := transcodetest.Generate(n)
		var a, b []byte
		sa, err := stream.Decode(bytes.NewReader(c.Gzip), src, 64<<10, func(p []byte, _ int) error { a = append(a, p...); return nil })
		if err != nil {
			t.Fatal(err)
		}
		sb, err := whole.Decode(bytes.NewReader(c.Gzip), src, 64<<10, func(p []byte, _ int) error { b = append(b, p...); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) || sa != sb || sb.Events != n {
			t.Fatalf("%d events: outputs differ (%d vs %d bytes), stats %+v vs %+v", n, len(a), len(b), sa, sb)
		}
	}
	if used.ok != 5 {
		t.Errorf("libdeflate inflated %d of 5 objects", used.ok)
	}
}

type counting struct {
	decode.Inflater
	ok int
}

func (c *counting) Inflate(src []byte, size int) ([]byte, error) {
	out, err := c.Inflater.Inflate(src, size)
	if err == nil {
		c.ok++
	}
	return out, err
}

// BenchmarkInflate compares libdeflate's whole-object inflate with the
// streaming Go reader the decoder uses otherwise (klauspost/compress), on a
// typical 1,000-event object; MB/s are of JSON.
func BenchmarkInflate(b *testing.B) {
	c := transcodetest.Generate(1000)
	b.Run("libdeflate", func(b *testing.B) {
		f := New()
		b.SetBytes(int64(len(c.JSON)))
		for b.Loop() {
			if _, err := f.Inflate(c.Gzip, len(c.JSON)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-stream", func(b *testing.B) {
		var rd bytes.Reader
		rd.Reset(c.Gzip)
		zr, err := gzip.NewReader(&rd)
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 64<<10)
		b.SetBytes(int64(len(c.JSON)))
		for b.Loop() {
			rd.Reset(c.Gzip)
			if err := zr.Reset(&rd); err != nil {
				b.Fatal(err)
			}
			if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{zr}, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}
