// Package decode reads one CloudTrail S3 object (gzip or plain JSON) as a
// stream and turns every event in it into a Fluent Bit entry with a
// record.Encoder.
//
// Memory does not grow with the object: input goes through a refillable
// window (64 KiB, grown only while a single event is larger than that, up to
// Limits.MaxEventBytes), and output is handed over in batches.
//
// Accepted shapes, which may follow each other in one object:
//
//   - a CloudTrail log file, {"Records":[event, ...]}: other top-level keys
//     are skipped, before or after Records;
//   - a CloudTrail digest file (digestStartTime, logFiles, digestS3Object and
//     no Records): nothing is emitted and Stats.Skipped is incremented;
//   - top-level event objects, one after the other, as in JSON lines: an
//     object without Records is an event if it has eventVersion, eventID or
//     eventName at its top level;
//   - a top-level array of event objects.
//
// Keys are matched literally: a key written with escapes (such as
// "Rec\u006frds") is not recognised. CloudTrail never writes these keys so.
package decode

import (
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

// Errors a caller may want to tell apart, for instance to send an object to a
// dead-letter queue instead of retrying it. They are wrapped with context.
var (
	// ErrEmpty means the object holds no bytes, or no JSON value.
	ErrEmpty = errors.New("empty object")
	// ErrNotCloudTrail means a top-level object is neither a log file, a
	// digest file nor an event.
	ErrNotCloudTrail = errors.New("not a CloudTrail log file")
	// ErrLimit means a Limits value was exceeded.
	ErrLimit = errors.New("limit exceeded")
	// ErrTruncated means the JSON ended in the middle of a value.
	ErrTruncated = errors.New("unexpected end of input")
)

// Limits bound the resources one object may use. A zero field takes its
// DefaultLimits value.
type Limits struct {
	// MaxEventBytes bounds the JSON text of one event (and of any
	// top-level object that is not a log file), hence the window size.
	MaxEventBytes int
	// MaxDecompressedBytes bounds the bytes read out of the object after
	// decompression (for plain JSON, the object size).
	MaxDecompressedBytes int64
	// MaxRatio bounds decompressed/compressed bytes for gzip objects, once
	// more than ratioFloor bytes have been decompressed: small objects
	// can legitimately compress very well, and a bomb is caught after a
	// few MB instead of after MaxDecompressedBytes.
	MaxRatio int
	// MaxDepth bounds nesting in the values the decoder scans itself
	// (skipped top-level values, and events when the Encoder does not
	// stream). The Encoder applies its own limit to events.
	MaxDepth int
}

// DefaultLimits returns limits that no real CloudTrail object comes near.
// CloudTrail events are at most a few hundred KB and log files a few hundred
// MB, and CloudTrail's JSON compresses about 10–20×.
func DefaultLimits() Limits {
	return Limits{
		MaxEventBytes:        64 << 20,
		MaxDecompressedBytes: 10 << 30,
		MaxRatio:             200,
		MaxDepth:             512,
	}
}

// ratioFloor is the decompressed size below which MaxRatio is not enforced.
const ratioFloor = 8 << 20

// windowSize is the initial size of the input window.
const windowSize = 64 << 10

// Stats describe one Decode call.
type Stats struct {
	// Events is the number of entries handed to emit.
	Events int
	// CompressedBytes is the number of bytes read from the object;
	// UncompressedBytes the number of bytes after decompression (equal
	// for plain JSON).
	CompressedBytes, UncompressedBytes int64
	// Gzip reports whether the object was gzip-compressed.
	Gzip bool
	// Skipped counts top-level objects that are not events but are
	// expected in a CloudTrail bucket (digest files).
	Skipped int
}

// prefixAppender is implemented by encoders that can transcode an event
// straight out of the window (transcode.Raw does): they find the end of the
// object themselves, which saves a scanning pass, and report
// io.ErrUnexpectedEOF when the window ends first.
type prefixAppender interface {
	AppendPrefix(dst, buf []byte, src *record.Source) ([]byte, int, error)
}

// objectPrefixEncoder is implemented by encoders that parse an event straight
// out of the window, as prefixAppender does, but do not report errors
// themselves (the OCSF and ECS ones): saving the scanning pass is most of
// what the decoder costs them. They apply the decoder's MaxDepth, and
// return io.ErrUnexpectedEOF when the window ends inside the event. Any
// other error means only that the event was not encoded (too deep, or
// malformed): the decoder then scans it and calls Append, so that errors
// and limits stay exactly those of the scanning path.
type objectPrefixEncoder interface {
	AppendObjectPrefix(dst, buf []byte, maxDepth int, src *record.Source) (out []byte, n int, err error)
}

// Decoder decodes S3 objects. It keeps its buffers and gzip state between
// objects, so one worker should reuse one Decoder. It is not safe for
// concurrent use.
type Decoder struct {
	enc record.Encoder
	pre prefixAppender
	obj objectPrefixEncoder
	lim Limits

	gz     *gzip.Reader
	inf    Inflater  // SetInflater; nil: gzip objects stream through gz
	zbuf   []byte    // a gzip object read whole for inf
	tee    io.Writer // receives the uncompressed content of the next object (Tee)
	in     countingReader
	head   prefixReader
	body   limitReader
	win    window
	stack  []byte
	sniff  [2]byte
	isGzip bool

	// Parser state: pos is the next byte in win.buf; mark is the first
	// byte that must survive a refill.
	pos, mark int

	// Per-call output state. src points to srcv, the caller's Source
	// copied, whose Index is set to nev before each event is encoded.
	src        *record.Source
	srcv       record.Source
	batch      []byte
	batchN     int
	batchBytes int
	emit       func([]byte, int) error
	emitted    int
	nev        int // events encoded so far in this object
	// spare is the batch buffer kept between batches and objects when
	// emit copies (ReuseBatches).
	spare   []byte
	reuse   bool
	skipped int
}

// New returns a Decoder that encodes events with enc.
func New(enc record.Encoder, lim Limits) *Decoder {
	def := DefaultLimits()
	if lim.MaxEventBytes <= 0 {
		lim.MaxEventBytes = def.MaxEventBytes
	}
	if lim.MaxDecompressedBytes <= 0 {
		lim.MaxDecompressedBytes = def.MaxDecompressedBytes
	}
	if lim.MaxRatio <= 0 {
		lim.MaxRatio = def.MaxRatio
	}
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = def.MaxDepth
	}
	d := &Decoder{enc: enc, lim: lim}
	d.pre, _ = enc.(prefixAppender)
	d.obj, _ = enc.(objectPrefixEncoder)
	return d
}

// Decode reads one object from r and calls emit with batches of whole
// entries, each batch at least batchBytes long except the last. emit owns
// the batch: the decoder never touches it again. If emit returns an error,
// Decode stops and returns it, wrapped.
//
// If the object turns out to be malformed, the entries encoded before the
// bad spot are still emitted, then the error is returned; the caller decides
// whether to retry the object.
//
// The encoder gets a copy of src whose Index is the event's 0-based position
// in the object (every event counts, in the order read), so events without
// an eventID get ids that are the same on every read of the object; src
// itself is not modified.
func (d *Decoder) Decode(r io.Reader, src *record.Source, batchBytes int, emit func(batch []byte, events int) error) (Stats, error) {
	if batchBytes < 1 {
		batchBytes = 1
	}
	d.srcv = record.Source{}
	if src != nil {
		d.srcv = *src
	}
	d.src, d.batchBytes, d.emit = &d.srcv, batchBytes, emit
	d.batch, d.batchN, d.emitted, d.nev, d.skipped = nil, 0, 0, 0, 0
	d.isGzip = false
	d.in = countingReader{r: r}

	err := d.decode()
	if ferr := d.flush(); ferr != nil {
		err = errors.Join(err, ferr)
	}
	st := Stats{
		Events:            d.emitted,
		CompressedBytes:   d.in.n,
		UncompressedBytes: d.body.n,
		Gzip:              d.isGzip,
		Skipped:           d.skipped,
	}
	d.src, d.emit, d.batch, d.tee = nil, nil, nil, nil
	d.win.rd = nil
	return st, err
}

// ReuseBatches tells the decoder that emit copies each batch before it
// returns, so the decoder writes every batch into the same buffer instead of
// allocating one per batch. The collector copies batches into its record
// queue, and the Go heap then holds one batch per worker.
func (d *Decoder) ReuseBatches() { d.reuse = true }

// Tee makes the next Decode call copy every uncompressed byte of the object
// it reads to w, in order, as the decoder reads them; a successful Decode
// has read the object to its end, so w then has all of it. The collector
// hashes log files this way when it checks integrity, instead of
// downloading them again for the digest. Decode clears it.
func (d *Decoder) Tee(w io.Writer) { d.tee = w }

func (d *Decoder) decode() error {
	n, err := io.ReadFull(&d.in, d.sniff[:])
	switch {
	case n == 0 && err == io.EOF:
		return ErrEmpty
	case err != nil && err != io.ErrUnexpectedEOF:
		return fmt.Errorf("read object: %w", err)
	}
	d.head = prefixReader{p: d.sniff[:n], r: &d.in}
	var body io.Reader = &d.head
	if n == 2 && d.sniff[0] == 0x1f && d.sniff[1] == 0x8b {
		d.isGzip = true
		if d.inf != nil {
			whole, err := d.inflateWhole()
			if err != nil {
				return err
			}
			if whole {
				d.pos, d.mark = 0, 0
				return d.parse()
			}
		}
		if d.gz == nil {
			d.gz, err = gzip.NewReader(&d.head)
		} else {
			err = d.gz.Reset(&d.head)
		}
		if err != nil {
			return fmt.Errorf("gzip header: %w", err)
		}
		body = d.gz
	}
	if d.tee != nil {
		body = io.TeeReader(body, d.tee)
	}
	d.body = limitReader{r: body, d: d}
	d.win.reset(&d.body, d.lim.MaxEventBytes)
	d.pos, d.mark = 0, 0
	return d.parse()
}

// parse reads top-level values until the end of the input.
func (d *Decoder) parse() error {
	for values := 0; ; values++ {
		d.mark = d.pos
		c, err := d.peek()
		if err == io.EOF {
			if values == 0 {
				return fmt.Errorf("%w: no JSON value in %d bytes", ErrEmpty, d.body.n)
			}
			return nil
		}
		if err != nil {
			return err
		}
		switch c {
		case '{':
			err = d.topObject()
		case '[':
			d.pos++
			err = d.elements("array")
		default:
			err = fmt.Errorf("invalid character %q at offset %d: want a JSON object or array", c, d.offset())
		}
		if err != nil {
			return err
		}
	}
}

type keyKind int

const (
	keyOther keyKind = iota
	keyRecords
	keyEvent  // eventVersion, eventID, eventName
	keyDigest // digestStartTime, logFiles, digestS3Object
)

func classify(k []byte) keyKind {
	switch string(k) {
	case "Records":
		return keyRecords
	case "eventVersion", "eventID", "eventName":
		return keyEvent
	case "digestStartTime", "logFiles", "digestS3Object":
		return keyDigest
	}
	return keyOther
}

// topObject handles a top-level object at d.pos. Until a Records key shows
// up it cannot tell a log file from an event, so it keeps the object in the
// window (bounded by MaxEventBytes) while skipping over its values.
func (d *Decoder) topObject() error {
	start := d.offset()
	d.mark = d.pos
	d.pos++
	logFile, isEvent, isDigest := false, false, false
	c, err := d.peekNeed()
	if err != nil {
		return err
	}
	for c != '}' {
		if c != '"' {
			return fmt.Errorf("invalid character %q at offset %d: want an object key", c, d.offset())
		}
		end, err := d.scan()
		if err != nil {
			return err
		}
		kind := classify(d.win.buf[d.pos+1 : end-1])
		d.pos = end
		if c, err = d.peekNeed(); err != nil {
			return err
		}
		if c != ':' {
			return fmt.Errorf("invalid character %q at offset %d: want ':' after object key", c, d.offset())
		}
		d.pos++
		if c, err = d.peekNeed(); err != nil {
			return err
		}
		switch {
		case kind == keyRecords:
			if c != '[' {
				return fmt.Errorf("Records at offset %d is not an array (starts with %q)", d.offset(), c)
			}
			logFile = true
			d.pos++
			if err := d.elements("Records"); err != nil {
				return err
			}
		default:
			isEvent = isEvent || kind == keyEvent
			isDigest = isDigest || kind == keyDigest
			if logFile {
				// Nothing before this value is needed any more.
				d.mark = d.pos
			}
			end, err := d.scan()
			if err != nil {
				return err
			}
			d.pos = end
		}
		if logFile {
			d.mark = d.pos
		}
		if c, err = d.peekNeed(); err != nil {
			return err
		}
		if c == ',' {
			d.pos++
			if c, err = d.peekNeed(); err != nil {
				return err
			}
			if c == '}' {
				return fmt.Errorf("invalid character '}' at offset %d: want an object key", d.offset())
			}
			continue
		}
		if c != '}' {
			return fmt.Errorf("invalid character %q at offset %d: want ',' or '}' in object", c, d.offset())
		}
	}
	d.pos++
	switch {
	case logFile:
		return nil
	case isEvent:
		// d.mark is still the object's first byte.
		d.ensureBatch()
		d.srcv.Index = d.nev
		out, err := d.enc.Append(d.batch, d.win.buf[d.mark:d.pos], d.src)
		if err != nil {
			return fmt.Errorf("event %d at offset %d: %w", d.nev, start, err)
		}
		d.batch = out
		return d.encoded()
	case isDigest:
		d.skipped++
		return nil
	}
	return fmt.Errorf("%w: top-level object at offset %d has no Records and is not an event", ErrNotCloudTrail, start)
}

// elements encodes the events of an array whose '[' has been consumed.
func (d *Decoder) elements(label string) error {
	d.mark = d.pos
	c, err := d.peekNeed()
	if err != nil {
		return err
	}
	if c == ']' {
		d.pos++
		return nil
	}
	for idx := 0; ; idx++ {
		off := d.offset()
		if c != '{' {
			return fmt.Errorf("%s[%d] at offset %d is not an object (starts with %q)", label, idx, off, c)
		}
		d.mark = d.pos
		if err := d.event(); err != nil {
			return fmt.Errorf("%s[%d] (event %d) at offset %d: %w", label, idx, d.nev, off, err)
		}
		d.mark = d.pos
		if c, err = d.peekNeed(); err != nil {
			return err
		}
		switch c {
		case ',':
			d.pos++
			d.mark = d.pos
			if c, err = d.peekNeed(); err != nil {
				return err
			}
		case ']':
			d.pos++
			return nil
		default:
			return fmt.Errorf("invalid character %q at offset %d after %s[%d]: want ',' or ']'", c, d.offset(), label, idx)
		}
	}
}

// event encodes the event object at d.pos and advances past it.
func (d *Decoder) event() error {
	d.ensureBatch()
	d.srcv.Index = d.nev
	if d.pre != nil {
		for cut := 1; ; cut++ {
			out, n, err := d.pre.AppendPrefix(d.batch, d.win.buf[d.pos:d.win.w], d.src)
			if err == io.ErrUnexpectedEOF {
				// The window ends inside the event: refill and
				// transcode it again from its start.
				if err := d.refill(cut); err != nil {
					return d.needErr(err)
				}
				continue
			}
			if err != nil {
				return err
			}
			d.batch = out
			d.pos += n
			return d.encoded()
		}
	}
	// An event that the window ends inside of is parsed once more after
	// one read; cut again, it is large and goes the scanning way below,
	// which reads on from where it stopped instead of parsing the event
	// from its start again.
	for cut := 1; d.obj != nil && cut <= 2; cut++ {
		out, n, err := d.obj.AppendObjectPrefix(d.batch, d.win.buf[d.pos:d.win.w], d.lim.MaxDepth, d.src)
		if err == nil {
			d.batch = out
			d.pos += n
			return d.encoded()
		}
		if err != io.ErrUnexpectedEOF || cut == 2 {
			break // the scanning path below reports or encodes it
		}
		if _, err := d.more(); err != nil {
			return d.needErr(err)
		}
	}
	end, err := d.scan()
	if err != nil {
		return err
	}
	out, err := d.enc.Append(d.batch, d.win.buf[d.pos:end], d.src)
	if err != nil {
		return err
	}
	d.batch = out
	d.pos = end
	return d.encoded()
}

func (d *Decoder) ensureBatch() {
	if d.batch == nil && d.spare != nil {
		d.batch, d.spare = d.spare[:0], nil
	}
	if d.batch == nil {
		// Room for the batch plus one typical event, so a batch is
		// rarely regrown. Most objects are small, so the first batch
		// starts small; encoded moves it to a full-size buffer once
		// the object proves bigger, instead of letting append double
		// it several times.
		size := d.batchBytes + 16<<10
		if d.batchN == 0 && d.emitted == 0 {
			size = min(size, 64<<10)
		}
		d.batch = make([]byte, 0, size)
	}
}

// encoded accounts for one entry appended to d.batch.
func (d *Decoder) encoded() error {
	d.nev++
	d.batchN++
	if len(d.batch) >= d.batchBytes {
		return d.flush()
	}
	if full := d.batchBytes + 16<<10; cap(d.batch) < full && len(d.batch) > cap(d.batch)/2 {
		d.batch = append(make([]byte, 0, full), d.batch...)
	}
	return nil
}

func (d *Decoder) flush() error {
	if d.batchN == 0 {
		return nil
	}
	b, n := d.batch, d.batchN
	d.batch, d.batchN = nil, 0
	d.emitted += n
	err := d.emit(b, n)
	if d.reuse {
		d.spare = b[:0]
	}
	if err != nil {
		return fmt.Errorf("emit: %w", err)
	}
	return nil
}

// scan finds the end of the JSON value at d.pos, reading more input as
// needed, and returns the index just past it.
func (d *Decoder) scan() (int, error) {
	for {
		n, err := scanValue(d.win.buf[d.pos:d.win.w], d.lim.MaxDepth, &d.stack)
		if err == errShort {
			if _, err := d.more(); err != nil {
				return 0, d.needErr(err)
			}
			continue
		}
		if err != nil {
			var se *scanError
			if errors.As(err, &se) {
				return 0, fmt.Errorf("offset %d: %s", d.offset()+int64(se.off), se.msg)
			}
			return 0, err
		}
		return d.pos + n, nil
	}
}

// offset is the position of d.pos in the decompressed stream.
func (d *Decoder) offset() int64 { return d.win.base + int64(d.pos) }

// more refills the window, keeping d.mark onwards, and returns the shift
// applied to indices.
func (d *Decoder) more() (int, error) {
	shift := d.mark
	err := d.win.fill(shift)
	d.pos -= shift
	d.mark = 0
	return shift, err
}

// refill reads more input for an event that the window ended inside of,
// for the cut-th time, before the prefix appender transcodes it again from
// its start (it has no incremental way, as the scanning path is for the
// others). The first time one read is enough (most such events just
// straddle the window's end); after that the event is large, and the window
// is filled up (it doubles when full), so that transcoding it again after
// every small read does not cost its size squared.
func (d *Decoder) refill(cut int) error {
	if _, err := d.more(); err != nil || cut == 1 {
		return err
	}
	for d.win.w < len(d.win.buf) && !d.win.eof && d.win.err == nil {
		if _, err := d.more(); err != nil {
			if err == io.EOF {
				return nil // parse what there is; cut again, it is the end
			}
			return err
		}
	}
	return nil
}

// needErr turns a refill error in the middle of a value into the error to
// report.
func (d *Decoder) needErr(err error) error {
	switch err {
	case io.EOF:
		return fmt.Errorf("%w at offset %d", ErrTruncated, d.win.base+int64(d.win.w))
	case errWindowFull:
		return fmt.Errorf("%w: value at offset %d is larger than MaxEventBytes (%d)", ErrLimit, d.win.base+int64(d.mark), d.lim.MaxEventBytes)
	}
	return err
}

// peek skips whitespace and returns the next byte without consuming it, or
// io.EOF at the end of the input.
func (d *Decoder) peek() (byte, error) {
	// When the caller keeps nothing before the whitespace, none of it is
	// kept either, so any amount of it fits the window.
	follow := d.mark == d.pos
	for {
		buf := d.win.buf[:d.win.w]
		for d.pos < len(buf) {
			switch c := buf[d.pos]; c {
			case ' ', '\n', '\r', '\t':
				d.pos++
			default:
				return c, nil
			}
		}
		if follow {
			d.mark = d.pos
		}
		if _, err := d.more(); err != nil {
			if err == errWindowFull {
				return 0, d.needErr(err)
			}
			return 0, err
		}
	}
}

// peekNeed is peek where the end of input is an error.
func (d *Decoder) peekNeed() (byte, error) {
	c, err := d.peek()
	if err == io.EOF {
		return 0, fmt.Errorf("%w at offset %d", ErrTruncated, d.offset())
	}
	return c, err
}
