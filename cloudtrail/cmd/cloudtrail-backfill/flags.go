package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/backfill"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/cliconf"
)

// options are the parsed command line.
type options struct {
	input      *cliconf.Flags
	queue      string
	sel        backfill.Selection
	dryRun     bool
	maxQueued  int
	perMessage int
	resume     string
	after      string
	poll       time.Duration
	every      time.Duration
}

const usageText = `usage: cloudtrail-backfill [-c FILE [-input N|alias]] [-p key=value ...] [-queue URL] -bucket NAME
       [-prefix AWSLogs/] [-start TIME] [-end TIME] [-accounts A,B] [-regions R,S] [-insights]
       [-max-queued N] [-per-message N] [-resume FILE] [-dry-run]

Enqueues S3 event notifications for the CloudTrail log files of a bucket into the plugin's queue
(or -queue), so that the running in_cloudtrail inputs ingest them. A file is selected when the time
in its name is in [-start, -end). Digest files and other keys are never enqueued.
Exit 0: every selected object enqueued; 1: an AWS error or an interrupt (it says how far it got);
2: usage or configuration error, nothing enqueued.

`

// parseFlags reads args. Its error, already printed, means exit 2.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("cloudtrail-backfill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{input: cliconf.Register(fs)}
	var start, end, accounts, regions string
	fs.StringVar(&o.queue, "queue", "", "queue to send to, instead of the input's queue_url (e.g. a dedicated backfill queue read by its own [INPUT])")
	fs.StringVar(&o.sel.Bucket, "bucket", "", "bucket holding the trail's files (required)")
	fs.StringVar(&o.sel.Prefix, "prefix", "AWSLogs/", "where the trail writes, up to AWSLogs/ (PREFIX/AWSLogs/ for a trail with a key prefix); may go further to narrow the walk (AWSLogs/o-ORGID/)")
	fs.StringVar(&start, "start", "", "first time selected, RFC 3339 or YYYY-MM-DD (UTC), compared with the time in the file name (default: the beginning)")
	fs.StringVar(&end, "end", "", "end of the range, excluded, RFC 3339 or YYYY-MM-DD (UTC) (default: no end)")
	fs.StringVar(&accounts, "accounts", "", "comma-separated account IDs (default: every account found)")
	fs.StringVar(&regions, "regions", "", "comma-separated regions (default: every region found)")
	fs.BoolVar(&o.sel.Insights, "insights", false, "also enqueue CloudTrail Insights files (CloudTrail-Insight/)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "enqueue nothing; print the selected objects and bytes per account, region and day")
	fs.IntVar(&o.maxQueued, "max-queued", 1000, "most messages visible + in flight in the queue: wait while it is deeper (0: no limit)")
	fs.IntVar(&o.perMessage, "per-message", 10, fmt.Sprintf("most objects named by one message (1 to %d); the plugin retries a message as a whole", backfill.MaxPerMessage))
	fs.StringVar(&o.resume, "resume", "", "state file: continue the run it records, or start one and record it (written after every batch)")
	fs.StringVar(&o.after, "after", "", "skip every key up to and including this one (the last key an interrupted run printed)")
	fs.DurationVar(&o.poll, "poll", 5*time.Second, "how often the queue depth is read again while the queue is full")
	fs.DurationVar(&o.every, "progress", 30*time.Second, "period of the progress lines when stderr is not a terminal (0: none)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.input.Version {
		return o, nil
	}
	fail := func(format string, args ...any) (*options, error) {
		err := fmt.Errorf(format, args...)
		fmt.Fprintf(stderr, "cloudtrail-backfill: %v\n", err)
		return nil, err
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if start != "" {
		if o.sel.Start, err = backfill.ParseTime(start); err != nil {
			return fail("-start: %v", err)
		}
	}
	if end != "" {
		if o.sel.End, err = backfill.ParseTime(end); err != nil {
			return fail("-end: %v", err)
		}
	}
	o.sel.Accounts, o.sel.Regions = backfill.SplitList(accounts), backfill.SplitList(regions)
	if err := o.sel.Validate(); err != nil {
		return fail("%v", err)
	}
	switch {
	case o.maxQueued < 0:
		return fail("-max-queued %d: must be 0 (no limit) or more", o.maxQueued)
	case o.perMessage < 1 || o.perMessage > backfill.MaxPerMessage:
		return fail("-per-message %d: must be between 1 and %d", o.perMessage, backfill.MaxPerMessage)
	case o.poll <= 0:
		return fail("-poll %s: must be positive", o.poll)
	case o.resume != "" && o.after != "":
		return fail("-resume and -after: use one (the resume file knows where to go on)")
	case !o.input.Given() && o.queue == "":
		return fail("no queue: give -c FILE, -p queue_url=URL or -queue URL (a dry run uses its region and credentials too)")
	}
	return o, nil
}
