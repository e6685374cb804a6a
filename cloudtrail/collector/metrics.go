package collector

import (
	"fmt"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/metrics"
)

// MetricsSource renders a collector's metrics with the instance's labels.
type MetricsSource struct {
	C      *Collector
	Labels metrics.Labels
}

// WriteMetrics implements metrics.Source.
func (m MetricsSource) WriteMetrics(w *metrics.Writer) {
	s, l := &m.C.Stats, m.Labels
	w.Counter("cloudtrail_messages_received_total", "SQS messages received.", l, s.MessagesReceived.Load())
	w.Counter("cloudtrail_messages_deleted_total", "SQS messages deleted after every record was handed to Fluent Bit.", l, s.MessagesDeleted.Load())
	w.Counter("cloudtrail_messages_released_total", "SQS messages given back to the queue (failure or shutdown).", l, s.MessagesReleased.Load())
	w.Labeled("cloudtrail_messages_failed_total", "SQS messages that failed, by reason; they return to the queue.", l, "reason", &s.FailedBy)
	w.Labeled("cloudtrail_notifications_ignored_total", "Notification records that named nothing to read, by reason.", l, "reason", &s.IgnoredBy)
	w.Counter("cloudtrail_objects_total", "S3 objects read completely.", l, s.Objects.Load())
	w.Counter("cloudtrail_objects_failed_total", "S3 objects that failed.", l, s.ObjectsFailed.Load())
	w.Counter("cloudtrail_bytes_compressed_total", "Bytes read from S3.", l, s.BytesCompressed.Load())
	w.Counter("cloudtrail_bytes_uncompressed_total", "Bytes of CloudTrail JSON decoded.", l, s.BytesRaw.Load())
	w.Counter("cloudtrail_records_total", "Records handed to Fluent Bit and accepted by it.", l, s.Records.Load())
	w.Labeled("cloudtrail_handovers_total", "Handovers to Fluent Bit by what it did with them: accepted (into its ring buffer), dropped (ring buffer full; handed over again), absorbed (its processors kept none).", l, "result", &s.Handovers)
	w.Counter("cloudtrail_records_dropped_total", "Records in handovers Fluent Bit dropped; each was handed over again.", l, s.RecordsDropped.Load())
	w.Counter("cloudtrail_handovers_rehanded_total", "Accepted handovers that carried records Fluent Bit had dropped before.", l, s.Rehanded.Load())
	w.Counter("cloudtrail_handovers_paced_total", "Handover ticks (the plugin's timer, or the Go proxy's callback) that handed nothing over because the previous handover was still in Fluent Bit's ring buffer (its engine is behind).", l, s.Paced.Load())
	w.Counter("cloudtrail_ack_timeouts_total", "Handovers taken as stored after ack_timeout because Fluent Bit's record count never covered them.", l, s.AckTimeouts.Load())
	w.Histogram("cloudtrail_ack_lag_seconds", "Seconds from a handover to Fluent Bit counting its records into a chunk (ack=counters).", l, s.AckLag)
	w.Gauge("cloudtrail_ack_margin_seconds", "Wait after Fluent Bit counted a handover before it is taken as written when no later handover proves it: delete_delay, or twice the engine's busy time per handover seen lately.", l, m.C.AckMargin().Seconds())
	w.Gauge("cloudtrail_ack_mode", "1 for the acknowledgement mode in use: counters (Fluent Bit's own counters) or delay.", append(l[:len(l):len(l)], [2]string{"mode", m.C.AckMode()}), 1)
	w.Counter("cloudtrail_visibility_extensions_total", "Visibility timeout extensions of messages being worked on.", l, s.Extensions.Load())
	w.Labeled("cloudtrail_errors_total", "Errors by class.", l, "class", &s.Errors)
	msgs, _, bytes := m.C.InFlight()
	w.Gauge("cloudtrail_inflight_messages", "SQS messages received and not yet deleted or released.", l, float64(msgs))
	w.Gauge("cloudtrail_inflight_objects", "S3 objects being downloaded and decoded.", l, float64(s.ObjectsInFlight.Load()))
	w.Gauge("cloudtrail_buffered_bytes", "Bytes of records waiting for Fluent Bit.", l, float64(bytes))
	w.Gauge("cloudtrail_paused", "1 while Fluent Bit has paused the input.", l, b2f(m.C.Paused()))
	w.Histogram("cloudtrail_event_lag_seconds", "Seconds from eventTime to handover (first event of each batch).", l, &s.EventLag)
	w.Histogram("cloudtrail_message_lag_seconds", "Seconds from the SQS message's SentTimestamp to its receipt.", l, &s.MessageLag)
	if in := m.C.integ; in != nil {
		is := &in.Stats
		w.Labeled("cloudtrail_integrity_digests_total", "Digest files checked, by result: valid, invalid (a finding with problems), error (not checked: AWS error or refused digest; the message returns to the queue).", l, "result", &is.Digests)
		w.Labeled("cloudtrail_integrity_files_total", "Log files listed in checked digests, by result: verified, missing, modified, unchecked.", l, "result", &is.Files)
		w.Labeled("cloudtrail_integrity_problems_total", "Problems found in digests, by kind: signature, chain, file.", l, "kind", &is.Problems)
		w.Counter("cloudtrail_integrity_downloads_total", "Log files downloaded for a check because this replica had not ingested them lately.", l, is.Downloads.Load())
		w.Counter("cloudtrail_integrity_cache_hits_total", "Log files verified with the hash computed while ingesting them.", l, is.CacheHits.Load())
		files, digests := in.Cache.Len()
		w.Gauge("cloudtrail_integrity_cached_files", "Hashes of ingested log files held for the digests to come.", l, float64(files))
		w.Gauge("cloudtrail_integrity_cached_digests", "Signatures of checked digests held for the next digest of each chain.", l, float64(digests))
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Summary is the periodic one-line summary of a collector's work.
func (c *Collector) Summary(since time.Duration) string {
	s := &c.Stats
	msgs, _, bytes := c.InFlight()
	return fmt.Sprintf("stats: messages received=%d deleted=%d failed=%d released=%d ignored=%d; objects=%d failed=%d; "+
		"records=%d; handovers dropped=%d paced=%d ack=%s lag p99%s margin=%s; bytes compressed=%s uncompressed=%s; in flight messages=%d objects=%d buffered=%s; "+
		"event lag p50%s p99%s; uptime=%s",
		s.MessagesReceived.Load(), s.MessagesDeleted.Load(), s.MessagesFailed.Load(), s.MessagesReleased.Load(), s.Ignored.Load(),
		s.Objects.Load(), s.ObjectsFailed.Load(), s.Records.Load(),
		s.Handovers.Snapshot()["dropped"], s.Paced.Load(), c.AckMode(), lagString(s.AckLag.Quantile(0.99), s.AckLag.Count()), c.AckMargin(),
		config.FormatSize(s.BytesCompressed.Load()), config.FormatSize(s.BytesRaw.Load()),
		msgs, s.ObjectsInFlight.Load(), config.FormatSize(int64(bytes)),
		lagString(s.EventLag.Quantile(0.5), s.EventLag.Count()), lagString(s.EventLag.Quantile(0.99), s.EventLag.Count()),
		since.Round(time.Second))
}

// lagString prints a histogram quantile, which is a bucket's upper bound.
func lagString(sec float64, n int64) string {
	if n == 0 {
		return "=n/a"
	}
	if sec > 1e9 {
		return ">1w"
	}
	return "<=" + time.Duration(sec*float64(time.Second)).String()
}
