package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// eventIDs counts the eventIDs in out_file outputs, one file per Fluent Bit
// run so a line torn by a kill cannot glue to the next run's first line.
func eventIDs(t *testing.T, paths ...string) map[string]int {
	c := newIDCounter(paths...)
	return c.update(t)
}

// idCounter counts eventIDs in out_file outputs that grow while it reads
// them: each update parses only the complete lines added since the last, so
// polling a 100k-line output stays cheap on a starved machine.
type idCounter struct {
	paths  []string
	offset map[string]int64
	counts map[string]int
}

func newIDCounter(paths ...string) *idCounter {
	return &idCounter{paths: paths, offset: map[string]int64{}, counts: map[string]int{}}
}

// add includes another output file (a later run's).
func (c *idCounter) add(path string) { c.paths = append(c.paths, path) }

func (c *idCounter) update(t *testing.T) map[string]int {
	t.Helper()
	for _, p := range c.paths {
		f, err := os.Open(p)
		if err != nil {
			continue // not written yet
		}
		f.Seek(c.offset[p], io.SeekStart)
		b, _ := io.ReadAll(f)
		f.Close()
		lines, tail := testenv.CompleteLines(b)
		c.offset[p] += int64(len(b) - len(tail))
		for i, l := range lines {
			if len(l) == 0 {
				continue
			}
			var r struct {
				EventID string `json:"eventID"`
			}
			if err := json.Unmarshal(l, &r); err != nil {
				t.Fatalf("%s: line %d after offset %d is not a JSON record: %v: %.200q", p, i+1, c.offset[p], err, l)
			}
			c.counts[r.EventID]++
		}
	}
	return c.counts
}

// statsValue reads a number from the last stats line an instance logged.
func statsValue(t *testing.T, log, instance, field string) int {
	t.Helper()
	re := regexp.MustCompile(`\[input:cloudtrail:` + regexp.QuoteMeta(instance) + `\] stats: .*?\b` + regexp.QuoteMeta(field) + `=(\d+)`)
	m := re.FindAllStringSubmatch(log, -1)
	if m == nil {
		t.Fatalf("no stats line with %s for %s in the log", field, instance)
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

// stopWithin sends SIGTERM and waits for the exit, failing after limit.
func (fb *fluentBit) stopWithin(limit time.Duration) {
	fb.t.Helper()
	fb.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-fb.done:
	case <-time.After(limit):
		fb.t.Fatalf("fluent-bit did not exit within %s of SIGTERM", limit)
	}
}

// TestRingBufferDropsAreHandedAgain is the case that lost events when a
// message was deleted on a timer: Fluent Bit's ring buffer for the input
// holds two entries, and a Lua filter stalls the engine for 20 s once in
// each run: the plugin holds a handover back while the previous one is
// uncounted, but for 5 s at most (collector.maxPace), so after three such
// waits the ring is full and Fluent Bit drops handovers
// ("could not enqueue records into the ring buffer"). The plugin must see
// each drop in Fluent Bit's counters
// and hand the records over again. At the first drop Fluent Bit is stopped
// with SIGTERM and started again (filesystem storage): every event must
// arrive across the two runs, and the plugin's count of dropped handovers
// must match Fluent Bit's error lines. It runs on the newest Fluent Bit
// alone (a heavy test) and needs the ring buffer counters (4.1+).
func TestRingBufferDropsAreHandedAgain(t *testing.T) {
	bin := testenv.Newest(t)
	bin.SkipUnless(t, bin.Counters(), "the ring-buffer drop test needs Fluent Bit's ring buffer counters (4.1 and later); with ack=delay a dropped handover is not seen (README, Compatibility)")
	srv := testenv.Emulator(t)
	ctx := context.Background()
	q, err := srv.CreateQueue(ctx, "ct", map[string]string{"VisibilityTimeout": "30"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateBucket(ctx, "trail", "ct"); err != nil {
		t.Fatal(err)
	}
	w, err := seed.PutSynthetic(ctx, srv, "trail", "ring", 8, 2500)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "stall.lua"), `
local n = 0
function stall(tag, ts, record)
  n = n + 1
  if n == 1500 then os.execute("sleep 20") end
  return 0, ts, record
end
`)
	conf := func(out string) string {
		return fmt.Sprintf(`[SERVICE]
    flush        1
    grace        5
    log_level    info
    storage.path %s/storage

[INPUT]
    name                        cloudtrail
    tag                         aws.cloudtrail
    queue_url                   %s
    wait_time                   1s
    visibility_timeout          30s
    buffer_max_size             2M
    thread.ring_buffer.capacity 2
    storage.type                filesystem

[FILTER]
    name   lua
    match  aws.cloudtrail
    script stall.lua
    call   stall

[OUTPUT]
    name   file
    match  aws.cloudtrail
    path   %s
    file   %s
    format plain
`, dir, q, dir, out)
	}
	outs := []string{filepath.Join(dir, "run1.jsonl"), filepath.Join(dir, "run2.jsonl")}
	write(t, filepath.Join(dir, "run1.conf"), conf("run1.jsonl"))
	write(t, filepath.Join(dir, "run2.conf"), conf("run2.jsonl"))

	fb := start(t, srv, dir, "-e", testenv.Plugin(t), "-c", "run1.conf")
	testenv.WaitFor(t, 3*time.Minute, "a dropped handover", func() bool {
		return strings.Contains(fb.log.String(), "could not enqueue records into the ring buffer")
	})
	fb.stopWithin(30 * time.Second)
	log1 := fb.log.String()
	t.Logf("run 1: %d eventIDs out of %d; %s", len(eventIDs(t, outs[0])), len(w.Want), regexp.MustCompile(`stopped: [^\n]*`).FindString(log1))

	fb = start(t, srv, dir, "-e", testenv.Plugin(t), "-c", "run2.conf")
	testenv.WaitFor(t, 5*time.Minute, "every event and an empty queue", func() bool {
		if len(w.Missing(eventIDs(t, outs...))) > 0 {
			return false
		}
		v, f, _ := srv.Depth(ctx, q)
		return v+f == 0
	})
	fb.stopWithin(30 * time.Second)
	log2 := fb.log.String()

	for i, l := range []string{log1, log2} {
		if !strings.Contains(l, "ack=counters") {
			t.Fatalf("run %d: the plugin did not acknowledge by Fluent Bit's counters:\n%s", i+1, l)
		}
		// Every drop below is told by ring counters read straight from
		// cmetrics, checked against Fluent Bit's own log lines.
		if strings.Contains(l, "read as Prometheus text") {
			t.Errorf("run %d: the plugin read the counters as text, not directly:\n%s", i+1, l)
		}
	}
	flbDrops := strings.Count(log1+log2, "could not enqueue records into the ring buffer")
	ours := statsValue(t, log1, "cloudtrail.0", "dropped") + statsValue(t, log2, "cloudtrail.0", "dropped")
	if ours != flbDrops {
		t.Errorf("Fluent Bit logged %d dropped handovers, the plugin counted %d", flbDrops, ours)
	}
	if ours == 0 {
		t.Fatal("no handover was dropped: the test did not provoke what it checks")
	}
	// Before each drop the plugin held handovers back while the engine
	// had not counted the previous one (pacing).
	if paced := statsValue(t, log1, "cloudtrail.0", "paced"); paced == 0 {
		t.Errorf("the plugin never held a handover back while the engine stalled for 20 s")
	}
	got := eventIDs(t, outs...)
	dups := 0
	for _, n := range got {
		dups += n - 1
	}
	t.Logf("%d events, %d dropped handovers handed over again, %d duplicates", len(w.Want), ours, dups)
}

// TestProcessorsThatDropRecords: a processor runs before Fluent Bit's ring
// buffer and its record count, so records it drops are never counted. The
// messages must still be deleted (not loop or wait forever): one input's
// processor keeps half of the events, another's keeps none.
func TestProcessorsThatDropRecords(t *testing.T) {
	bin := testenv.Newest(t)
	srv := testenv.Emulator(t)
	ctx := context.Background()
	queues := map[string]string{}
	want := map[string]*seed.Workload{}
	for _, name := range []string{"half", "none"} {
		q, err := srv.CreateQueue(ctx, "q-"+name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.CreateBucket(ctx, "b-"+name, "q-"+name); err != nil {
			t.Fatal(err)
		}
		queues[name] = q
		if want[name], err = seed.PutSynthetic(ctx, srv, "b-"+name, name, 6, 1000); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "plugins.yaml"), "plugins:\n  - "+testenv.Plugin(t)+"\n")
	input := func(name, exclude string) string {
		return fmt.Sprintf(`    - name: cloudtrail
      tag: ct.%s
      queue_url: %s
      wait_time: 1s
      buffer_max_size: 256K
      ack_timeout: 5s
      processors:
        logs:
          - name: grep
            exclude: eventID %s
`, name, queues[name], exclude)
	}
	write(t, filepath.Join(dir, "fluent-bit.yaml"), fmt.Sprintf(`service:
  flush: 1
  grace: 5
  log_level: info
  plugins_file: plugins.yaml
pipeline:
  inputs:
%s%s  outputs:
    - name: file
      match: ct.*
      path: %s
      file: out.jsonl
      format: plain
`, input("half", "[13579]$"), input("none", "."), dir))
	fb := start(t, srv, dir, "-c", "fluent-bit.yaml")
	testenv.WaitFor(t, 3*time.Minute, "both queues empty", func() bool {
		n := 0
		for _, q := range queues {
			v, f, _ := srv.Depth(ctx, q)
			n += v + f
		}
		return n == 0
	})
	out := filepath.Join(dir, "out.jsonl")
	evens := 0
	for id := range want["half"].Want {
		if strings.IndexAny(id[len(id)-1:], "02468") == 0 {
			evens++
		}
	}
	testenv.WaitFor(t, time.Minute, "the kept events in out_file", func() bool { return len(eventIDs(t, out)) >= evens })
	fb.stop()
	log := fb.log.String()
	checkStartLines(t, bin, log, 2)
	got := eventIDs(t, out)
	for id := range want["none"].Want {
		if got[id] > 0 {
			t.Fatalf("the drop-everything processor did not run: %s arrived", id)
		}
	}
	for id := range want["half"].Want {
		odd := strings.IndexAny(id[len(id)-1:], "13579") == 0
		if odd && got[id] > 0 {
			t.Fatalf("the grep processor did not run: %s arrived", id)
		}
		if !odd && got[id] == 0 {
			t.Fatalf("kept event %s is missing", id)
		}
	}
	if statsValue(t, log, "cloudtrail.1", "deleted") != 6 || statsValue(t, log, "cloudtrail.0", "deleted") != 6 {
		t.Errorf("not every message was deleted:\n%s", log)
	}
}

// TestAckModeInMetrics: the acknowledgement mode (the one this Fluent Bit
// allows) and the handover counts are in the plugin's Prometheus metrics, on
// every Fluent Bit version, and the start line says what hands records over.
func TestAckModeInMetrics(t *testing.T) {
	testenv.ForEachFluentBit(t, testAckModeInMetrics)
}

func testAckModeInMetrics(t *testing.T, bin testenv.FluentBitBinary) {
	srv := testenv.Emulator(t)
	ctx := context.Background()
	q, _ := srv.CreateQueue(ctx, "ct", nil)
	srv.CreateBucket(ctx, "trail", "ct")
	if _, err := seed.PutSynthetic(ctx, srv, "trail", "m", 2, 100); err != nil {
		t.Fatal(err)
	}
	addr := testenv.FreeAddr(t)
	dir := t.TempDir()
	fb := startOn(t, bin, srv, dir, "-e", testenv.Plugin(t), "-i", "cloudtrail", "-p", "queue_url="+q, "-p", "wait_time=1s",
		"-p", "metrics_listen="+addr, "-o", "null", "-f", "1")
	var body string
	testenv.WaitFor(t, time.Minute, "both messages deleted, in the metrics", func() bool {
		body = testenv.Scrape(addr)
		return strings.Contains(body, `cloudtrail_messages_deleted_total{instance="cloudtrail.0",queue_url="`+q+`"} 2`)
	})
	fb.stop()
	// With Fluent Bit's counters (4.1+) the plugin's own handover timer
	// (flb.c) delivered these records, paced by them, with the 8M buffer;
	// without them the Go proxy's 1 s callback did, with 24M.
	line, buf := "; handover every 100ms (the plugin's own timer)", " buffer_max_size=8M "
	if !bin.Counters() {
		line, buf = "; handover once a second by the Go proxy's callback (without Fluent Bit's ring buffer counters", " buffer_max_size=24M "
	}
	if l := fb.log.String(); !strings.Contains(l, line) || !strings.Contains(l, buf) {
		t.Errorf("the start line does not say %q with%s:\n%s", line, buf, l)
	}
	for _, want := range []string{
		`cloudtrail_ack_mode{instance="cloudtrail.0",queue_url="` + q + `",mode="` + strings.TrimPrefix(bin.AckMode(), "ack=") + `"} 1`,
		`cloudtrail_handovers_total{instance="cloudtrail.0",queue_url="` + q + `",result="accepted"}`,
		`cloudtrail_ack_lag_seconds_count{instance="cloudtrail.0",queue_url="` + q + `"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
}

// TestPauseKeepsEveryEvent: an output slower than the input makes Fluent Bit
// pause the input (mem_buf_limit). While paused, Fluent Bit leaves the input's
// ring buffer alone, so nothing may be taken as stored by timeout: every
// event must arrive and every message be deleted after the pauses.
func TestPauseKeepsEveryEvent(t *testing.T) {
	testenv.FluentBit(t)
	srv := testenv.Emulator(t)
	ctx := context.Background()
	q, _ := srv.CreateQueue(ctx, "ct", nil)
	srv.CreateBucket(ctx, "trail", "ct")
	w, err := seed.PutSynthetic(ctx, srv, "trail", "pause", 10, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string]int{}
	sink := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * time.Second) // slower than the input
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		for _, line := range bytes.Split(b, []byte("\n")) {
			var rec struct {
				EventID string `json:"eventID"`
			}
			if json.Unmarshal(line, &rec) == nil && rec.EventID != "" {
				got[rec.EventID]++
			}
		}
		mu.Unlock()
	}))
	t.Cleanup(sink.Close)
	u, _ := url.Parse(sink.URL)
	dir := t.TempDir()
	fb := start(t, srv, dir, "-e", testenv.Plugin(t), "-i", "cloudtrail", "-p", "queue_url="+q, "-p", "wait_time=1s",
		"-p", "buffer_max_size=512K", "-p", "mem_buf_limit=1M", "-p", "ack_timeout=5s",
		"-o", "http", "-p", "host="+u.Hostname(), "-p", "port="+u.Port(), "-p", "format=json_lines", "-p", "retry_limit=no_limits",
		"-f", "1")
	testenv.WaitFor(t, 4*time.Minute, "every event at the slow output and an empty queue", func() bool {
		mu.Lock()
		n := len(w.Missing(got))
		mu.Unlock()
		v, f, _ := srv.Depth(ctx, q)
		return n == 0 && v+f == 0
	})
	fb.stop()
	log := fb.log.String()
	if !strings.Contains(log, "paused (mem buf overlimit") {
		t.Fatal("Fluent Bit never paused the input: the test did not provoke what it checks")
	}
	if n := statsValue(t, log, "cloudtrail.0", "deleted"); n != 10 {
		t.Errorf("%d of 10 messages deleted", n)
	}
	if strings.Contains(log, "within ack_timeout") {
		t.Errorf("a handover timed out while the input was paused:\n%s", log)
	}
	if strings.Contains(log, "counted more records") {
		t.Errorf("the tracker saw a surplus without a processor that adds records (a reading during a handover?):\n%s", log)
	}
}
