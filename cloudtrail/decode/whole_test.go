package decode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode/transcodetest"
)

// goInflater keeps Inflater's contract with the Go gzip reader; the plugin's
// libdeflate one is checked against the same decoder in its own package.
type goInflater struct {
	out           []byte
	calls, oks    int
	lastSize      int
	failOnPurpose bool
}

func (g *goInflater) Inflate(src []byte, size int) ([]byte, error) {
	g.calls++
	g.lastSize = size
	if g.failOnPurpose {
		return nil, errors.New("declined")
	}
	zr, err := gzip.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	g.out = g.out[:0]
	b := bytes.NewBuffer(g.out)
	if _, err := io.Copy(b, io.LimitReader(zr, int64(size)+1)); err != nil {
		return nil, err
	}
	if b.Len() != size {
		return nil, fmt.Errorf("%d bytes, want %d", b.Len(), size)
	}
	g.out = b.Bytes()
	g.oks++
	return g.out, nil
}

// errAfter returns data, then err.
type errAfter struct {
	data []byte
	err  error
}

func (e *errAfter) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

// TestWholeInflateMatchesStreaming decodes every input twice, streaming and
// with an Inflater, and requires the same entries, batches, stats and error:
// the Inflater may only change the speed.
func TestWholeInflateMatchesStreaming(t *testing.T) {
	c := transcodetest.Generate(300)
	flipped := bytes.Clone(c.Gzip)
	flipped[len(flipped)/2] ^= 0xff
	badCRC := bytes.Clone(c.Gzip)
	badCRC[len(badCRC)-6] ^= 0xff
	badSize := bytes.Clone(c.Gzip)
	badSize[len(badSize)-4]++ // the trailer claims one byte more
	var multi []byte
	for _, part := range [][]byte{c.JSON[:1000], c.JSON[1000:50000], c.JSON[50000:]} {
		multi = append(multi, gz(t, part)...)
	}
	ev := `{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z"}`
	big := transcodetest.Generate(6000) // more than wholeMaxSize of JSON
	if len(big.JSON) <= wholeMaxSize {
		t.Fatalf("big corpus is only %d bytes", len(big.JSON))
	}
	readErr := errors.New("connection reset")
	cases := []struct {
		name  string
		in    func() io.Reader
		lim   Limits
		whole bool // the Inflater must have done the work
	}{
		{"log file", func() io.Reader { return bytes.NewReader(c.Gzip) }, Limits{}, true},
		{"one event", func() io.Reader { return bytes.NewReader(gz(t, []byte(ev))) }, Limits{}, true},
		{"truncated json", func() io.Reader { return bytes.NewReader(gz(t, c.JSON[:len(c.JSON)/2])) }, Limits{}, true},
		{"bad event", func() io.Reader { return bytes.NewReader(gz(t, []byte(`{"Records":[`+ev+`,{"a":tru}]}`))) }, Limits{}, true},
		{"not cloudtrail", func() io.Reader { return bytes.NewReader(gz(t, []byte(`{"foo":1}`))) }, Limits{}, true},
		{"event over MaxEventBytes", func() io.Reader { return bytes.NewReader(c.Gzip) }, Limits{MaxEventBytes: 1000}, false},
		{"over MaxDecompressedBytes", func() io.Reader { return bytes.NewReader(c.Gzip) }, Limits{MaxDecompressedBytes: 50000}, false},
		{"bigger than wholeMaxSize", func() io.Reader { return bytes.NewReader(big.Gzip) }, Limits{}, false},
		{"empty gzip", func() io.Reader { return bytes.NewReader(gz(t, nil)) }, Limits{}, false},
		{"multi-member", func() io.Reader { return bytes.NewReader(multi) }, Limits{}, false},
		{"flipped byte", func() io.Reader { return bytes.NewReader(flipped) }, Limits{}, false},
		{"bad checksum", func() io.Reader { return bytes.NewReader(badCRC) }, Limits{}, false},
		{"trailer size wrong", func() io.Reader { return bytes.NewReader(badSize) }, Limits{}, false},
		{"truncated gzip", func() io.Reader { return bytes.NewReader(c.Gzip[:len(c.Gzip)/2]) }, Limits{}, false},
		{"header only", func() io.Reader { return bytes.NewReader(c.Gzip[:5]) }, Limits{}, false},
		{"trailing garbage", func() io.Reader { return bytes.NewReader(append(bytes.Clone(c.Gzip), "garbage"...)) }, Limits{}, false},
		{"read error", func() io.Reader { return &errAfter{c.Gzip[:len(c.Gzip)/2], readErr} }, Limits{}, false},
		{"one byte at a time", func() io.Reader { return &chunkReader{r: bytes.NewReader(c.Gzip), n: 1} }, Limits{}, true},
	}
	for _, tc := range cases {
		stream := run(t, New(&transcode.Raw{}, tc.lim), tc.in(), 64<<10)
		inf := &goInflater{}
		d := New(&transcode.Raw{}, tc.lim)
		d.SetInflater(inf)
		var tee bytes.Buffer
		d.Tee(&tee)
		whole := run(t, d, tc.in(), 64<<10)
		if fmt.Sprint(whole.err) != fmt.Sprint(stream.err) {
			t.Errorf("%s: error %v, streaming gives %v", tc.name, whole.err, stream.err)
		}
		if !bytes.Equal(whole.out, stream.out) || fmt.Sprint(whole.counts) != fmt.Sprint(stream.counts) {
			t.Errorf("%s: entries differ from streaming (%d vs %d bytes, batches %v vs %v)", tc.name, len(whole.out), len(stream.out), whole.counts, stream.counts)
		}
		if whole.stats != stream.stats {
			t.Errorf("%s: stats %+v, streaming gives %+v", tc.name, whole.stats, stream.stats)
		}
		if used := inf.oks > 0; used != tc.whole {
			t.Errorf("%s: inflated whole %v, want %v (calls %d)", tc.name, used, tc.whole, inf.calls)
		}
		if stream.err == nil && int64(tee.Len()) != stream.stats.UncompressedBytes {
			t.Errorf("%s: tee got %d bytes of %d", tc.name, tee.Len(), stream.stats.UncompressedBytes)
		}
		if cap(d.zbuf) > wholeKeepCompressed {
			t.Errorf("%s: an idle decoder keeps a %d-byte compressed buffer", tc.name, cap(d.zbuf))
		}
		if errors.Is(stream.err, readErr) != errors.Is(whole.err, readErr) {
			t.Errorf("%s: read error not kept: %v", tc.name, whole.err)
		}
	}
}

// TestWholeInflateDeclined: an Inflater that fails leaves the work to the
// streaming path, with the same output.
func TestWholeInflateDeclined(t *testing.T) {
	c := transcodetest.Generate(100)
	want := run(t, New(&transcode.Raw{}, Limits{}), bytes.NewReader(c.Gzip), 1<<20)
	inf := &goInflater{failOnPurpose: true}
	d := New(&transcode.Raw{}, Limits{})
	d.SetInflater(inf)
	got := run(t, d, bytes.NewReader(c.Gzip), 1<<20)
	if got.err != nil || !bytes.Equal(got.out, want.out) || inf.calls != 1 || inf.lastSize != len(c.JSON) {
		t.Fatalf("err %v, equal %v, calls %d, size %d of %d", got.err, bytes.Equal(got.out, want.out), inf.calls, inf.lastSize, len(c.JSON))
	}
	// The decoder is reused: the next object goes whole again, through
	// the window's own buffer once more for plain JSON.
	inf.failOnPurpose = false
	for _, in := range [][]byte{c.Gzip, c.JSON, c.Gzip} {
		got = run(t, d, bytes.NewReader(in), 1<<20)
		if got.err != nil || !bytes.Equal(got.out, want.out) {
			t.Fatalf("reused decoder: err %v", got.err)
		}
	}
	if inf.oks != 2 {
		t.Errorf("%d objects inflated whole, want 2", inf.oks)
	}
	if inf.calls != 3 {
		t.Errorf("%d calls to the Inflater, want 3 (plain JSON needs none)", inf.calls)
	}
}
