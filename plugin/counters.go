package main

/*
#include "flb.h"
*/
import "C"

import (
	"sync"
	"unsafe"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/ack"
)

// counterReader reads this instance's counters from Fluent Bit's metrics
// context (ct_counters_* in flb.c). Fluent Bit destroys the context right
// after the instance's FLBPluginExit, so close runs in stop and every read
// after it fails instead of touching freed memory.
type counterReader struct {
	mu   sync.Mutex
	c    *C.struct_ct_counters
	name string // the instance's name label: its alias, or name.N
}

// openCounters returns a reader, or nil with the reason when this Fluent Bit
// exports no metrics API.
//
// Readings come straight from the three counters when flb.c found them in
// the instance's context, and from the context encoded as Prometheus text
// otherwise. The direct read takes about a microsecond; the text of one
// instance's 18 series took 0.1 to 0.7 ms to encode and parse, a few dozen
// times a second, and a call into C that long also sets the Go runtime's
// monitor thread polling at its shortest period. The direct read relies on
// cmetrics' struct layout, so it is used only when it gives what the text
// says (directAgrees).
func openCounters(ins unsafe.Pointer) (*counterReader, string) {
	var name [256]C.char
	c := C.ct_counters_open(ins, &name[0], C.size_t(len(name)))
	if c == nil {
		return nil, "the host exports no metrics API: Fluent Bit built without metrics?"
	}
	r := &counterReader{c: c, name: C.GoString(&name[0])}
	if C.ct_counters_direct(c) != 0 && !r.directAgrees() {
		C.ct_counters_direct_off(c)
	}
	return r, ""
}

// directAgrees reports whether direct readings bracket a reading of the
// text: each counter read directly before the text is at most the text's
// value, and read directly after it at least that.
func (r *counterReader) directAgrees() bool {
	d1, ok1 := r.readDirect()
	t, ok2 := r.readText()
	d2, ok3 := r.readDirect()
	return ok1 && ok2 && ok3 &&
		d1.RingWrites <= t.RingWrites && t.RingWrites <= d2.RingWrites &&
		d1.RingFailures <= t.RingFailures && t.RingFailures <= d2.RingFailures &&
		d1.Records <= t.Records && t.Records <= d2.Records
}

// direct reports whether readings come straight from the counters.
func (r *counterReader) direct() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.c != nil && C.ct_counters_direct(r.c) != 0
}

// read takes one reading. ok is false once closed, or when the series are
// not there (Fluent Bit before 4.1 has no ring buffer counters).
func (r *counterReader) read() (ack.Counters, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c == nil {
		return ack.Counters{}, false
	}
	if C.ct_counters_direct(r.c) != 0 {
		return r.readDirect()
	}
	return r.readText()
}

// readDirect reads the three counters; the caller holds mu.
func (r *counterReader) readDirect() (ack.Counters, bool) {
	var v [C.CT_SERIES]C.uint64_t
	if C.ct_counters_read(r.c, &v[0]) != 0 {
		return ack.Counters{}, false
	}
	return ack.Counters{RingWrites: uint64(v[0]), RingFailures: uint64(v[1]), Records: uint64(v[2])}, true
}

// readText parses the context's Prometheus text; the caller holds mu.
func (r *counterReader) readText() (ack.Counters, bool) {
	var n C.size_t
	text := C.ct_counters_text(r.c, &n)
	if text == nil {
		return ack.Counters{}, false
	}
	defer C.ct_counters_text_free(r.c, text)
	return ack.ParsePrometheus(unsafe.Slice((*byte)(unsafe.Pointer(text)), int(n)), r.name)
}

func (r *counterReader) close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c != nil {
		C.ct_counters_close(r.c)
		r.c = nil
	}
}
