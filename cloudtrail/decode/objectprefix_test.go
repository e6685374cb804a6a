package decode

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode/transcodetest"
)

// TestObjectPrefixMatchesScanPath decodes valid, cut, corrupted and deep
// inputs with each normalizing encoder twice, straight out of the window
// and through scan-then-Append, in small and odd reads: the batches, the
// stats and the error text must be the same.
func TestObjectPrefixMatchesScanPath(t *testing.T) {
	c := transcodetest.Generate(300)
	inputs := map[string][]byte{"corpus": c.JSON, "corpus gzip": c.Gzip}
	logs, _ := realFiles(t)
	for _, p := range logs {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		inputs[p] = data
	}
	for _, tail := range []string{`t`, `tr`, `tx`, `t]`, `1`, `1 `, `"a`, `"a\`, `"a"`, `"a":`, `[`, `{`, `{"b"`, `n,`} {
		inputs["cut after "+tail] = []byte(`{"Records":[` + deepEvent("a", 2) + `,{"eventVersion":"1.08","x":` + tail)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for k := range 60 {
		cut := rng.IntN(len(c.JSON))
		inputs[fmt.Sprintf("cut at %d", cut)] = c.JSON[:cut]
		bad := bytes.Clone(c.JSON)
		for range 1 + k%4 {
			bad[rng.IntN(len(bad))] = `"{}[]:,\ x0-eE.tn`[rng.IntN(17)]
		}
		inputs[fmt.Sprintf("corrupted %d", k)] = bad
		// A corruption just before the end of the input: a cut value
		// and a bad one must still be told apart.
		at := rng.IntN(len(bad) - 4)
		inputs[fmt.Sprintf("corrupted and cut %d", k)] = bad[:at+1+k%3]
	}
	for _, depth := range []int{30, 511, 512, 513, 999, 1000, 1001} {
		inputs[fmt.Sprintf("depth %d", depth)] = []byte(`{"Records":[` + deepEvent("d", depth) + `,` + deepEvent("e", 3) + `]}`)
	}
	inputs["big event"] = []byte(`{"Records":[` + deepEvent("a", 2) + `,{"eventVersion":"1.08","eventName":"Big","x":"` +
		strings.Repeat("y", 200<<10) + `"},` + deepEvent("b", 2) + `]}`)
	readers := map[string]func(io.Reader) io.Reader{
		"whole": func(r io.Reader) io.Reader { return r },
		"half":  iotest.HalfReader,
		"7":     func(r io.Reader) io.Reader { return &chunkReader{r, 7} },
	}
	limits := []Limits{{}, {MaxDepth: 20}, {MaxEventBytes: 100 << 10}}
	for _, schema := range []string{normalize.SchemaOCSF, normalize.SchemaECS} {
		newEnc := func() record.Encoder {
			enc, err := normalize.New(normalize.Config{Schema: schema})
			if err != nil {
				t.Fatal(err)
			}
			return enc
		}
		if _, ok := newEnc().(objectPrefixEncoder); !ok {
			t.Fatalf("%s: encoder does not parse out of the window", schema)
		}
		for name, in := range inputs {
			for rname, rd := range readers {
				if rname != "whole" && !strings.HasPrefix(name, "corpus") && !strings.HasPrefix(name, "depth") {
					continue // the cut and corrupted inputs are many: whole reads suffice
				}
				for _, lim := range limits {
					fast := run(t, New(newEnc(), lim), rd(bytes.NewReader(in)), 4<<10)
					slow := run(t, New(appendOnly{newEnc()}, lim), rd(bytes.NewReader(in)), 4<<10)
					if !bytes.Equal(fast.out, slow.out) || fmt.Sprint(fast.counts) != fmt.Sprint(slow.counts) ||
						fast.stats != slow.stats || fmt.Sprint(fast.err) != fmt.Sprint(slow.err) {
						t.Errorf("%s, %s, %s reads, %+v: out %d/%d bytes, stats %+v/%+v, err %v/%v",
							schema, name, rname, lim, len(fast.out), len(slow.out), fast.stats, slow.stats, fast.err, slow.err)
					}
				}
			}
		}
	}
}

// chunkReader reads at most n bytes at a time.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	return c.r.Read(p[:min(len(p), c.n)])
}

// countingPrefix counts the parses out of the window.
type countingPrefix struct {
	objectPrefixEncoder
	record.Encoder
	calls int
}

func (c *countingPrefix) AppendObjectPrefix(dst, buf []byte, maxDepth int, src *record.Source) ([]byte, int, error) {
	c.calls++
	return c.objectPrefixEncoder.AppendObjectPrefix(dst, buf, maxDepth, src)
}

// bigEvent is one object with a 3.5 MB event.
func bigEvent() string {
	items := make([]string, 40000)
	for i := range items {
		items[i] = `{"k":"` + strings.Repeat("v", 80) + `"}`
	}
	return `{"Records":[{"eventVersion":"1.08","eventName":"Big","responseElements":{"items":[` + strings.Join(items, ",") + `]}}]}`
}

// A multi-megabyte event is parsed out of the window at most twice: after
// that it goes the scanning way, which reads on instead of parsing the
// event again from its start after every read (quadratic in its size).
func TestBigEventIsNotReparsedPerRefill(t *testing.T) {
	in := bigEvent()
	enc, err := normalize.New(normalize.Config{Schema: normalize.SchemaOCSF})
	if err != nil {
		t.Fatal(err)
	}
	c := &countingPrefix{objectPrefixEncoder: enc.(objectPrefixEncoder), Encoder: enc}
	r := run(t, New(c, Limits{}), &chunkReader{strings.NewReader(in), 32 << 10}, 4<<10)
	if r.err != nil || r.stats.Events != 1 {
		t.Fatalf("err %v, %d events", r.err, r.stats.Events)
	}
	if c.calls > 2 {
		t.Errorf("a %d-byte event was parsed %d times out of the window", len(in), c.calls)
	}
}

// countingRaw counts the raw transcoder's passes over an event.
type countingRaw struct {
	transcode.Raw
	calls int
}

func (c *countingRaw) AppendPrefix(dst, buf []byte, src *record.Source) ([]byte, int, error) {
	c.calls++
	return c.Raw.AppendPrefix(dst, buf, src)
}

// The raw transcoder has no scanning way: it transcodes a large event
// again as the window doubles (refill), not after every read.
func TestBigRawEventIsNotRetranscodedPerRead(t *testing.T) {
	in := bigEvent()
	c := &countingRaw{}
	r := run(t, New(c, Limits{}), &chunkReader{strings.NewReader(in), 32 << 10}, 4<<10)
	if r.err != nil || r.stats.Events != 1 {
		t.Fatalf("err %v, %d events", r.err, r.stats.Events)
	}
	if c.calls > 12 { // the window doubles from 64 KiB to 4 MiB
		t.Errorf("a %d-byte event was transcoded %d times", len(in), c.calls)
	}
}
