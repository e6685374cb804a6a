package bench

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	jsoniter "github.com/json-iterator/go"
	"github.com/klauspost/compress/gzip"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/msgpack"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode/transcodetest"
)

// jsoniterDecoder is the decode path of schema=raw written with
// github.com/json-iterator/go instead of our transcoder, kept as the
// evidence for not using json-iterator on the hot path.
//
// It uses json-iterator's fastest fit for schema-less input: one streaming
// Iterator over the gzip reader (64 KiB buffer, like decode's window), walked
// with WhatIsNext and the callback readers, writing msgpack through the same
// msgpack package and the same source map (transcode.AppendSource) into
// batches sized like decode's. No Go value is built for a record.
// Unmarshal into map[string]any and encoding the map would be slower (maps,
// interfaces, and the key order is lost). ReadStringAsSlice, which avoids
// allocating each string, is not usable: it stops at the first quote even
// when escaped and does not decode escapes, and the corpus has escaped
// policy documents. So every key and string value is one ReadString (a Go
// string allocation) and every number one ReadNumber; that is what
// json-iterator's streaming API costs. TestJSONIterMatchesRaw checks the
// entries are byte for byte those of the raw schema on the corpus.
//
// Differences from the transcoder that the corpus does not exercise:
// duplicate keys are kept, there is no depth rule for Fluent Bit, and
// eventTime is parsed by time.Parse.
type jsoniterDecoder struct {
	gz    *gzip.Reader
	iter  *jsoniter.Iterator
	batch []byte
	n     int
	first bool
	emit  func([]byte, int) error
	err   error
}

func (d *jsoniterDecoder) decode(obj []byte, rd *bytes.Reader, emit func([]byte, int) error) (int, error) {
	rd.Reset(obj)
	if d.gz == nil {
		gz, err := gzip.NewReader(rd)
		if err != nil {
			return 0, err
		}
		d.gz = gz
		d.iter = jsoniter.Parse(jsoniter.ConfigDefault, d.gz, 64<<10)
	} else if err := d.gz.Reset(rd); err != nil {
		return 0, err
	}
	d.iter.Reset(d.gz)
	d.emit, d.err, d.first, d.n = emit, nil, true, 0
	events := 0
	d.iter.ReadObjectCB(func(it *jsoniter.Iterator, field string) bool {
		if field != "Records" {
			it.Skip()
			return true
		}
		return it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
			d.entry(it)
			events++
			return d.err == nil
		})
	})
	if d.iter.Error != nil && d.iter.Error != io.EOF {
		return events, d.iter.Error
	}
	if d.err == nil && d.n > 0 {
		d.err = d.emit(d.batch, d.n)
		d.batch, d.n = nil, 0
	}
	return events, d.err
}

// entry writes one record as [EventTime, {fields..., _cloudtrail: {...}}].
func (d *jsoniterDecoder) entry(it *jsoniter.Iterator) {
	if d.batch == nil {
		size := batchBytes + 16<<10
		if d.first {
			size = 64 << 10 // decode's first batch of an object is small too
		}
		d.batch = make([]byte, 0, size)
	}
	b := append(d.batch, 0x92, 0xd7, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	start := len(b) - 11
	hdr := len(b)
	b = append(b, 0xdf, 0, 0, 0, 0)
	n := 0
	var ts time.Time
	tsOK := false
	var id []byte
	it.ReadObjectCB(func(it *jsoniter.Iterator, k string) bool {
		b = msgpack.AppendString(b, k)
		n++
		off := len(b)
		b = appendValue(b, it)
		switch k { // the last occurrence counts, as in the transcoder
		case "eventID":
			id, _ = strBody(b[off:]) // nil when not a string
		case "eventTime":
			ts, tsOK = time.Time{}, false
			if s, ok := strBody(b[off:]); ok {
				ts, tsOK = parseTime(s)
			}
		}
		return true
	})
	b = msgpack.AppendString(b, record.SourceKey)
	b = transcode.AppendSource(b, src, id, !tsOK)
	b = finish(b, hdr, n+1, 0x80, 0xdf)
	if !tsOK {
		ts = src.Received
	}
	var tb [10]byte
	copy(b[start+1:start+11], msgpack.AppendEventTime(tb[:0], ts))
	d.batch = b
	d.n++
	if len(d.batch) >= batchBytes {
		d.err = d.emit(d.batch, d.n)
		d.batch, d.n, d.first = nil, 0, false
	} else if full := batchBytes + 16<<10; cap(d.batch) < full && len(d.batch) > cap(d.batch)/2 {
		d.batch = append(make([]byte, 0, full), d.batch...)
		d.first = false
	}
}

// appendValue writes the next JSON value of it as msgpack, with the
// transcoder's rules: integers that fit 64 bits as integers, other numbers
// as float64, containers with a placeholder header patched by finish.
func appendValue(b []byte, it *jsoniter.Iterator) []byte {
	switch it.WhatIsNext() {
	case jsoniter.StringValue:
		return msgpack.AppendString(b, it.ReadString())
	case jsoniter.NumberValue:
		s := string(it.ReadNumber())
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			return msgpack.AppendInt(b, v)
		}
		if v, err := strconv.ParseUint(s, 10, 64); err == nil {
			return msgpack.AppendUint(b, v)
		}
		f, _ := strconv.ParseFloat(s, 64)
		return msgpack.AppendFloat(b, f)
	case jsoniter.BoolValue:
		return msgpack.AppendBool(b, it.ReadBool())
	case jsoniter.ObjectValue:
		hdr, n := len(b), 0
		b = append(b, 0xdf, 0, 0, 0, 0)
		it.ReadObjectCB(func(it *jsoniter.Iterator, k string) bool {
			b = msgpack.AppendString(b, k)
			b = appendValue(b, it)
			n++
			return true
		})
		return finish(b, hdr, n, 0x80, 0xdf)
	case jsoniter.ArrayValue:
		hdr, n := len(b), 0
		b = append(b, 0xdd, 0, 0, 0, 0)
		it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
			b = appendValue(b, it)
			n++
			return true
		})
		return finish(b, hdr, n, 0x90, 0xdd)
	default:
		it.ReadNil()
		return msgpack.AppendNil(b)
	}
}

// finish is the transcoder's header patching: the 5-byte placeholder at hdr
// keeps 32 bits for a large container and becomes a fixmap/fixarray
// otherwise.
func finish(b []byte, hdr, n int, fix, h32 byte) []byte {
	if n >= 16 || len(b)-hdr-5 > 128 {
		b[hdr] = h32
		binary.BigEndian.PutUint32(b[hdr+1:], uint32(n))
		return b
	}
	b[hdr] = fix | byte(n)
	return append(b[:hdr+1], b[hdr+5:]...)
}

// strBody returns the bytes of the msgpack string at the start of b.
func strBody(b []byte) ([]byte, bool) {
	var n, h int
	switch c := b[0]; {
	case c&0xe0 == 0xa0:
		n, h = int(c&0x1f), 1
	case c == 0xd9:
		n, h = int(b[1]), 2
	case c == 0xda:
		n, h = int(binary.BigEndian.Uint16(b[1:])), 3
	case c == 0xdb:
		n, h = int(binary.BigEndian.Uint32(b[1:])), 5
	default:
		return nil, false
	}
	return b[h : h+n], true
}

func parseTime(s []byte) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, string(s))
	return t, err == nil
}

func runJSONIter(tb testing.TB, d *jsoniterDecoder, objects [][]byte, rd *bytes.Reader, emit func([]byte, int) error) int {
	events := 0
	for _, o := range objects {
		n, err := d.decode(o, rd, emit)
		if err != nil {
			tb.Fatal(err)
		}
		events += n
	}
	return events
}

// benchJSONIter reports the same metrics as benchObjects, with SetBytes
// from our decoder's count of uncompressed bytes.
func benchJSONIter(b *testing.B, objects [][]byte) {
	var rd bytes.Reader
	emit := func([]byte, int) error { return nil }
	_, size := run(b, decoder(b, "raw"), objects, &rd, emit)
	d := &jsoniterDecoder{}
	events := runJSONIter(b, d, objects, &rd, emit)
	measure(b, events, size, func() { runJSONIter(b, d, objects, &rd, emit) })
}

// BenchmarkJSONIter is BenchmarkSchema's raw decode path done with
// json-iterator (see jsoniterDecoder), on the same objects, for comparison
// with schema=raw (same output) and with ocsf and ecs.
func BenchmarkJSONIter(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		gz := transcodetest.Generate(n).Gzip
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			benchJSONIter(b, [][]byte{gz})
		})
	}
	b.Run("real files", func(b *testing.B) {
		benchJSONIter(b, realObjects(b))
	})
}

// TestJSONIterMatchesRaw makes sure BenchmarkJSONIter does the same work as
// schema=raw: the batches of both are equal byte for byte on the corpus.
func TestJSONIterMatchesRaw(t *testing.T) {
	gz := transcodetest.Generate(300).Gzip
	collect := func(dst *[]byte, events *int) func([]byte, int) error {
		return func(b []byte, n int) error {
			*dst = append(*dst, b...)
			*events += n
			return nil
		}
	}
	var want, got []byte
	var nWant, nGot int
	var rd bytes.Reader
	run(t, decoder(t, "raw"), [][]byte{gz}, &rd, collect(&want, &nWant))
	runJSONIter(t, &jsoniterDecoder{}, [][]byte{gz}, &rd, collect(&got, &nGot))
	if nWant != 300 || nGot != nWant || !bytes.Equal(got, want) {
		t.Fatalf("json-iterator: %d events, %d bytes; raw: %d events, %d bytes", nGot, len(got), nWant, len(want))
	}
}
