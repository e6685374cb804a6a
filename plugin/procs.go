package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
)

// How many threads run the plugin's Go code at once (GOMAXPROCS).
//
// Go's default is one per CPU (or the container's CPU limit), as if the Go
// runtime had the process to itself. Inside Fluent Bit it does not: the
// engine, the outputs and each input's thread are C threads on the same
// CPUs, and one cloudtrail input needs little of a core for its Go code
// (about 16–18k events a second at 100k–150k events per CPU-second, since
// Fluent Bit's engine takes one handover at a time). With a second P the
// runtime keeps waking an idle thread to look for work and handing Ps
// between threads whenever a call into C (libdeflate, Fluent Bit's
// callbacks) takes longer than 20 µs: on the 2-core test machine one input
// with one P used less CPU per event than with two in most runs, with the
// same events per second (docs/performance.md, "GOMAXPROCS"). So the
// plugin runs one P per live cloudtrail input, up to Go's default: several
// [INPUT]s (the high-volume setup) still use every core.
//
// An operator who sets GOMAXPROCS in Fluent Bit's environment keeps it.

var (
	procsMu      sync.Mutex
	procsDefault = runtime.GOMAXPROCS(0) // what Go chose at load time
	procsByUser  = os.Getenv("GOMAXPROCS") != ""
)

// fitProcs sets GOMAXPROCS for inputs live cloudtrail inputs and returns
// the note for the start line.
func fitProcs(inputs int) string {
	procsMu.Lock()
	defer procsMu.Unlock()
	if procsByUser {
		return fmt.Sprintf("Go code on up to %d threads (GOMAXPROCS set in the environment)", runtime.GOMAXPROCS(0))
	}
	n := min(procsDefault, max(inputs, 1))
	if runtime.GOMAXPROCS(0) != n {
		runtime.GOMAXPROCS(n)
	}
	return fmt.Sprintf("Go code on up to %d of %d threads (GOMAXPROCS: one per cloudtrail input; set it in the environment to choose)", n, procsDefault)
}
