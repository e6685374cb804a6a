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
func openCounters(ins unsafe.Pointer) (*counterReader, string) {
	var name [256]C.char
	c := C.ct_counters_open(ins, &name[0], C.size_t(len(name)))
	if c == nil {
		return nil, "the host exports no metrics API: Fluent Bit built without metrics?"
	}
	return &counterReader{c: c, name: C.GoString(&name[0])}, ""
}

// read takes one reading. ok is false once closed, or when the series are
// not there (Fluent Bit before 4.1 has no ring buffer counters).
func (r *counterReader) read() (ack.Counters, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c == nil {
		return ack.Counters{}, false
	}
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
