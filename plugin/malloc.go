package main

/*
#include <stdlib.h> // defines __GLIBC__ (features.h)
#if defined(__GLIBC__)
#include <malloc.h>
#endif

// ct_malloc_tune sets glibc's mmap and trim thresholds for the whole
// process: 1 when both were set, 0 when mallopt refused, -1 without glibc.
static int ct_malloc_tune(int mmap_threshold, int trim_threshold)
{
#if defined(__GLIBC__)
    return mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 &&
           mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
#else
    (void) mmap_threshold;
    (void) trim_threshold;
    return -1;
#endif
}
*/
import "C"

import (
	"os"
	"strings"
	"sync"
)

// Fluent Bit's engine copies every handover into chunk memory that it frees
// after the flush, up to a second later. With glibc's defaults a block that
// large is mmap'd and unmapped, or trimmed off the heap, each time, so every
// page of the next second's chunks is faulted in and zeroed again. On a
// contended 2-core VM, where a fault traps to the hypervisor, that cost up
// to a quarter of Fluent Bit's CPU at 17k events/s (perf: the engine thread
// spent most of its time in exc_page_fault under memmove); on a quiet host
// next to nothing. Above these thresholds glibc reuses freed memory instead.
// docs/performance.md has the runs.
const (
	mallocMmapThreshold = 32 << 20 // glibc's largest (HEAP_MAX_SIZE/2 on 64-bit)
	mallocTrimThreshold = 64 << 20 // freed memory kept before the heap is trimmed
)

var (
	mallocOnce sync.Once
	mallocNote string
)

// tuneMalloc raises glibc's thresholds once per process, at the first
// instance whose malloc_tuning is on, and returns what it did for the start
// line. It leaves the allocator alone when the environment already tunes it
// (GLIBC_TUNABLES, MALLOC_*_): the operator's choice wins.
func tuneMalloc() string {
	mallocOnce.Do(func() {
		if env := mallocEnv(); env != "" {
			mallocNote = "malloc left as " + env + " sets it"
			return
		}
		switch C.ct_malloc_tune(C.int(mallocMmapThreshold), C.int(mallocTrimThreshold)) {
		case 1:
			mallocNote = "malloc tuned for Fluent Bit's chunk copies (mmap threshold 32M, trim threshold 64M; malloc_tuning off leaves glibc's defaults)"
		case 0:
			mallocNote = "malloc not tuned (glibc's mallopt refused the thresholds)"
		default:
			mallocNote = "malloc not tuned (not glibc)"
		}
	})
	return mallocNote
}

// mallocEnv names the environment variable that already tunes glibc's
// malloc, if any.
func mallocEnv() string {
	if v := os.Getenv("GLIBC_TUNABLES"); strings.Contains(v, "glibc.malloc.") {
		return "GLIBC_TUNABLES"
	}
	for _, k := range []string{"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_"} {
		if _, ok := os.LookupEnv(k); ok {
			return k
		}
	}
	return ""
}
