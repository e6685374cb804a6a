package main

/*
#include <stdlib.h>
*/
import "C"

import (
	"sync/atomic"
	"unsafe"
)

// cMemory is the collector's record memory (collector.Memory) taken from C's
// malloc. The collector writes records there as its workers decode them, and
// the input callback hands Fluent Bit a pointer into it: no copy per
// handover, and the records do not sit on the Go heap, where the garbage
// collector's headroom would double them. Fluent Bit copies the bytes
// before the cleanup callback returns (flb_input_log_append), so the
// collector reuses the memory after that; it is freed when the collector
// stops, on the instance's thread or after it ended, unless kept.
type cMemory struct {
	// kept is set when Fluent Bit may still read a handover after the
	// collector stopped (handover.go, stuck): its memory is then never
	// freed.
	kept atomic.Bool
}

func (*cMemory) Alloc(n int) []byte {
	p := C.malloc(C.size_t(n))
	if p == nil {
		return nil
	}
	return unsafe.Slice((*byte)(p), n)
}

func (m *cMemory) Free(b []byte) {
	if cap(b) > 0 && !m.kept.Load() {
		C.free(unsafe.Pointer(unsafe.SliceData(b)))
	}
}
