// Command cloudtrail-backfill enqueues S3 event notifications for the
// CloudTrail log files already in a bucket, so that the running
// in_cloudtrail plugin ingests a trail's history, or a time range again,
// with every guarantee it already has. It reads the cloudtrail [INPUT] the
// way cloudtrail-check does (-c FILE, -input, -p key=value) for the queue,
// region, endpoint and role, and honours the AWS environment.
//
//	cloudtrail-backfill -c /fluent-bit/etc/fluent-bit.conf -bucket my-trail -start 2024-05-01 -end 2024-05-08
//	cloudtrail-backfill -c fluent-bit.conf -queue https://sqs.../cloudtrail-backfill -bucket my-trail \
//	    -accounts 111122223333 -regions us-east-1,eu-west-1 -resume backfill.state
//	cloudtrail-backfill -c fluent-bit.conf -bucket my-trail -start 2024-05-01 -dry-run
//
// Exit status: 0 when every selected object was enqueued (or, with -dry-run,
// counted); 1 when an AWS error or an interrupt stopped it, after saying how
// far it got; 2 for a usage or configuration error, with nothing enqueued.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, isTerminal(os.Stderr))
	stop()
	os.Exit(code)
}

// isTerminal reports whether f is a character device (a TTY), where a
// progress line can be redrawn in place.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
