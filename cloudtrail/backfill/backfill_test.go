package backfill

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/notify"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// fixture is an emulator holding a History and an empty queue.
type fixture struct {
	srv   *emu.Server
	h     *seed.History
	queue string
	s3    *countingS3
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := testenv.Emulator(t)
	ctx := context.Background()
	h, err := seed.PutHistory(ctx, srv, "trail", 2)
	if err != nil {
		t.Fatal(err)
	}
	q, err := srv.CreateQueue(ctx, "backfill", nil)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, h: h, queue: q, s3: &countingS3{c: srv.S3()}}
}

// countingS3 records every listing.
type countingS3 struct {
	c     *s3.Client
	mu    sync.Mutex
	lists []string // "prefix" or "prefix (delimiter)"
}

func (c *countingS3) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	c.mu.Lock()
	l := aws.ToString(in.Prefix)
	if in.Delimiter != nil {
		l += " (delimiter)"
	}
	c.lists = append(c.lists, l)
	c.mu.Unlock()
	return c.c.ListObjectsV2(ctx, in, opts...)
}

// subset is the tests' selection: 2 of the 3 accounts (one under the
// organization prefix), from exactly one file's time to exactly another's.
func subset(bucket string) Selection {
	start, _ := ParseTime("2024-03-01T12:45:00Z")
	end, _ := ParseTime("2024-03-03T01:30:00Z")
	return Selection{Bucket: bucket, Prefix: "AWSLogs/", Start: start, End: end,
		Accounts: []string{seed.HistoryAccounts[0], seed.HistoryAccounts[2]}}
}

func wantKeys(h *seed.History, sel Selection) []string {
	var out []string
	for _, f := range h.Select(func(f seed.HistoryFile) bool {
		return slices.Contains(sel.Accounts, f.Account) && !f.Time.Before(sel.Start) && f.Time.Before(sel.End)
	}) {
		out = append(out, f.Key)
	}
	sort.Strings(out)
	return out
}

// drain receives and deletes every message of the queue, parses it as the
// plugin does, and returns the keys named and the message count. An empty
// receive ends it only when the queue has no visible message either: the
// emulator's receive has been seen to come back empty right after a send.
func drain(t *testing.T, srv *emu.Server, queue string) (keys []string, messages int, perMessage int) {
	t.Helper()
	ctx := context.Background()
	c := srv.SQS()
	for {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queue), MaxNumberOfMessages: 10, VisibilityTimeout: 60})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			if v, _, err := srv.Depth(ctx, queue); err == nil && v == 0 {
				return keys, messages, perMessage
			}
			continue
		}
		for _, m := range out.Messages {
			res, err := notify.Parse([]byte(aws.ToString(m.Body)))
			if err != nil {
				t.Fatalf("the plugin cannot parse a backfill message: %v", err)
			}
			if res.Format != notify.FormatS3 || len(res.Ignored) > 0 {
				t.Fatalf("format %s, ignored %v", res.Format, res.Ignored)
			}
			for _, o := range res.Objects {
				if o.Bucket != "trail" || o.Size <= 0 || o.ETag == "" || strings.Contains(o.ETag, `"`) {
					t.Fatalf("object %+v", o)
				}
				keys = append(keys, o.Key)
			}
			perMessage = max(perMessage, len(res.Objects))
			messages++
			c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queue), ReceiptHandle: m.ReceiptHandle})
		}
	}
}

func TestEnqueuesExactlyTheSelection(t *testing.T) {
	f := newFixture(t)
	sel := subset("trail")
	r := &Runner{Sel: sel, S3: f.s3, PerMessage: 4, Queue: &Queue{SQS: f.srv.SQS(), URL: f.queue, Poll: 50 * time.Millisecond}}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, messages, per := drain(t, f.srv, f.queue)
	sort.Strings(got)
	want := wantKeys(f.h, sel)
	if len(want) != 12 || !slices.Equal(got, want) {
		t.Fatalf("enqueued %d keys:\n%s\nwant %d:\n%s", len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
	}
	if messages != 3 || per != 4 {
		t.Errorf("%d messages of at most %d objects; want 3 of 4", messages, per)
	}
	st := r.Stats()
	if st.Enqueued != 12 || st.Listed != 12 || st.Messages != 3 || !st.ListingDone {
		t.Errorf("stats %+v", st)
	}
	// Never the whole bucket: only delimiter listings down to the days, and
	// full listings of the days in range of the selected accounts' regions.
	var full []string
	for _, l := range f.s3.lists {
		if strings.Contains(l, "Digest") || strings.Contains(l, HistoryAccount(1)) {
			t.Errorf("listed %s", l)
		}
		if !strings.HasSuffix(l, " (delimiter)") {
			full = append(full, l)
			if strings.Count(l, "/") < 7 {
				t.Errorf("a full listing above the day level: %s", l)
			}
		}
	}
	if len(full) != 2*2*3 {
		t.Errorf("%d day listings, want 12 (2 accounts x 2 regions x 3 days):\n%s", len(full), strings.Join(full, "\n"))
	}
	t.Logf("%d listings in all, %d of days; skipped %v", len(f.s3.lists), len(full), st.Skipped)
}

func HistoryAccount(i int) string { return seed.HistoryAccounts[i] }

func TestInsightsOnlyWhenAsked(t *testing.T) {
	f := newFixture(t)
	sel := Selection{Bucket: "trail", Prefix: "AWSLogs/" + seed.HistoryAccounts[0] + "/", Insights: true, Regions: []string{"us-east-1"}}
	r := &Runner{Sel: sel, S3: f.s3, PerMessage: 10, Queue: &Queue{SQS: f.srv.SQS(), URL: f.queue}}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, _, _ := drain(t, f.srv, f.queue)
	if len(got) != 7 || !slices.Contains(got, f.h.Insights.Key) {
		t.Fatalf("with -insights, one account's region: %d keys %v; want its 6 log files and the Insights file", len(got), got)
	}
	for _, k := range got {
		if !strings.HasPrefix(k, "AWSLogs/"+seed.HistoryAccounts[0]+"/") || !strings.Contains(k, "/us-east-1/") {
			t.Errorf("outside the prefix or region: %s", k)
		}
	}
}

func TestDryRunEnqueuesNothing(t *testing.T) {
	f := newFixture(t)
	r := &Runner{Sel: Selection{Bucket: "trail", Prefix: "AWSLogs/"}, S3: f.s3, PerMessage: 10}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	tally := r.Tally()
	if len(tally) != 3*2*3 {
		t.Errorf("%d groups, want 18 (3 accounts x 2 regions x 3 days)", len(tally))
	}
	for g, c := range tally {
		if c.Objects != 2 || c.Bytes <= 0 {
			t.Errorf("%+v: %+v", g, c)
		}
	}
	if v, inflight, _ := f.srv.Depth(context.Background(), f.queue); v+inflight != 0 {
		t.Errorf("a dry run left %d messages", v+inflight)
	}
	if st := r.Stats(); st.Listed != 36 || st.Enqueued != 0 || st.Skipped["not a log file"] != 4 {
		t.Errorf("stats: listed %d, enqueued %d, skipped %v; want 36, 0 and the 4 stray keys of the day folders", st.Listed, st.Enqueued, st.Skipped)
	}
}

// TestFlowControlHoldsTheDepth lets a consumer take one message at a time
// and checks that the queue never holds more than MaxQueued messages.
func TestFlowControlHoldsTheDepth(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const maxQueued = 3
	waits := make(chan int, 100)
	r := &Runner{Sel: subset("trail"), S3: f.s3, PerMessage: 1,
		Queue: &Queue{SQS: f.srv.SQS(), URL: f.queue, MaxQueued: maxQueued, Poll: 50 * time.Millisecond,
			Waiting: func(depth int) {
				select {
				case waits <- depth:
				default:
				}
			}}}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	c := f.srv.SQS()
	taken, maxSeen := 0, 0
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		case depth := <-waits:
			// The backfill is waiting: the queue is full.
			if depth != maxQueued {
				t.Fatalf("waiting at depth %d, want %d", depth, maxQueued)
			}
			v, inflight, err := f.srv.Depth(ctx, f.queue)
			if err != nil {
				t.Fatal(err)
			}
			maxSeen = max(maxSeen, v+inflight)
			if v+inflight > maxQueued {
				t.Fatalf("queue depth %d > -max-queued %d", v+inflight, maxQueued)
			}
			out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(f.queue), MaxNumberOfMessages: 1})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range out.Messages {
				c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(f.queue), ReceiptHandle: m.ReceiptHandle})
				taken++
			}
		case <-time.After(2 * time.Minute):
			t.Fatalf("no progress in 2 minutes: %+v", r.Stats())
		}
	}
	rest, _, _ := drain(t, f.srv, f.queue)
	if taken+len(rest) != 12 || maxSeen != maxQueued || len(rest) > maxQueued {
		t.Errorf("taken %d while waiting + %d left = %d, want 12; deepest %d, want %d", taken, len(rest), taken+len(rest), maxSeen, maxQueued)
	}
	if r.Stats().WaitedFor <= 0 {
		t.Error("no time spent waiting")
	}
}

// TestResumeAfterInterrupt stops a run (Ctrl-C) while it waits for a full
// queue, then runs it again from its state file: every selected key is
// enqueued exactly once.
func TestResumeAfterInterrupt(t *testing.T) {
	f := newFixture(t)
	sel := subset("trail")
	path := filepath.Join(t.TempDir(), "state.json")
	st, resumed, err := OpenState(path, sel.ID(f.queue))
	if err != nil || resumed {
		t.Fatalf("new state: %v, resumed %v", err, resumed)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{Sel: sel, S3: f.s3, PerMessage: 1, State: st,
		Queue: &Queue{SQS: f.srv.SQS(), URL: f.queue, MaxQueued: 5, Poll: 50 * time.Millisecond, Waiting: func(int) { cancel() }}}
	err = r.Run(ctx)
	if !Interrupted(err) {
		t.Fatalf("interrupted run: %v", err)
	}
	first, _, _ := drain(t, f.srv, f.queue)
	if len(first) != 5 {
		t.Fatalf("first run enqueued %d, want 5 (the queue bound)", len(first))
	}

	// Another run's flags are refused.
	other := sel
	other.Regions = []string{"us-east-1"}
	if _, _, err := OpenState(path, other.ID(f.queue)); !errors.Is(err, ErrUsage) {
		t.Fatalf("state of another selection: %v", err)
	}
	st, resumed, err = OpenState(path, sel.ID(f.queue))
	if err != nil || !resumed || st.Objects != 5 || st.After != first[4] {
		t.Fatalf("resume: %v, resumed %v, %+v", err, resumed, st)
	}
	f.s3.lists = nil
	r = &Runner{Sel: sel, S3: f.s3, PerMessage: 1, State: st, Queue: &Queue{SQS: f.srv.SQS(), URL: f.queue}}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	second, _, _ := drain(t, f.srv, f.queue)
	all := append(first, second...)
	sort.Strings(all)
	if want := wantKeys(f.h, sel); !slices.Equal(all, want) {
		t.Fatalf("after resume %d keys (%d + %d), want the %d selected once each", len(all), len(first), len(second), len(want))
	}
	if !st.Done || st.Objects != 12 {
		t.Errorf("state after the run: %+v", st)
	}
	// The resumed run did not list again the days wholly before the mark.
	for _, l := range f.s3.lists {
		if !strings.HasSuffix(l, " (delimiter)") && l+"~" < first[4] && !strings.HasPrefix(first[4], l) {
			t.Errorf("resumed run listed %s, before %s", l, first[4])
		}
	}
}
