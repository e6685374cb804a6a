package decode

import (
	"errors"
	"fmt"
	"io"
)

// errWindowFull means the window would have to grow past its limit to hold
// the value being read.
var errWindowFull = errors.New("window full")

// window is a refillable view of the decompressed stream: buf[:w] holds the
// bytes from stream offset base onwards.
type window struct {
	rd   io.Reader
	buf  []byte
	own  []byte // the window's own 64 KiB buffer, kept between objects
	w    int
	base int64
	eof  bool
	err  error // read error held back until the bytes before it are used
	max  int
}

func (w *window) reset(rd io.Reader, maxValue int) {
	// A window grown for one huge event is not kept for later objects.
	if w.own == nil {
		w.own = make([]byte, windowSize)
	}
	w.buf = w.own
	w.rd, w.w, w.base, w.eof, w.err = rd, 0, 0, false, nil
	// Room for a whole value of maxValue bytes plus the start of the
	// next, rounded to a power of two like the growth steps.
	w.max = windowSize
	for w.max < maxValue+windowSize/2 {
		w.max *= 2
	}
}

// whole makes the window a view of b, an object's whole content, already
// in memory (Decoder.SetInflater): nothing is copied or read.
func (w *window) whole(b []byte) {
	w.rd, w.buf, w.w, w.base, w.eof, w.err, w.max = nil, b, len(b), 0, true, nil, len(b)
}

// fill drops buf[:keep], moves the rest to the front and reads more input.
// It returns io.EOF when the input is exhausted and nothing was read, and
// errWindowFull when buf[keep:] already fills the largest allowed window.
func (w *window) fill(keep int) error {
	if keep > 0 {
		w.w = copy(w.buf, w.buf[keep:w.w])
		w.base += int64(keep)
	}
	if w.err != nil {
		return w.err
	}
	if w.eof {
		return io.EOF
	}
	if w.w == len(w.buf) {
		if len(w.buf) >= w.max {
			return errWindowFull
		}
		nb := make([]byte, min(2*len(w.buf), w.max))
		copy(nb, w.buf[:w.w])
		w.buf = nb
	}
	for range 100 {
		n, err := w.rd.Read(w.buf[w.w:])
		w.w += n
		if err == io.EOF {
			w.eof = true
			if n > 0 {
				return nil
			}
			return io.EOF
		}
		if err != nil {
			if n > 0 {
				w.err = err
				return nil
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
	return io.ErrNoProgress
}

// countingReader counts the bytes read from the object.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// prefixReader returns the sniffed magic bytes before the rest of the object.
type prefixReader struct {
	p []byte
	r io.Reader
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.p) > 0 {
		n := copy(b, p.p)
		p.p = p.p[n:]
		return n, nil
	}
	return p.r.Read(b)
}

// limitReader enforces MaxDecompressedBytes and MaxRatio on the
// decompressed stream, and names read errors after their source.
type limitReader struct {
	r io.Reader
	d *Decoder
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n += int64(n)
	lim := &l.d.lim
	if l.n > lim.MaxDecompressedBytes {
		return n, fmt.Errorf("%w: more than %d bytes after decompression (MaxDecompressedBytes)", ErrLimit, lim.MaxDecompressedBytes)
	}
	if l.d.isGzip && l.n > ratioFloor && l.n > int64(lim.MaxRatio)*l.d.in.n {
		return n, fmt.Errorf("%w: %d bytes decompressed from %d, ratio above %d (MaxRatio): gzip bomb?", ErrLimit, l.n, l.d.in.n, lim.MaxRatio)
	}
	if err != nil && err != io.EOF {
		if l.d.isGzip {
			if err == io.ErrUnexpectedEOF {
				return n, fmt.Errorf("gzip data truncated after %d compressed bytes: %w", l.d.in.n, err)
			}
			return n, fmt.Errorf("gzip data corrupt after %d compressed bytes: %w", l.d.in.n, err)
		}
		return n, fmt.Errorf("read object: %w", err)
	}
	return n, err
}
