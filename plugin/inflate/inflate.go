//go:build !nolibdeflate

// Package inflate decompresses whole gzip objects with libdeflate, linked
// statically from Debian's libdeflate-dev, for decode.Decoder.SetInflater.
// libdeflate inflates CloudTrail files about 2.3× faster than the streaming
// Go reader, and inflating is a quarter of the plugin's CPU per event.
//
// The decompressed bytes live in C memory, off the Go heap (so they do not
// count twice under GOGC), in one buffer per Inflater that is reused for
// every object and freed when the Inflater is garbage collected.
package inflate

/*
#cgo LDFLAGS: -l:libdeflate.a
#include <stdlib.h>
#include <libdeflate.h>

struct ct_inflater {
	struct libdeflate_decompressor *d;
	void *out;
	size_t cap;
};

static struct ct_inflater *ct_inflater_new(void) {
	struct ct_inflater *z = calloc(1, sizeof *z);
	if (z == NULL) return NULL;
	z->d = libdeflate_alloc_decompressor();
	if (z->d == NULL) { free(z); return NULL; }
	return z;
}

static void ct_inflater_free(struct ct_inflater *z) {
	libdeflate_free_decompressor(z->d);
	free(z->out);
	free(z);
}

// ct_inflate decompresses every gzip member of in into z->out, which must
// then hold exactly size bytes. It returns 0 or a libdeflate_result
// (negative for allocation failure or a size mismatch).
static int ct_inflate(struct ct_inflater *z, const void *in, size_t in_n, size_t size) {
	if (z->cap < size) {
		void *p = realloc(z->out, size);
		if (p == NULL) return -1;
		z->out = p;
		z->cap = size;
	}
	size_t used = 0, pos = 0;
	while (used < in_n) {
		size_t in_got = 0, out_got = 0;
		enum libdeflate_result r = libdeflate_gzip_decompress_ex(z->d,
			(const char *)in + used, in_n - used,
			(char *)z->out + pos, size - pos, &in_got, &out_got);
		if (r != LIBDEFLATE_SUCCESS) return (int)r;
		used += in_got;
		pos += out_got;
	}
	return pos == size ? 0 : -2;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/decode"
)

// Available reports whether this build inflates with libdeflate.
const Available = true

// Inflater is a decode.Inflater backed by libdeflate. It is not safe for
// concurrent use: one per decoder.
type Inflater struct {
	z *C.struct_ct_inflater
}

// New returns an Inflater, or nil if C memory is short (the decoder then
// streams).
func New() decode.Inflater {
	z := C.ct_inflater_new()
	if z == nil {
		return nil
	}
	f := &Inflater{z: z}
	runtime.AddCleanup(f, func(z *C.struct_ct_inflater) { C.ct_inflater_free(z) }, z)
	return f
}

// Inflate implements decode.Inflater. The returned slice is C memory,
// valid until the next call.
func (f *Inflater) Inflate(src []byte, size int) ([]byte, error) {
	if len(src) == 0 || size <= 0 {
		return nil, errors.New("inflate: nothing to inflate")
	}
	r := C.ct_inflate(f.z, unsafe.Pointer(&src[0]), C.size_t(len(src)), C.size_t(size))
	runtime.KeepAlive(f)
	switch r {
	case 0:
		return unsafe.Slice((*byte)(f.z.out), size), nil
	case -1:
		return nil, fmt.Errorf("inflate: cannot allocate %d bytes", size)
	case -2:
		return nil, fmt.Errorf("inflate: content is not %d bytes", size)
	}
	return nil, fmt.Errorf("inflate: libdeflate result %d", int(r))
}
