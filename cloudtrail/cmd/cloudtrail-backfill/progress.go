package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/backfill"
)

// progress prints the run's progress to stderr: one line redrawn in place
// on a terminal, plain lines every period otherwise (a log file or a CI job
// has no use for carriage returns).
type progress struct {
	w     io.Writer
	tty   bool
	stats func() backfill.Stats
	done  chan struct{}
	wg    sync.WaitGroup
}

func newProgress(w io.Writer, tty bool, every time.Duration, stats func() backfill.Stats) *progress {
	p := &progress{w: w, tty: tty, stats: stats, done: make(chan struct{})}
	period := every
	if tty {
		period = 500 * time.Millisecond
	}
	if period <= 0 {
		return p
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				p.print()
			}
		}
	}()
	return p
}

func (p *progress) print() {
	line := progressLine(p.stats(), time.Now())
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		return
	}
	fmt.Fprintf(p.w, "%s: %s\n", name, line)
}

// stop ends the printing; on a terminal it leaves the last line in place.
func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
	if p.tty {
		p.print()
		fmt.Fprintln(p.w)
	}
}

// progressLine says what was listed and enqueued, the rate and, once the
// listing is done and the total known, the time left.
func progressLine(s backfill.Stats, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listed %d objects (%s)", s.Listed, size(s.ListedBytes))
	if !s.ListingDone && s.Day != "" {
		fmt.Fprintf(&b, ", listing %s", s.Day)
	}
	elapsed := now.Sub(s.Started)
	fmt.Fprintf(&b, ", enqueued %d (%s) in %d messages", s.Enqueued, size(s.EnqueuedBytes), s.Messages)
	if elapsed > time.Second && s.Enqueued > 0 {
		rate := float64(s.Enqueued) / elapsed.Seconds()
		fmt.Fprintf(&b, ", %.1f objects/s", rate)
		if s.ListingDone {
			left := time.Duration(float64(s.Listed-s.Enqueued) / rate * float64(time.Second))
			fmt.Fprintf(&b, ", ETA %s", left.Round(time.Second))
		}
	}
	if s.Waiting {
		fmt.Fprintf(&b, "; queue full (%d messages): waiting for the consumers", s.Depth)
	}
	return b.String()
}

// summary is the last word: what was done, and after a failure or an
// interrupt how far it got and how to go on.
func summary(w io.Writer, s backfill.Stats, o *options, queue string, err error) {
	took := time.Since(s.Started).Round(time.Millisecond)
	skipped := skippedText(s.Skipped)
	switch {
	case o.dryRun && err == nil:
		fmt.Fprintf(w, "%s: dry run: %d objects (%s) selected, nothing enqueued, in %s%s\n", name, s.Listed, size(s.ListedBytes), took, skipped)
		return
	case err == nil:
		fmt.Fprintf(w, "%s: done: %d objects (%s) enqueued in %d messages to %s in %s", name, s.Enqueued, size(s.EnqueuedBytes), s.Messages, queue, took)
		if s.WaitedFor > 0 {
			fmt.Fprintf(w, " (%s waiting for the consumers)", s.WaitedFor.Round(time.Second))
		}
		if s.Earlier.Objects > 0 {
			fmt.Fprintf(w, "; %d objects in all with the earlier runs", s.Earlier.Objects+s.Enqueued)
		}
		fmt.Fprintf(w, "%s\n", skipped)
		return
	}
	what := "FAILED"
	if backfill.Interrupted(err) {
		what, err = "interrupted", nil
	}
	fmt.Fprintf(w, "%s: %s after %s: %d of the %d objects listed so far enqueued (%s) in %d messages", name, what, took, s.Enqueued, s.Listed, size(s.EnqueuedBytes), s.Messages)
	if s.LastKey != "" {
		fmt.Fprintf(w, "; last key enqueued: %s", s.LastKey)
	}
	fmt.Fprintln(w)
	if err != nil {
		fmt.Fprintf(w, "%s: %v\n", name, err)
	}
	if o.dryRun {
		return
	}
	switch {
	case o.resume != "":
		fmt.Fprintf(w, "%s: run the same command again to go on: %s says where (a batch sent just before a crash is sent again, and its objects are ingested twice)\n", name, o.resume)
	case s.LastKey != "":
		fmt.Fprintf(w, "%s: run the same command with -after %s to go on (or use -resume FILE next time)\n", name, s.LastKey)
	}
}

func skippedText(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, reason := range []string{"not a log file", "not selected"} {
		if m[reason] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[reason], reason))
		}
	}
	return "; skipped in the listed days: " + strings.Join(parts, ", ")
}

// printTally prints the dry run's counts per account, region and day.
func printTally(w io.Writer, t backfill.Tally) {
	fmt.Fprintf(w, "%-12s  %-15s  %-10s  %8s  %10s\n", "account", "region", "day", "objects", "bytes")
	for _, g := range t.Groups() {
		c := t[g]
		fmt.Fprintf(w, "%-12s  %-15s  %-10s  %8d  %10s\n", g.Account, g.Region, g.Day, c.Objects, size(c.Bytes))
	}
}

// size prints a byte count for people: 512 B, 1.5 KiB, 3.2 GiB.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
