package main

/*
#include "flb.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/fbconf"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/flbabi"
)

var (
	propsOnce sync.Once
	propsOff  int // offset of the property list in struct flb_input_instance; 0: unknown
)

// propertiesOffset decodes, once per process, where this Fluent Bit keeps an
// instance's properties (package flbabi).
func propertiesOffset() int {
	propsOnce.Do(func() {
		var code [flbabi.CodeLen]byte
		var fn, target C.uintptr_t
		if C.ct_property_code((*C.uchar)(&code[0]), C.size_t(len(code)), &fn, &target) != 0 {
			return
		}
		if off, ok := flbabi.PropertiesOffset(runtime.GOARCH, code[:], uintptr(fn), uintptr(target)); ok {
			propsOff = off
		}
	})
	return propsOff
}

// propertyKeys returns the keys of the instance's section that Fluent Bit
// does not read itself. ok is false when this Fluent Bit's layout is not
// recognised: then nothing is checked.
func propertyKeys(ins unsafe.Pointer) (keys []string, ok bool) {
	off := propertiesOffset()
	if off == 0 || ins == nil {
		return nil, false
	}
	buf := make([]byte, C.CT_MAX_PROPERTIES*8)
	n := C.ct_property_keys(ins, C.size_t(off), (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	if n < 0 {
		return nil, false
	}
	return strings.Split(string(buf), "\x00")[:n], true
}

// checkKeys refuses the keys the plugin does not read, as Fluent Bit's own
// plugins do with their configuration maps. checked is false when the keys
// could not be listed.
func checkKeys(ins unsafe.Pointer) (checked bool, err error) {
	keys, ok := propertyKeys(ins)
	if !ok {
		return false, nil
	}
	var bad []string
	for _, k := range keys {
		if config.IsKey(k) {
			continue
		}
		msg := config.Unknown(k)
		if fbconf.IsInputKey(k) {
			msg += " (a property of newer Fluent Bit releases; this one does not read it)"
		}
		bad = append(bad, msg)
	}
	if len(bad) > 0 {
		return true, fmt.Errorf("%s: neither Fluent Bit nor the plugin reads it; fix or remove it", strings.Join(bad, "; "))
	}
	return true, nil
}
