package main

/*
#include "flb.h"
*/
import "C"

import (
	"context"
	"fmt"
	"os"
	"runtime/cgo"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/fluent/fluent-bit-go/input"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/awsapi"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/collector"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/decode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/metrics"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/schema"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/version"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/plugin/inflate"
)

// instance is one [INPUT] section of the plugin.
type instance struct {
	name    string // as Fluent Bit names it: cloudtrail.0, cloudtrail.1, ...
	tid     int    // the instance's Fluent Bit thread
	handle  cgo.Handle
	cfg     *config.Config
	col     *collector.Collector
	log     *flbLogger
	pending *collector.Handover // given to Fluent Bit by the last callback
	timer   bool                // handovers come from the plugin's own timer (handover.go), not the proxy's callback
	hand    *handover           // the plugin's own timer; nil with the proxy's callback
	once    sync.Once

	started        time.Time
	releaseMetrics func()        // stops serving this instance's metrics
	stopSummary    chan struct{} // ends the periodic stats line
	clients        *awsapi.Clients
	counters       *counterReader // nil when acknowledging by delay
	notes          []string       // what this Fluent Bit lacks, for the start line
}

// The registry maps both the cgo handle Fluent Bit passes to the *Ctx
// callbacks and the calling thread (for the hooks that get no context) to an
// instance. Fluent Bit runs every call of an instance on that instance's own
// thread, so the thread identifies it.
var (
	regMu    sync.Mutex
	byTID    = map[int]*instance{}
	live     = map[*instance]bool{}
	lastAPI  unsafe.Pointer
	initSeen int
)

func register(inst *instance) {
	regMu.Lock()
	defer regMu.Unlock()
	byTID[inst.tid] = inst
	live[inst] = true
}

func unregister(inst *instance) {
	regMu.Lock()
	defer regMu.Unlock()
	if byTID[inst.tid] == inst {
		delete(byTID, inst.tid)
	}
	if live[inst] {
		delete(live, inst)
		inst.handle.Delete()
	}
}

func all() []*instance {
	regMu.Lock()
	defer regMu.Unlock()
	out := make([]*instance, 0, len(live))
	for i := range live {
		out = append(out, i)
	}
	return out
}

func byThread() *instance {
	regMu.Lock()
	defer regMu.Unlock()
	return byTID[syscall.Gettid()]
}

func byContext(ctx unsafe.Pointer) *instance {
	if ctx == nil {
		return byThread()
	}
	inst, _ := cgo.Handle(uintptr(ctx)).Value().(*instance)
	return inst
}

// nextName returns the name Fluent Bit gives the instance being initialised:
// instances of a plugin are numbered from 0 in configuration order, and a hot
// reload starts again from 0 once the old instances have exited.
func nextName() string {
	regMu.Lock()
	defer regMu.Unlock()
	return pluginName + "." + strconv.Itoa(len(live))
}

func newInstance(plugin unsafe.Pointer) (inst *instance, err error) {
	api, ins := C.ct_api(plugin), C.ct_instance(plugin)
	regMu.Lock()
	lastAPI = api
	initSeen++
	regMu.Unlock()
	name := nextName()
	log := newLogger(api, ins, name)
	var notes []string
	switch C.ct_context_layout(plugin) {
	case C.CT_CTX_UNKNOWN:
		return nil, errUnsupported
	case C.CT_CTX_NONE:
		notes = append(notes, "instances told apart by thread (this Fluent Bit has no FLBPluginInputCallbackCtx, which came in 4.1)")
	}
	if checked, err := checkKeys(ins); err != nil {
		return nil, err
	} else if !checked {
		notes = append(notes, "unknown keys not checked (this Fluent Bit's property list was not recognised)")
	}
	cfg, err := config.Parse(func(k string) string { return input.FLBPluginConfigKey(plugin, k) })
	if err != nil {
		return nil, err
	}
	tid := syscall.Gettid()
	if comm, _ := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/comm", tid)); strings.HasPrefix(string(comm), "flb-pipeline") {
		// With threaded off every callback would run on the engine thread,
		// and all instances would share it.
		return nil, fmt.Errorf("threaded: off is not supported: this input must run in its own thread (remove 'threaded off')")
	}
	clients, err := awsapi.New(context.Background(), cfg, "fluent-bit-in_cloudtrail", func(warn bool, msg string) {
		if warn {
			log.Warnf("%s", msg)
		} else {
			log.Debugf("%s", msg)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", cfg.QueueURL, err)
	}
	cfg.Region = clients.Config.Region
	if cfg.CheckOnStart {
		if err := checkOnStart(cfg, log); err != nil {
			clients.Close()
			return nil, err
		}
	}
	counters, why := openCounters(ins)
	slot, how := startTimer(plugin, cfg, counters)
	timer := slot != nil
	if timer {
		defer func() {
			if err != nil {
				C.ct_slot_retire(slot)
			}
		}()
	}
	if !timer {
		notes = append(notes, "handover once a second by the Go proxy's callback ("+how+")")
	}
	cfg.ResolveBuffer(timer)
	newEnc, err := schema.Factory(cfg)
	if err != nil {
		counters.close()
		return nil, err
	}
	mem := &cMemory{}
	opts := collector.Options{
		Config:      cfg,
		SQS:         clients.SQS,
		S3:          clients.S3,
		NewEncoder:  newEnc,
		NewInflater: inflate.New,
		Limits:      limits(cfg),
		Log:         log,
		CloudTrail:  clients.CloudTrail,
		Memory:      mem,
	}
	if counters != nil {
		opts.Counters = counters.read
	}
	opts.AckWhy = why
	col, err := collector.New(opts)
	if err != nil {
		counters.close()
		return nil, err
	}
	if !col.Counting() {
		counters.close()
		counters = nil
		if d := cfg.DeleteDelay; d != config.Auto && d < config.DelayMargin {
			// Without counters the margin is all that covers the records
			// still in Fluent Bit's ring buffer at a stop or reload (3.2
			// discards them) or a crash.
			log.Warnf("queue %s: delete_delay %s with ack=delay: a stop, reload or crash of Fluent Bit within %s of a handover can lose its records (their messages are already deleted); the default, auto, is %s here", cfg.QueueURL, d, d, config.DelayMargin)
		}
	}
	if err := col.Start(); err != nil {
		counters.close()
		return nil, err
	}
	if cfg.MallocTuning {
		notes = append(notes, tuneMalloc())
	}
	if !inflate.Available {
		notes = append(notes, "gzip inflated by Go's streaming reader (built without libdeflate: about 2.3x slower)")
	}
	inst = &instance{name: name, tid: tid, cfg: cfg, col: col, log: log, started: time.Now(), clients: clients, stopSummary: make(chan struct{}), counters: counters, notes: notes, timer: timer}
	if timer {
		if inst.hand, err = startHandover(slot, col, mem, cfg, log); err != nil {
			col.Stop(context.Background())
			counters.close()
			return nil, fmt.Errorf("queue %s: handover: %w", cfg.QueueURL, err)
		}
	}
	if cfg.MetricsListen != "" {
		src := collector.MetricsSource{C: col, Labels: metrics.Labels{{"instance", name}, {"queue_url", cfg.QueueURL}}}
		release, err := metrics.Listen(cfg.MetricsListen, src)
		if err != nil {
			if inst.hand != nil {
				inst.hand.close()
			}
			col.Stop(context.Background())
			counters.close()
			return nil, err
		}
		inst.releaseMetrics = release
	}
	if every := cfg.MetricsLogInterval; every > 0 {
		go func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					log.Infof("%s", col.Summary(time.Since(inst.started)))
				case <-inst.stopSummary:
					return
				}
			}
		}()
	}
	mode := "ack=counters"
	if counters != nil && !counters.direct() {
		// Correct, only dearer: see openCounters.
		mode += " (read as Prometheus text: this Fluent Bit's cmetrics layout is not one the plugin reads directly)"
	}
	if !col.Counting() {
		mode = "ack=delay (" + col.AckReason() + ")"
	}
	line := fmt.Sprintf("started: version %s; %s; %s, delete margin %s", version.Version, strings.Join(cfg.Effective(), " "), mode, cfg.DeleteMargin(col.Counting()))
	if timer {
		line += fmt.Sprintf("; handover every %s (the plugin's own timer)", cfg.HandoverInterval)
	}
	for _, n := range notes {
		line += "; " + n
	}
	log.Infof("%s", line)
	return inst, nil
}

// startTimer opens the plugin's own handover timer on the instance
// (handover.go, handover.c), before the collector exists: Fluent Bit starts
// its collector once Init has returned, and the buffer's default depends on
// it. The timer hands over many times a second, so it runs only where pacing
// can hold it back while Fluent Bit's engine is behind, that is with Fluent
// Bit's counters (4.1 and later, ack auto); elsewhere the proxy's 1 s
// callback keeps the ring buffer's growth to one buffer a second, as before.
// how says why not.
func startTimer(plugin unsafe.Pointer, cfg *config.Config, counters *counterReader) (slot *C.struct_ct_slot, how string) {
	if cfg.Ack == "delay" || counters == nil {
		return nil, "without Fluent Bit's counters a faster timer could not be paced"
	}
	if _, ok := counters.read(); !ok {
		return nil, "without Fluent Bit's ring buffer counters a faster timer could not be paced"
	}
	return openHandover(plugin)
}

// errUnsupported refuses a Fluent Bit whose Go proxy structures the plugin
// does not recognise (README, Compatibility): guessing would write into
// memory it does not understand.
var errUnsupported = fmt.Errorf("this Fluent Bit is not supported: its Go input proxy structures match no release from 3.2 to 5.1 (the plugin needs Fluent Bit 3.2 or later)")

// stop ends the instance's collector once, within exitBudget.
func (inst *instance) stop() {
	inst.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), exitBudget)
		defer cancel()
		if inst.pending != nil {
			// A callback's records whose cleanup never ran were not
			// handed over; their messages are released, not deleted.
			inst.pending = nil
		}
		if inst.hand != nil {
			inst.hand.close() // before the collector frees its memory
		}
		inst.col.Stop(ctx)
		inst.counters.close() // Fluent Bit destroys the metrics context after Exit
		close(inst.stopSummary)
		if inst.releaseMetrics != nil {
			inst.releaseMetrics()
		}
		inst.clients.Close()
		inst.log.Infof("%s", inst.col.Summary(time.Since(inst.started)))
		inst.log.flush()
	})
}

// panicLog reports a recovered panic with its stack on Fluent Bit's log.
func panicLog(where string, r any) {
	regMu.Lock()
	api := lastAPI
	regMu.Unlock()
	msg := fmt.Sprintf("[input:cloudtrail] panic recovered in %s (please report this): %v\n%s", where, r, debug.Stack())
	if api == nil {
		fmt.Fprintf(os.Stderr, "[%s] [error] %s\n", time.Now().Format("2006/01/02 15:04:05"), msg)
		return
	}
	cs := C.CString(msg)
	C.ct_log(api, C.CT_LOG_ERROR, cs)
	C.free(unsafe.Pointer(cs))
}

// limits are the decoder's limits with the configured gzip bomb guards.
func limits(cfg *config.Config) decode.Limits {
	l := decode.DefaultLimits()
	l.MaxDecompressedBytes = cfg.MaxDecompressedSize
	l.MaxRatio = cfg.MaxCompressionRatio
	return l
}
