// Command cloudtrail-check checks, before Fluent Bit runs, that an
// in_cloudtrail input can do its work: credentials, AssumeRole, the queue,
// receive/visibility/delete permissions, reading and decrypting an object.
// One line per check, ok / warn / FAILED, with the IAM action or setting to
// fix. Exit status: 0 when nothing failed, 1 when a check failed, 2 for a
// usage or configuration error.
//
//	cloudtrail-check -c /fluent-bit/etc/fluent-bit.conf
//	cloudtrail-check -c fluent-bit.yaml -input 1
//	cloudtrail-check -p queue_url=https://sqs.us-east-1.amazonaws.com/123456789012/cloudtrail \
//	    -p role_arn=arn:aws:iam::123456789012:role/cloudtrail-reader -p external_id=...
//	cloudtrail-check -c fluent-bit.conf -sample-key s3://my-trail/AWSLogs/.../x.json.gz
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/check"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/cliconf"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/fbconf"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cloudtrail-check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		input   = cliconf.Register(fs)
		sample  = fs.String("sample-key", "", "object to read, s3://BUCKET/KEY (default: the object named by a message on the queue)")
		receive = fs.Bool("receive", true, "probe sqs:ReceiveMessage by receiving at most one message and giving it back at once (its receive count goes up by one)")
		wait    = fs.Duration("wait", 0, "long-poll wait of the receive probe (up to 20s), to find a sample message on a quiet queue")
		timeout = fs.Duration("timeout", 15*time.Second, "deadline of each AWS call")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: cloudtrail-check [-c FILE [-input N|alias]] [-p key=value ...] [-sample-key s3://BUCKET/KEY]\n\n"+
			"Checks that an in_cloudtrail input can read its queue and objects with the credentials it will run with.\n"+
			"One line per check: ok, warn or FAILED with the IAM action or setting to fix. Exit 0: no failure; 1: a check failed; 2: usage.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if input.PrintVersion(stdout, "cloudtrail-check") {
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cloudtrail-check: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if !input.Given() {
		fs.Usage()
		return 2
	}
	if *wait < 0 || *wait > 20*time.Second {
		fmt.Fprintf(stderr, "cloudtrail-check: -wait %s: must be between 0s and 20s\n", *wait)
		return 2
	}

	in, err := input.Load()
	if err != nil {
		fmt.Fprintf(stderr, "cloudtrail-check: %v\n", err)
		return 2
	}
	sec, where := in.Section, in.Where
	for _, v := range in.Missing {
		fmt.Fprintln(stdout, check.Result{Status: check.Warn, Check: "config", Detail: fmt.Sprintf("${%s} is not set: Fluent Bit substitutes an empty value", v)})
	}

	failed, warned := 0, 0
	report := func(r check.Result) {
		switch r.Status {
		case check.Failed:
			failed++
		case check.Warn:
			warned++
		}
		fmt.Fprintln(stdout, r)
	}
	for _, p := range sec.Props {
		if !known(p.Key) {
			report(check.Result{Status: check.Failed, Check: "config", Detail: config.Unknown(p.Key) + ": neither the plugin nor Fluent Bit reads it, and the plugin refuses to start with it"})
		}
	}
	cfg, err := config.Parse(func(k string) string { return sec.Get(k) })
	if err != nil {
		report(check.Result{Status: check.Failed, Check: "config", Detail: err.Error()})
		return 1
	}
	report(check.Result{Status: check.OK, Check: "config", Detail: fmt.Sprintf("%s: queue %s, region %s", where, cfg.QueueURL, regionText(cfg.Region))})

	check.Run(ctx, cfg, check.Options{
		SampleKey: *sample,
		Receive:   *receive,
		Wait:      *wait,
		Timeout:   *timeout,
		UserAgent: "cloudtrail-check",
		Log: func(warn bool, msg string) {
			if warn {
				fmt.Fprintln(stderr, "cloudtrail-check: "+msg)
			}
		},
	}, report)
	if failed > 0 {
		fmt.Fprintf(stdout, "%d check(s) FAILED\n", failed)
		return 1
	}
	if warned > 0 {
		fmt.Fprintf(stdout, "no check failed, %d warning(s)\n", warned)
	} else {
		fmt.Fprintln(stdout, "all checks passed")
	}
	return 0
}

// known reports whether the plugin or Fluent Bit reads key: the plugin
// refuses any other key at start (plugin/properties.go).
func known(key string) bool { return config.IsKey(key) || fbconf.IsInputKey(key) }

func regionText(r string) string {
	if r == "" {
		return "from AWS_REGION or the profile"
	}
	return r
}
