// Command in_cloudtrail is the Fluent Bit input plugin "cloudtrail", built
// with go build -buildmode=c-shared. This package is only the cgo boundary:
// it reads the [INPUT] properties, hands records to Fluent Bit and maps
// Fluent Bit's lifecycle calls to a collector.Collector per instance.
//
// Rules kept at this boundary: every export recovers panics (a Go panic
// would abort Fluent Bit); C never holds a Go pointer (instances are named
// by runtime/cgo.Handle values); records are written into malloc'd C memory
// that Fluent Bit reads in the input callback and that is reused after the
// cleanup callback (memory.go); the input callback only points at records
// that background goroutines wrote, so it returns in microseconds.
package main

/*
#include <stdlib.h>
#include <string.h>
#include "flb.h"
*/
import "C"

import (
	"runtime/cgo"
	"time"
	"unsafe"

	"github.com/fluent/fluent-bit-go/input"
)

const (
	pluginName = "cloudtrail"
	pluginDesc = "AWS CloudTrail logs from S3 via SQS notifications"
	exitBudget = 3 * time.Second // well inside Fluent Bit's default 5 s grace
)

//export FLBPluginRegister
func FLBPluginRegister(def unsafe.Pointer) (ret int) {
	defer recoverTo(&ret, -1, "register")
	return input.FLBPluginRegister(def, pluginName, pluginDesc)
}

//export FLBPluginInit
func FLBPluginInit(plugin unsafe.Pointer) (ret int) {
	defer recoverTo(&ret, input.FLB_ERROR, "init")
	inst, err := newInstance(plugin)
	if err != nil {
		logInitError(plugin, err)
		return input.FLB_ERROR
	}
	h := cgo.NewHandle(inst)
	inst.handle = h
	C.ct_set_context(plugin, C.uintptr_t(h)) // checked by newInstance; before 4.1 instances are told apart by thread
	register(inst)
	return input.FLB_OK
}

//export FLBPluginInputPreRun
func FLBPluginInputPreRun(hotReload C.int) (ret C.int) {
	defer recoverTo(&ret, 0, "pre-run")
	return 0
}

//export FLBPluginInputCallbackCtx
func FLBPluginInputCallbackCtx(ctx unsafe.Pointer, data *unsafe.Pointer, size *C.size_t) (ret int) {
	*size = 0 // "nothing this time" unless collect hands a buffer over
	defer recoverTo(&ret, input.FLB_OK, "callback")
	return proxyCollect(byContext(ctx), data, size)
}

//export FLBPluginInputCallback
func FLBPluginInputCallback(data *unsafe.Pointer, size *C.size_t) (ret int) {
	*size = 0
	defer recoverTo(&ret, input.FLB_OK, "callback")
	return proxyCollect(byThread(), data, size)
}

//export FLBPluginInputCleanupCallbackCtx
func FLBPluginInputCleanupCallbackCtx(ctx unsafe.Pointer, data unsafe.Pointer) (ret int) {
	defer recoverTo(&ret, input.FLB_OK, "cleanup")
	cleanup(byContext(ctx), data)
	return input.FLB_OK
}

//export FLBPluginInputCleanupCallback
func FLBPluginInputCleanupCallback(data unsafe.Pointer) (ret int) {
	defer recoverTo(&ret, input.FLB_OK, "cleanup")
	cleanup(byThread(), data)
	return input.FLB_OK
}

//export FLBPluginInputPause
func FLBPluginInputPause() {
	defer recoverTo(nil, 0, "pause")
	if inst := byThread(); inst != nil {
		inst.col.Pause()
		if inst.hand != nil {
			inst.hand.pause()
		}
		inst.log.Debugf("paused")
	}
}

//export FLBPluginInputResume
func FLBPluginInputResume() {
	defer recoverTo(nil, 0, "resume")
	if inst := byThread(); inst != nil {
		inst.col.Resume()
		if inst.hand != nil {
			inst.hand.resume()
		}
		inst.log.Debugf("resumed")
	}
}

//export FLBPluginInputPreExit
func FLBPluginInputPreExit(hotReload C.int) {
	defer recoverTo(nil, 0, "pre-exit")
	if inst := byThread(); inst != nil {
		inst.stop()
	}
}

//export FLBPluginExit
func FLBPluginExit() (ret int) {
	defer recoverTo(&ret, input.FLB_OK, "exit")
	if inst := byThread(); inst != nil {
		inst.stop()
		unregister(inst)
	}
	return input.FLB_OK
}

//export FLBPluginUnregister
func FLBPluginUnregister(def unsafe.Pointer) {
	defer recoverTo(nil, 0, "unregister")
	// Instances whose Exit was never called (an aborted start) are stopped
	// here so that no goroutine keeps a message invisible.
	for _, inst := range all() {
		inst.col.CountersGone() // its metrics context may be gone already
		inst.stop()
		unregister(inst)
	}
	input.FLBPluginUnregister(def)
}

// proxyCollect is the Go proxy's fixed 1 s callback: it hands records over
// only when the plugin's own timer is not running.
func proxyCollect(inst *instance, data *unsafe.Pointer, size *C.size_t) int {
	if inst != nil && inst.timer {
		return input.FLB_OK
	}
	return collect(inst, data, size)
}

// collect points *data at the records waiting for this instance, in the
// collector's C memory (memory.go); they stay there, unchanged, until
// cleanup.
func collect(inst *instance, data *unsafe.Pointer, size *C.size_t) int {
	*size = 0
	if inst == nil {
		return input.FLB_OK
	}
	h := inst.col.Take(inst.cfg.BufferMaxSize)
	if h == nil {
		return input.FLB_OK
	}
	inst.pending = h
	*data = unsafe.Pointer(unsafe.SliceData(h.Data()))
	*size = C.size_t(h.Size())
	return input.FLB_OK
}

// cleanup runs right after Fluent Bit copied the records into its ring
// buffer (or gave up): the collector learns which, and reuses the memory.
func cleanup(inst *instance, data unsafe.Pointer) {
	if inst == nil {
		return
	}
	h := inst.pending
	inst.pending = nil
	inst.col.Handed(h)
}

func logInitError(plugin unsafe.Pointer, err error) {
	l := newLogger(C.ct_api(plugin), C.ct_instance(plugin), nextName())
	l.Errorf("%v", err)
}

// recoverTo turns a panic into a logged error and a return value, so that it
// never unwinds into Fluent Bit's C frames (which aborts the process).
func recoverTo[T any](ret *T, val T, where string) {
	if r := recover(); r != nil {
		if ret != nil {
			*ret = val
		}
		panicLog(where, r)
	}
}

func main() {}
