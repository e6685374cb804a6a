package main

/*
#include "flb.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"time"
	"unsafe"
)

// flbLogger prints through Fluent Bit's logger with the prefix Fluent Bit's
// own plugins use ("[input:cloudtrail:cloudtrail.0] ..."), honouring the
// instance's log_level. Identical errors repeated within a window are
// printed once, then summarised with a count, so an outage does not flood
// the log.
type flbLogger struct {
	api    unsafe.Pointer // C pointers owned by Fluent Bit, valid for the instance's life
	ins    unsafe.Pointer
	prefix string

	mu      sync.Mutex
	repeats map[string]*repeat
}

type repeat struct {
	first time.Time
	count int
	level C.int
}

const repeatWindow = 30 * time.Second

func newLogger(api, ins unsafe.Pointer, name string) *flbLogger {
	return &flbLogger{api: api, ins: ins, prefix: "[input:cloudtrail:" + name + "] ", repeats: map[string]*repeat{}}
}

func (l *flbLogger) print(level C.int, format string, args []any) {
	if C.ct_log_enabled(l.api, l.ins, level) == 0 {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if level <= C.CT_LOG_WARN {
		now := time.Now()
		l.mu.Lock()
		r := l.repeats[msg]
		if r != nil && now.Sub(r.first) < repeatWindow {
			r.count++
			l.mu.Unlock()
			return
		}
		var flush []string
		for k, rr := range l.repeats {
			if now.Sub(rr.first) >= repeatWindow {
				if rr.count > 0 {
					flush = append(flush, fmt.Sprintf("%s(repeated %d more times in %s)", k+" ", rr.count, repeatWindow))
				}
				delete(l.repeats, k)
			}
		}
		l.repeats[msg] = &repeat{first: now, level: level}
		l.mu.Unlock()
		for _, f := range flush {
			l.emit(level, f)
		}
	}
	l.emit(level, msg)
}

func (l *flbLogger) emit(level C.int, msg string) {
	cs := C.CString(l.prefix + msg)
	C.ct_log(l.api, level, cs)
	C.free(unsafe.Pointer(cs))
}

// flush prints the pending repeat counts; called at exit.
func (l *flbLogger) flush() {
	l.mu.Lock()
	var out []string
	var lv []C.int
	for k, r := range l.repeats {
		if r.count > 0 {
			out = append(out, fmt.Sprintf("%s (repeated %d more times)", k, r.count))
			lv = append(lv, r.level)
		}
		delete(l.repeats, k)
	}
	l.mu.Unlock()
	for i, m := range out {
		l.emit(lv[i], m)
	}
}

func (l *flbLogger) Errorf(f string, a ...any) { l.print(C.CT_LOG_ERROR, f, a) }
func (l *flbLogger) Warnf(f string, a ...any)  { l.print(C.CT_LOG_WARN, f, a) }
func (l *flbLogger) Infof(f string, a ...any)  { l.print(C.CT_LOG_INFO, f, a) }
func (l *flbLogger) Debugf(f string, a ...any) { l.print(C.CT_LOG_DEBUG, f, a) }
