package fault

import (
	"bufio"
	"context"
	"fmt"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/faultproxy"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
)

// sample is one measurement of the plugin's host process.
type sample struct {
	at         time.Duration
	rssKB      int
	fds        int
	goroutines int
}

func procSample(pid int, metricsURL string) (sample, error) {
	var s sample
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			s.rssKB, _ = strconv.Atoi(strings.Fields(l)[1])
		}
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.fds = len(ents)
	resp, err := http.Get(metricsURL)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "cloudtrail_go_goroutines "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			s.goroutines = int(f)
		}
	}
	io.Copy(io.Discard, resp.Body)
	return s, nil
}

// TestSoak runs steady load with periodic faults and hostile objects and
// samples the plugin's host process: RSS, open file descriptors and
// goroutines must stay flat, and every eventID must arrive. `make test` runs
// it for 35 s; `make soak` for an hour (SOAK_DURATION), writing the samples
// to SOAK_OUT when set.
func TestSoak(t *testing.T) {
	t.Parallel()
	dur := 35 * time.Second
	if v := os.Getenv("SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("SOAK_DURATION=%q: %v", v, err)
		}
		dur = d
	}
	e := setup(t, 3)
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := e.start("metrics_listen="+addr, "visibility_timeout=3s", "log_level=info", "metrics_log_interval=0s")
	metricsURL := "http://" + addr + "/metrics"
	testenv.WaitFor(t, 60*time.Second, "metrics endpoint", func() bool {
		_, err := procSample(r.cmd.Process.Pid, metricsURL)
		return err == nil
	})

	modes := []struct {
		name  string
		rules []*faultproxy.Rule
	}{
		{"none", nil},
		{"s3-503", []*faultproxy.Rule{{Name: "f", Op: "s3:GetObject", Prob: 0.3, Fault: faultproxy.Fault{Status: 503, Code: "SlowDown"}}}},
		{"s3-reset", []*faultproxy.Rule{{Name: "f", Op: "s3:GetObject", Prob: 0.2, Fault: faultproxy.Fault{Reset: true, ResetAfter: 2000}}}},
		{"receive-500", []*faultproxy.Rule{{Name: "f", Op: "sqs:ReceiveMessage", Prob: 0.5, Fault: faultproxy.Fault{Status: 500, Code: "InternalError"}}}},
		{"delete-500", []*faultproxy.Rule{{Name: "f", Op: "sqs:DeleteMessageBatch", Prob: 0.3, Fault: faultproxy.Fault{Status: 500, Code: "InternalError"}}}},
		{"visibility-500", []*faultproxy.Rule{{Name: "f", Op: "sqs:ChangeMessageVisibility", Prob: 0.3, Fault: faultproxy.Fault{Status: 500, Code: "InternalError"}}}},
	}
	w := &seed.Workload{Want: map[string]int{}, Key: map[string]string{}}
	var samples []sample
	var csv *os.File
	if p := os.Getenv("SOAK_OUT"); p != "" {
		if csv, err = os.Create(p); err != nil {
			t.Fatal(err)
		}
		defer csv.Close()
		fmt.Fprintln(csv, "seconds,rss_kb,fds,goroutines,mode")
	}
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	hostile := 0
	every := 10 // seconds per fault mode
	if dur < 5*time.Minute {
		every = 5
	}
	for i := 0; time.Since(start) < dur; i++ {
		<-tick.C
		r.alive()
		mode := modes[(i/every)%len(modes)]
		if i%every == 0 {
			e.px.Clear()
			e.px.Add(mode.rules...)
		}
		if err := w.Add(ctx, e.srv, e.bucket, fmt.Sprintf("soak-%06d", i), 1, 100); err != nil {
			t.Fatal(err)
		}
		if i%15 == 7 { // a hostile object now and then: it ends in the DLQ
			hostile++
			e.srv.Put(ctx, e.bucket, fmt.Sprintf("%sbad-%06d.json.gz", ctPrefix, i), []byte{0x1f, 0x8b, 8, 0, 1, 2, 3})
		}
		if i%5 == 0 {
			s, err := procSample(r.cmd.Process.Pid, metricsURL)
			if err != nil {
				t.Fatalf("sample: %v", err)
			}
			s.at = time.Since(start)
			samples = append(samples, s)
			if csv != nil {
				fmt.Fprintf(csv, "%.0f,%d,%d,%d,%s\n", s.at.Seconds(), s.rssKB, s.fds, s.goroutines, mode.name)
			}
		}
	}
	e.px.Clear()
	// Drain: every eventID arrives (polling the output rarely: it is big).
	deadline := time.Now().Add(2 * time.Minute)
	var got map[string]int
	for {
		r.alive()
		got = r.counts()
		v, f, _ := e.srv.Depth(ctx, e.queue)
		if len(w.Missing(got)) == 0 && v+f == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the soak: %d eventIDs missing, queue %d visible %d in flight", len(w.Missing(got)), v, f)
		}
		time.Sleep(2 * time.Second)
	}
	idle, err := procSample(r.cmd.Process.Pid, metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	r.stop()
	noSecrets(t, r.stderr.String())

	// Flat: the worst of the last third is no worse than the worst of the
	// middle third (after warm-up) plus a margin; and once idle, the
	// goroutines and fds are back near the middle third's.
	n := len(samples)
	if n < 6 {
		t.Fatalf("only %d samples", n)
	}
	peak := func(ss []sample) sample {
		var m sample
		for _, s := range ss {
			m.rssKB, m.fds, m.goroutines = max(m.rssKB, s.rssKB), max(m.fds, s.fds), max(m.goroutines, s.goroutines)
		}
		return m
	}
	mid, last := peak(samples[n/3:2*n/3]), peak(samples[2*n/3:])
	t.Logf("%s soak, %d events, %d hostile objects; peak middle third rss=%dMB fds=%d goroutines=%d; last third rss=%dMB fds=%d goroutines=%d; idle rss=%dMB fds=%d goroutines=%d",
		dur, len(w.Want), hostile, mid.rssKB>>10, mid.fds, mid.goroutines, last.rssKB>>10, last.fds, last.goroutines, idle.rssKB>>10, idle.fds, idle.goroutines)
	if last.rssKB > mid.rssKB*5/4+32<<10 {
		t.Errorf("RSS grows: %d MB in the middle third, %d MB in the last", mid.rssKB>>10, last.rssKB>>10)
	}
	if last.fds > mid.fds+16 || idle.fds > mid.fds+8 {
		t.Errorf("open fds grow: %d in the middle third, %d in the last, %d idle", mid.fds, last.fds, idle.fds)
	}
	if last.goroutines > mid.goroutines*5/4+16 || idle.goroutines > mid.goroutines+8 {
		t.Errorf("goroutines grow: %d in the middle third, %d in the last, %d idle", mid.goroutines, last.goroutines, idle.goroutines)
	}
	if dlq := len(e.dlqBodies()); dlq != hostile {
		t.Errorf("%d messages in the DLQ, want the %d hostile ones", dlq, hostile)
	}
}
