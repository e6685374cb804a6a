package main

/*
#include <unistd.h>
#include "flb.h"
*/
import "C"

import (
	"errors"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/collector"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
)

// handover hands records to Fluent Bit every handover_interval from a
// goroutine, through the instance's slot (flb.h, handover.c): the goroutine
// takes what is ready (Collector.Take, which paces), publishes it, and the
// instance's thread appends it and wakes the goroutine, which reports it
// (Collector.Handed). Fluent Bit's thread runs no Go for it.
//
// The counters Take and Handed read bracket the append with nothing else
// appended to the instance in between: the slot holds one handover at a time,
// and the proxy's own callback hands nothing over while the slot is used
// (proxyCollect).
type handover struct {
	slot  *C.struct_ct_slot
	wake  *os.File // a dup of the slot's wake_go, read through Go's poller
	col   *collector.Collector
	mem   *cMemory
	queue string // for messages
	max   int
	every time.Duration
	log   *flbLogger

	stop    chan struct{}
	stopped chan struct{}
}

// openHandover adds the slot's collector to the instance being initialised
// (FLBPluginInit, the instance's thread); how says why not when it cannot.
func openHandover(plugin unsafe.Pointer) (*C.struct_ct_slot, string) {
	s := C.ct_slot_open(plugin)
	if s == nil {
		return nil, "this Fluent Bit does not export flb_input_set_collector_event and flb_input_log_append_records"
	}
	return s, ""
}

// startHandover starts the goroutine for slot s once the collector runs.
func startHandover(s *C.struct_ct_slot, col *collector.Collector, mem *cMemory, cfg *config.Config, log *flbLogger) (*handover, error) {
	fd, err := C.dup(s.wake_go)
	if fd < 0 {
		return nil, err
	}
	// The eventfd is non-blocking, so os.NewFile reads it through the
	// runtime's poller: a blocked read parks the goroutine, not a thread.
	h := &handover{slot: s, wake: os.NewFile(uintptr(fd), "in_cloudtrail-handover"), col: col, mem: mem, queue: cfg.QueueURL, max: cfg.BufferMaxSize, every: cfg.HandoverInterval, log: log,
		stop: make(chan struct{}), stopped: make(chan struct{})}
	go h.run()
	return h, nil
}

func (h *handover) state() *int32  { return (*int32)(unsafe.Pointer(&h.slot.state)) }
func (h *handover) paused() *int32 { return (*int32)(unsafe.Pointer(&h.slot.paused)) }

func (h *handover) run() {
	defer close(h.stopped)
	t := time.NewTicker(h.every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		h.tick()
	}
}

// tick hands over what is ready, if anything.
func (h *handover) tick() {
	defer recoverTo(nil, 0, "handover")
	ho := h.col.Take(h.max)
	if ho == nil {
		return
	}
	switch h.append(ho) {
	case appended:
		h.col.Handed(ho)
	case notAppended:
		h.col.Untake(ho)
	case stuck:
		// Fluent Bit may still be reading the records: their memory is
		// never freed. Their messages return to SQS unacknowledged.
		h.mem.kept.Store(true)
		h.log.Warnf("queue %s: Fluent Bit did not finish appending a handover of %d records within %s of the stop; its messages return to the queue", h.queue, ho.Events(), exitBudget)
	}
}

type outcome int

const (
	appended outcome = iota
	notAppended
	stuck
)

// append publishes ho in the slot and waits until the instance's thread has
// appended it, or the handover is taken back at a stop.
func (h *handover) append(ho *collector.Handover) outcome {
	data := ho.Data()
	h.slot.data = unsafe.Pointer(unsafe.SliceData(data)) // C memory (memory.go)
	h.slot.size = C.size_t(len(data))
	h.slot.records = C.size_t(ho.Events())
	atomic.StoreInt32(h.state(), C.CT_SLOT_READY)
	C.ct_slot_wake(h.slot.wake_ins)
	var buf [8]byte
	for {
		if atomic.LoadInt32(h.state()) == C.CT_SLOT_DONE {
			atomic.StoreInt32(h.state(), C.CT_SLOT_IDLE)
			return appended
		}
		select {
		case <-h.stop:
			return h.takeBack()
		default:
		}
		if _, err := h.wake.Read(buf[:]); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			h.log.Errorf("queue %s: handover wake-up: %v", h.queue, err)
			time.Sleep(h.every) // not a spin, should the eventfd fail
		}
	}
}

// takeBack ends a handover at a stop: one not yet appended is taken back;
// one being appended (only when the stop runs on another thread) is waited
// for, within exitBudget.
func (h *handover) takeBack() outcome {
	if atomic.CompareAndSwapInt32(h.state(), C.CT_SLOT_READY, C.CT_SLOT_IDLE) {
		return notAppended
	}
	for deadline := time.Now().Add(exitBudget); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if atomic.LoadInt32(h.state()) == C.CT_SLOT_DONE {
			atomic.StoreInt32(h.state(), C.CT_SLOT_IDLE)
			return appended
		}
	}
	return stuck
}

// pause and resume follow Fluent Bit's pause callbacks, on the instance's
// thread: a published handover waits for resume rather than being appended
// to a paused instance.
func (h *handover) pause() { atomic.StoreInt32(h.paused(), 1) }

func (h *handover) resume() {
	atomic.StoreInt32(h.paused(), 0)
	C.ct_slot_wake(h.slot.wake_ins)
}

// close stops the goroutine, after which the collector may stop, and
// retires the slot.
func (h *handover) close() {
	close(h.stop)
	h.wake.SetReadDeadline(time.Now())
	<-h.stopped
	h.wake.Close()
	C.ct_slot_retire(h.slot)
}
