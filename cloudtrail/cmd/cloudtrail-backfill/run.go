package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/awsapi"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/backfill"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
)

const name = "cloudtrail-backfill"

// run is the command; tty says stderr is a terminal (a live progress line).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return 2
	}
	if o.input.PrintVersion(stdout, name) {
		return 0
	}
	cfg, where, err := loadConfig(o)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	queue := cfg.QueueURL
	var state *backfill.State
	if o.resume != "" {
		var resumed bool
		state, resumed, err = backfill.OpenState(o.resume, o.sel.ID(queue))
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			if errors.Is(err, backfill.ErrUsage) {
				return 2
			}
			return 1
		}
		switch {
		case resumed && state.Done:
			fmt.Fprintf(stdout, "%s: %s records a finished run (%d objects in %d messages): nothing to do; delete it to run again\n", name, o.resume, state.Objects, state.Messages)
			return 0
		case resumed:
			fmt.Fprintf(stderr, "%s: resuming from %s: %d objects enqueued by earlier runs, going on after %s\n", name, o.resume, state.Objects, state.After)
		}
	}

	clients, err := awsapi.New(ctx, cfg, name, func(warn bool, msg string) {
		if warn {
			fmt.Fprintf(stderr, "%s: %s\n", name, msg)
		}
	})
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	defer clients.Close()

	r := &backfill.Runner{Sel: o.sel, S3: clients.S3, PerMessage: o.perMessage, State: state, After: o.after}
	if !o.dryRun {
		r.Queue = &backfill.Queue{SQS: clients.SQS, URL: queue, MaxQueued: o.maxQueued, Poll: o.poll}
	}
	action := "enqueuing to " + queue
	if o.dryRun {
		action = "dry run (nothing is enqueued)"
	}
	fmt.Fprintf(stderr, "%s: %s: s3://%s/%s, %s; %s\n", name, where, o.sel.Bucket, o.sel.Prefix, rangeText(o.sel), action)

	p := newProgress(stderr, tty, o.every, r.Stats)
	err = r.Run(ctx)
	p.stop()
	st := r.Stats()
	if o.dryRun && err == nil {
		printTally(stdout, r.Tally())
	}
	summary(stdout, st, o, queue, err)
	if err != nil {
		if errors.Is(err, backfill.ErrUsage) {
			return 2
		}
		return 1
	}
	return 0
}

// loadConfig resolves the input's settings; -queue replaces queue_url.
func loadConfig(o *options) (*config.Config, string, error) {
	in, err := o.input.Load()
	if err != nil {
		return nil, "", err
	}
	if o.queue != "" {
		in.Section.Set("queue_url", o.queue)
	}
	if len(in.Missing) > 0 {
		return nil, "", fmt.Errorf("%s: ${%s} is not set", in.Where, in.Missing[0])
	}
	cfg, err := config.Parse(in.Section.Get)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", in.Where, err)
	}
	return cfg, in.Where, nil
}

func rangeText(s backfill.Selection) string {
	from, to := "the beginning", "no end"
	if !s.Start.IsZero() {
		from = s.Start.Format(time.RFC3339)
	}
	if !s.End.IsZero() {
		to = s.End.Format(time.RFC3339)
	}
	return fmt.Sprintf("files from %s to %s (excluded)", from, to)
}
