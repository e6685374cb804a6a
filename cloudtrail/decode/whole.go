package decode

import (
	"bytes"
	"encoding/binary"
	"io"
	"slices"
)

// Inflater decompresses a whole gzip object held in memory. Inflating in one
// call is what lets a C library such as libdeflate run at full speed (about
// 2.3× the streaming Go reader on CloudTrail files); the plugin provides one
// so that this package stays pure Go. An Inflater belongs to one Decoder.
type Inflater interface {
	// Inflate decompresses src, one or more gzip members, into a buffer
	// of size bytes that the Inflater owns and that stays valid until
	// its next call. It fails unless src is valid gzip (CRC and length
	// included) that decompresses to exactly size bytes.
	Inflate(src []byte, size int) ([]byte, error)
}

// Whole-object inflation keeps the compressed object and its decompressed
// bytes in memory at once, so it is limited to objects whose content fits
// wholeMaxSize; larger ones stream through a 64 KiB window as before. At
// CloudTrail's 10-20× compression, 8 MiB of JSON is 0.4-0.8 MiB of gzip
// (the load test's 1,000-event objects are 1.9 MB of JSON). The compressed
// read stops at wholeMaxCompressed: a larger object could only qualify by
// compressing worse than 4×. Each worker keeps its buffers between objects,
// at most wholeMaxSize of C memory in the Inflater and wholeKeepCompressed
// here.
const (
	wholeMaxSize        = 8 << 20
	wholeMaxCompressed  = 2 << 20
	wholeKeepCompressed = 1 << 20
)

// MaxRatio is enforced only past ratioFloor, so an object inflated whole never
// reaches it; this fails to compile if wholeMaxSize is ever raised past it.
const _ = uint(ratioFloor - wholeMaxSize)

// SetInflater makes the decoder inflate gzip objects of up to 8 MiB whole
// with inf instead of streaming them. Anything inf declines or fails on is
// decoded by streaming, so limits, errors and output stay exactly those of
// the streaming path; only the speed differs.
func (d *Decoder) SetInflater(inf Inflater) { d.inf = inf }

// inflateWhole reads the rest of a gzip object (the sniffed bytes are in
// d.head) and inflates it with d.inf. It reports whether it did; if not,
// d.in and d.head have been set up to replay everything read so far, then
// the rest of the object, for the streaming path.
func (d *Decoder) inflateWhole() (bool, error) {
	sniffed := len(d.head.p)
	z := append(d.zbuf[:0], d.head.p...)
	var rerr error
	for empty := 0; len(z) <= wholeMaxCompressed; {
		if len(z) == cap(z) {
			z = slices.Grow(z, min(max(len(z), 64<<10), wholeMaxCompressed+1-len(z)))
		}
		n, err := d.in.Read(z[len(z):min(cap(z), wholeMaxCompressed+1)])
		z = z[:len(z)+n]
		if err == io.EOF {
			break
		}
		if err == nil && n == 0 {
			if empty++; empty == 100 {
				err = io.ErrNoProgress
			}
		}
		if err != nil {
			rerr = err
			break
		}
	}
	// A typical object's buffer is kept for the next one; one grown for
	// an unusually large object is not held by an idle worker.
	if cap(z) <= wholeKeepCompressed {
		d.zbuf = z[:0]
	} else {
		d.zbuf = nil
	}
	rest := d.in.r
	switch {
	case rerr != nil:
		// The streaming path reports the error after the bytes that
		// came before it, as it would have without the read-ahead.
		rest = errReader{rerr}
	case len(z) > wholeMaxCompressed:
		// Too big: stream it, the bytes read so far first.
	default:
		rest = eofReader{}
		if size, ok := d.wholeSize(z); ok {
			out, err := d.inf.Inflate(z, size)
			if err == nil {
				if d.tee != nil {
					if _, err := d.tee.Write(out); err != nil {
						return true, err
					}
				}
				d.body = limitReader{d: d, n: int64(len(out))}
				d.win.whole(out)
				return true, nil
			}
		}
	}
	// Replay, counted again after the sniffed bytes as the first time,
	// so that the streaming path's errors and stats give the compressed
	// offsets they always give.
	d.in = countingReader{r: io.MultiReader(bytes.NewReader(z[sniffed:]), rest), n: int64(sniffed)}
	d.head = prefixReader{p: z[:sniffed], r: &d.in}
	return false, nil
}

// wholeSize returns the decompressed size of the complete gzip object z, as
// its trailer gives it, if the object can be inflated whole within the
// limits. An object whose whole content is at most MaxEventBytes holds no
// value larger than that, so the window limit cannot be missed.
func (d *Decoder) wholeSize(z []byte) (int, bool) {
	if len(z) < 18 { // header and trailer of an empty member
		return 0, false
	}
	size := int64(binary.LittleEndian.Uint32(z[len(z)-4:]))
	lim := d.lim
	if size == 0 || size > wholeMaxSize || size > int64(lim.MaxEventBytes) || size > lim.MaxDecompressedBytes {
		return 0, false
	}
	return int(size), true
}

// errReader replays a read error for the streaming path.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// eofReader is the end of an object read whole.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
