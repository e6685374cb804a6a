// Package backfill finds the CloudTrail log files of a bucket that a
// selection names and enqueues S3 event notifications for them, so that the
// running in_cloudtrail plugin ingests a trail's history, or a time range
// again, through its usual pipeline (delete after handover, visibility
// heartbeat, dead-letter queue, metrics) without gaining any state of its own.
//
// Listing never walks the whole bucket: accounts, regions, years, months and
// days are discovered with delimiter listings, and only the prefixes that can
// hold a selected file are descended into. Every level is visited in
// lexicographic order, so keys are produced in strictly increasing order; a
// single key is therefore enough to say how far a run got, which is what
// makes resuming cheap (see State).
package backfill
