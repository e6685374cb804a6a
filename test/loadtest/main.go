// Command loadtest measures the plugin end to end: it starts the AWS
// emulator (kumo, test/emu), uploads a deterministic CloudTrail workload (by
// default 1,000 objects of 1,000 events, about 1.9 KB per event and 6×
// gzip, the mix of docs/perf-limits.md) so that the emulator's S3 notifies
// an SQS queue, runs Fluent Bit with the plugin into out_null, waits until
// every event has been ingested and the queue is drained, and prints one
// summary line:
//
//	events, wall s, events/s, CPU s, events per CPU-second, peak RSS MB, duplicates, missing
//
// Wall and CPU seconds run from the start of Fluent Bit to the moment its
// input has counted every expected event; CPU is user+system of the Fluent
// Bit process (/proc/PID/stat), peak RSS its VmHWM. The emulator's CPU in
// the same window is printed on a second line, so it is visible which side
// is the bottleneck.
//
// Duplicates and missing: with -output null (the default, the cheapest
// output, which is what is being measured) they are COUNTS from Fluent
// Bit's own metrics (/api/v1/metrics input records against the number of
// events uploaded): a duplicate and a loss would cancel out. With -output
// http, Fluent Bit posts every record as a JSON line to this process, which
// checks each event's identity (every uploaded event has a unique eventID
// that names its object and index), so the figures are exact; that output
// costs Fluent Bit CPU of its own. Without a fluent-bit (FLUENT_BIT or
// PATH) the project's C host harness loads the plugin instead, says so, and
// identities are checked from its output; its CPU then includes rendering
// every record as JSON, so events per CPU-second are not comparable.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode/transcodetest"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
)

type options struct {
	events, perObject int
	bigMB             int
	schema            string
	props             [][2]string // -p key=value, for every input
	workers           string
	bufferMaxSize     string
	inputs            int
	output            string
	fluentBit         string
	concurrency       int
	timeout           time.Duration
	gogc              string
	memLimit          string
	maxProcs          string
	flush             string
	keepConfig        bool
	plugin            string
}

func main() {
	var o options
	flag.IntVar(&o.events, "events", 1_000_000, "events to upload, in objects of -per-object events")
	flag.IntVar(&o.perObject, "per-object", 1000, "events per object")
	flag.IntVar(&o.bigMB, "big-mb", 0, "also upload one object of about this many MB of uncompressed JSON (its events count too)")
	flag.StringVar(&o.schema, "schema", "raw", "schema: raw, ocsf or ecs")
	flag.StringVar(&o.workers, "workers", "", "the plugin's workers (empty: its default)")
	flag.StringVar(&o.bufferMaxSize, "buffer-max-size", "", "the plugin's buffer_max_size (empty: its default)")
	flag.IntVar(&o.inputs, "inputs", 1, "[INPUT] instances on the same queue")
	flag.StringVar(&o.output, "output", "null", "null (counts from Fluent Bit's metrics) or http (every event's identity checked)")
	flag.StringVar(&o.fluentBit, "fluent-bit", "", "fluent-bit binary (default: $FLUENT_BIT, then PATH; none: the C host harness)")
	flag.IntVar(&o.concurrency, "upload-concurrency", 8, "parallel uploads while seeding")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "give up after this long without the queue drained")
	flag.StringVar(&o.gogc, "gogc", "", "GOGC for Fluent Bit's process (the plugin's Go runtime); empty: inherited")
	flag.StringVar(&o.memLimit, "gomemlimit", "", "GOMEMLIMIT for Fluent Bit's process; empty: inherited")
	flag.StringVar(&o.maxProcs, "gomaxprocs", "", "GOMAXPROCS for Fluent Bit's process only (not the emulator's); empty: inherited")
	flag.StringVar(&o.plugin, "plugin", "", "the plugin .so (default: build/in_cloudtrail.so)")
	flag.BoolVar(&o.keepConfig, "keep-config", false, "print the Fluent Bit configuration used")
	flag.StringVar(&o.flush, "flush", "1", "Fluent Bit's [SERVICE] flush, in seconds (fractions allowed)")
	flag.Func("p", "key=value: one more property of every input, e.g. -p integrity=on -p integrity_public_keys=keys.pem (repeatable)", func(kv string) error {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("want key=value")
		}
		o.props = append(o.props, [2]string{k, v})
		return nil
	})
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// marker is in the middle of every generated eventID: %08x-cafe-4000-8000-%012x
// holds the object's index and the event's index in it, so an output line
// names the event it carries whatever the schema.
const marker = "-cafe-4000-8000-"

// workload is what was uploaded: events per object, by object index.
type workload struct {
	perObject []int
	total     int
	gzBytes   int64
	rawBytes  int64
}

func run(o options) error {
	root := emu.Root()
	ctx := context.Background()
	so := o.plugin
	if so == "" {
		so = filepath.Join(root, "build", "in_cloudtrail.so")
	}
	if _, err := os.Stat(so); err != nil {
		return fmt.Errorf("%s: %w (run make build)", so, err)
	}
	srv, err := emu.Start()
	if err != nil {
		return err
	}
	defer srv.Close()
	logf("AWS emulator (kumo) on %s, pid %d", srv.URL, srv.PID())
	const queue, bucket = "cloudtrail-load", "load-cloudtrail-bucket"
	queueURL, err := srv.CreateQueue(ctx, queue, nil)
	if err != nil {
		return err
	}
	if err := srv.CreateBucket(ctx, bucket, queue); err != nil {
		return err
	}

	t0 := time.Now()
	wl, err := seed(ctx, srv, bucket, o)
	if err != nil {
		return err
	}
	logf("seeded %d objects, %d events, %.1f MB gzip, %.1f MB JSON (%.2f× gzip, %.0f B/event) in %.1fs",
		len(wl.perObject), wl.total, float64(wl.gzBytes)/1e6, float64(wl.rawBytes)/1e6,
		float64(wl.rawBytes)/float64(wl.gzBytes), float64(wl.rawBytes)/float64(wl.total), time.Since(t0).Seconds())
	// The emulator notifies asynchronously: wait until every notification
	// is visible, so the run does not start before the workload is there.
	for deadline := time.Now().Add(time.Minute); ; {
		v, _, err := srv.Depth(ctx, queueURL)
		if err == nil && v >= len(wl.perObject) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d notifications arrived in the queue", v, len(wl.perObject))
		}
		time.Sleep(100 * time.Millisecond)
	}

	cfg, err := config.Parse(func(k string) string {
		switch k {
		case "queue_url":
			return queueURL
		case "workers":
			return o.workers
		case "buffer_max_size":
			return o.bufferMaxSize
		case "schema":
			return o.schema
		}
		for _, kv := range o.props {
			if kv[0] == k {
				return kv[1]
			}
		}
		return ""
	})
	if err != nil {
		return err
	}

	fb := o.fluentBit
	if fb == "" {
		fb = os.Getenv("FLUENT_BIT")
	}
	if fb == "" {
		fb, _ = exec.LookPath("fluent-bit")
	}
	ids := newIdentities(wl)
	var cmd *exec.Cmd
	var lines io.ReadCloser
	metricsURL := ""
	mode := ""
	env := append(os.Environ(), srv.Env()...)
	if o.gogc != "" {
		env = append(env, "GOGC="+o.gogc)
	}
	if o.memLimit != "" {
		env = append(env, "GOMEMLIMIT="+o.memLimit)
	}
	if o.maxProcs != "" {
		env = append(env, "GOMAXPROCS="+o.maxProcs)
	}
	if fb != "" {
		port, err := freePort()
		if err != nil {
			return err
		}
		metricsURL = fmt.Sprintf("http://127.0.0.1:%d/api/v1/metrics", port)
		out := "    name  null\n    match *\n"
		if o.output == "http" {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			defer l.Close()
			go http.Serve(l, ids)
			_, p, _ := net.SplitHostPort(l.Addr().String())
			out = "    name   http\n    match  *\n    host   127.0.0.1\n    port   " + p + "\n    uri    /\n    format json_lines\n"
		} else if o.output != "null" {
			return fmt.Errorf("-output %q: want null or http", o.output)
		}
		var in strings.Builder
		for range o.inputs {
			in.WriteString("[INPUT]\n    name cloudtrail\n    tag  aws.cloudtrail\n    queue_url " + queueURL + "\n    schema " + o.schema + "\n")
			if o.workers != "" {
				in.WriteString("    workers " + o.workers + "\n")
			}
			if o.bufferMaxSize != "" {
				in.WriteString("    buffer_max_size " + o.bufferMaxSize + "\n")
			}
			for _, kv := range o.props {
				in.WriteString("    " + kv[0] + " " + kv[1] + "\n")
			}
		}
		conf := fmt.Sprintf("[SERVICE]\n    flush %s\n    grace 5\n    log_level warn\n    http_server on\n    http_listen 127.0.0.1\n    http_port %d\n\n%s\n[OUTPUT]\n%s", o.flush, port, in.String(), out)
		if o.keepConfig {
			fmt.Fprint(os.Stderr, conf)
		}
		f, err := os.CreateTemp("", "loadtest-*.conf")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		f.WriteString(conf)
		f.Close()
		cmd = exec.Command(fb, "-e", so, "-c", f.Name())
		cmd.Stdout = os.Stderr
		mode = "fluent-bit " + fbVersion(fb) + " -> out_" + o.output
	} else {
		logf("NO fluent-bit found (looked at -fluent-bit, $FLUENT_BIT, PATH): running the project's C host harness (build/harness) instead;")
		logf("  it loads the plugin as Fluent Bit does, but renders every record as JSON: its CPU figures are NOT those of Fluent Bit")
		args := []string{so}
		for range o.inputs {
			args = append(args, "--input", "cloudtrail", "queue_url="+queueURL, "schema="+o.schema)
			if o.workers != "" {
				args = append(args, "workers="+o.workers)
			}
			if o.bufferMaxSize != "" {
				args = append(args, "buffer_max_size="+o.bufferMaxSize)
			}
			for _, kv := range o.props {
				args = append(args, kv[0]+"="+kv[1])
			}
		}
		cmd = exec.Command(filepath.Join(root, "build", "harness"), args...)
		if lines, err = cmd.StdoutPipe(); err != nil {
			return err
		}
		mode = "C host harness (no fluent-bit)"
		o.output = "harness"
	}
	cmd.Env = env
	cmd.Stderr = os.Stderr
	emuCPU0 := cpuTicks(srv.PID())
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{}) // closed once the process has exited and its output is read
	go func() {
		if lines != nil {
			ids.scan(lines)
		}
		cmd.Wait()
		close(exited)
	}()
	pid := cmd.Process.Pid
	defer cmd.Process.Kill()

	// Follow progress: the input's record count (Fluent Bit's metrics, or
	// the identities seen) until every expected event is in.
	var records, outRecords, inBytes int64
	var done time.Time
	var cpuDone, emuCPUDone float64
	var fbStat procStat
	var peakRSS int64
	lastProgress, lastRecords := time.Now(), int64(-1)
	deadline := time.Now().Add(o.timeout)
	for {
		if st := status(pid, "VmHWM"); st > peakRSS {
			peakRSS = st
		}
		if metricsURL != "" {
			records, inBytes, outRecords, _ = fbMetrics(metricsURL)
		} else {
			records = ids.seen.Load()
			outRecords = records
		}
		now := time.Now()
		if records != lastRecords {
			lastRecords, lastProgress = records, now
		}
		if done.IsZero() && records >= int64(wl.total) {
			done = now
			fbStat = readProcStat(pid)
			cpuDone = (fbStat.utime + fbStat.stime) / ticksPerSecond
			emuCPUDone = (cpuTicks(srv.PID()) - emuCPU0) / ticksPerSecond
		}
		if !done.IsZero() {
			break
		}
		if now.Sub(lastProgress) > 90*time.Second || now.After(deadline) {
			logf("no progress for %s: %d of %d records", now.Sub(lastProgress).Round(time.Second), records, wl.total)
			done = now
			fbStat = readProcStat(pid)
			cpuDone = (fbStat.utime + fbStat.stime) / ticksPerSecond
			emuCPUDone = (cpuTicks(srv.PID()) - emuCPU0) / ticksPerSecond
			break
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited early with %d of %d records", mode, records, wl.total)
		case <-time.After(100 * time.Millisecond):
		}
	}
	wall := done.Sub(start).Seconds()

	// Every message must be deleted (delete_delay after its last record),
	// the output must have caught up, and late duplicates get a chance.
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	qerr := srv.WaitEmpty(wctx, queueURL)
	cancel()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if metricsURL == "" {
			break
		}
		r, b, out, err := fbMetrics(metricsURL)
		if err == nil {
			records, inBytes, outRecords = r, b, out
		}
		if outRecords >= records && (o.output != "http" || ids.seen.Load() >= records) {
			break
		}
	}
	time.Sleep(time.Second)
	if st := status(pid, "VmHWM"); st > peakRSS {
		peakRSS = st
	}
	if metricsURL != "" {
		if r, b, out, err := fbMetrics(metricsURL); err == nil {
			records, inBytes, outRecords = r, b, out
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
	}

	var dups, missing int64
	how := ""
	switch o.output {
	case "null":
		dups, missing = max(0, records-int64(wl.total)), max(0, int64(wl.total)-records)
		how = "counted (Fluent Bit input records vs events uploaded)"
	default:
		dups, missing = ids.tally()
		how = "per-event identity (eventID of every record checked)"
		if ids.bad.Load() > 0 {
			logf("%d output lines carried no generated eventID", ids.bad.Load())
		}
	}
	if qerr != nil {
		logf("queue not drained: %v", qerr)
	}
	emuWall := wall
	buf := "auto"
	if cfg.BufferMaxSize > 0 {
		buf = config.FormatSize(int64(cfg.BufferMaxSize))
	}
	logf("%s, schema %s, %d input(s), workers %d, buffer_max_size %s, handover_interval %s; %s: input records %d, output records %d, input bytes %.1f MB",
		mode, o.schema, o.inputs, cfg.Workers, buf, cfg.HandoverInterval, how, records, outRecords, float64(inBytes)/1e6)
	if inBytes > 0 && wall > 0 {
		logf("handover: %.1f MB/s of records, %.0f B per record", float64(inBytes)/1e6/wall, float64(inBytes)/float64(max(records, 1)))
	}
	logf("emulator (kumo) CPU in the same window: %.2f s (%.0f%% of one core); Fluent Bit: %.2f s (%.0f%% of one core); machine: %d cores",
		emuCPUDone, 100*emuCPUDone/emuWall, cpuDone, 100*cpuDone/wall, runtime.NumCPU())
	logf("Fluent Bit: user %.2f s, system %.2f s, %.0f minor page faults (%.1f per event)",
		fbStat.utime/ticksPerSecond, fbStat.stime/ticksPerSecond, fbStat.minflt, fbStat.minflt/float64(max(records, 1)))
	fmt.Printf("events %d, wall %.2f s, %.0f events/s, CPU %.2f s, %.0f events per CPU-second, peak RSS %.1f MB, duplicates %d, missing %d\n",
		wl.total, wall, float64(records-dups)/wall, cpuDone, float64(records-dups)/cpuDone, float64(peakRSS)/1024, dups, missing)
	if missing > 0 || qerr != nil {
		return errors.New("workload not fully ingested")
	}
	return nil
}

// seed generates and uploads the workload: object i is the corpus template
// with every eventID rewritten to name (i, index); generation and gzip run on
// every core, uploads on o.concurrency connections.
func seed(ctx context.Context, srv *emu.Server, bucket string, o options) (*workload, error) {
	if o.perObject < 1 || o.events < 0 {
		return nil, errors.New("-per-object must be positive and -events not negative")
	}
	tmpl := transcodetest.Generate(o.perObject).JSON
	wl := &workload{}
	for left := o.events; left > 0; left -= o.perObject {
		wl.perObject = append(wl.perObject, min(left, o.perObject))
	}
	var big []byte
	if o.bigMB > 0 {
		// About 1.9 KB per event in the corpus.
		n := o.bigMB << 20 / 1890
		big = transcodetest.Generate(n).JSON
		wl.perObject = append(wl.perObject, n)
	}
	for _, n := range wl.perObject {
		wl.total += n
	}
	type obj struct {
		i  int
		gz []byte
	}
	jobs := make(chan int)
	objs := make(chan obj, o.concurrency)
	var firstErr error
	var errOnce sync.Once
	setErr := func(err error) { errOnce.Do(func() { firstErr = err }) }
	var gen, up sync.WaitGroup
	for range runtime.NumCPU() {
		gen.Add(1)
		go func() {
			defer gen.Done()
			for i := range jobs {
				src := tmpl
				if big != nil && i == len(wl.perObject)-1 {
					src = big
				}
				js := rewriteIDs(src, i, wl.perObject[i])
				var z bytes.Buffer
				zw := gzip.NewWriter(&z)
				zw.Write(js)
				zw.Close()
				atomic.AddInt64(&wl.rawBytes, int64(len(js)))
				atomic.AddInt64(&wl.gzBytes, int64(z.Len()))
				objs <- obj{i, z.Bytes()}
			}
		}()
	}
	for range o.concurrency {
		up.Add(1)
		go func() {
			defer up.Done()
			for ob := range objs {
				key := fmt.Sprintf("AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/14/123456789012_CloudTrail_us-east-1_20240314T%04dZ_%016x.json.gz",
					ob.i%2400, uint64(ob.i)*0x9e3779b97f4a7c15)
				if err := srv.Put(ctx, bucket, key, ob.gz); err != nil {
					setErr(err)
				}
			}
		}()
	}
	for i := range wl.perObject {
		jobs <- i
	}
	close(jobs)
	gen.Wait()
	close(objs)
	up.Wait()
	return wl, firstErr
}

// rewriteIDs returns a copy of the {"Records":[...]} document js cut to n
// events, with the eventID of event j set to the identity (obj, j).
func rewriteIDs(js []byte, obj, n int) []byte {
	key := []byte(`"eventID":"`)
	out := make([]byte, 0, len(js)+64)
	rest := js
	for j := 0; ; j++ {
		k := bytes.Index(rest, key)
		if k < 0 || j == n {
			if j == n && k >= 0 {
				// Cut the document after event n-1: find the end of
				// that event's object, then close the array.
				out = append(out, rest[:lastEventEnd(rest[:k])]...)
				return append(out, "]}"...)
			}
			return append(out, rest...)
		}
		k += len(key)
		out = append(out, rest[:k]...)
		out = fmt.Appendf(out, "%08x%s%012x", obj, marker, j)
		end := bytes.IndexByte(rest[k:], '"')
		rest = rest[k+end:]
	}
}

// lastEventEnd returns the offset just past the last complete event of the
// Records array in s, which ends inside the next event: the ",{" that
// starts it at depth 0 of the array.
func lastEventEnd(s []byte) int {
	// Events are separated by "},{" at array level; the last such
	// separator before the next eventID begins the event being cut.
	i := bytes.LastIndex(s, []byte(`},{"eventVersion"`))
	if i < 0 {
		return len(s)
	}
	return i + 1
}

// identities counts every generated event seen on the output.
type identities struct {
	counts [][]uint8 // by object, by event: times seen (saturating)
	seen   atomic.Int64
	bad    atomic.Int64
	mu     sync.Mutex
}

func newIdentities(wl *workload) *identities {
	ids := &identities{counts: make([][]uint8, len(wl.perObject))}
	for i, n := range wl.perObject {
		ids.counts[i] = make([]uint8, n)
	}
	return ids
}

// ServeHTTP takes the JSON lines Fluent Bit's out_http posts.
func (ids *identities) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ids.scan(r.Body)
	w.WriteHeader(http.StatusOK)
}

// scan reads JSON lines, one record each, and counts the identity each
// carries.
func (ids *identities) scan(r io.ReadCloser) {
	defer r.Close()
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A record longer than the buffer: keep its start (which
			// holds the eventID in every schema), skip the rest.
			head := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			line = head
		}
		if len(bytes.TrimSpace(line)) > 0 {
			ids.count(line)
		}
		if err != nil {
			return
		}
	}
}

func (ids *identities) count(line []byte) {
	k := bytes.Index(line, []byte(marker))
	if k < 8 || k+len(marker)+12 > len(line) {
		ids.bad.Add(1)
		return
	}
	obj, err1 := strconv.ParseUint(string(line[k-8:k]), 16, 32)
	idx, err2 := strconv.ParseUint(string(line[k+len(marker):k+len(marker)+12]), 16, 64)
	ids.mu.Lock()
	ok := err1 == nil && err2 == nil && int(obj) < len(ids.counts) && int(idx) < len(ids.counts[obj])
	if ok && ids.counts[obj][idx] < 255 {
		ids.counts[obj][idx]++
	}
	ids.mu.Unlock()
	if !ok {
		ids.bad.Add(1)
		return
	}
	ids.seen.Add(1)
}

// tally returns the extra copies seen and the events never seen.
func (ids *identities) tally() (dups, missing int64) {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	for _, obj := range ids.counts {
		for _, c := range obj {
			if c == 0 {
				missing++
			} else {
				dups += int64(c) - 1
			}
		}
	}
	return
}

// fbMetrics reads Fluent Bit's /api/v1/metrics: records and bytes of every
// cloudtrail input, records processed by every output.
func fbMetrics(url string) (records, bytes, out int64, err error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	var m struct {
		Input  map[string]struct{ Records, Bytes int64 } `json:"input"`
		Output map[string]struct {
			ProcRecords int64 `json:"proc_records"`
		} `json:"output"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return 0, 0, 0, err
	}
	for name, in := range m.Input {
		if strings.HasPrefix(name, "cloudtrail.") {
			records += in.Records
			bytes += in.Bytes
		}
	}
	for _, o := range m.Output {
		out += o.ProcRecords
	}
	return records, bytes, out, nil
}

const ticksPerSecond = 100 // USER_HZ on Linux

// procStat is what the loadtest reads of /proc/PID/stat: CPU time in clock
// ticks, and minor page faults (each one a zeroed page handed to the
// process: on a VM they cost a trap to the hypervisor).
type procStat struct{ utime, stime, minflt float64 }

func readProcStat(pid int) procStat {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, minflt 10, utime 14 and stime 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return procStat{}
	}
	var st procStat
	st.minflt, _ = strconv.ParseFloat(f[7], 64)
	st.utime, _ = strconv.ParseFloat(f[11], 64)
	st.stime, _ = strconv.ParseFloat(f[12], 64)
	return st
}

// cpuTicks returns utime+stime of a process, in clock ticks.
func cpuTicks(pid int) float64 {
	st := readProcStat(pid)
	return st.utime + st.stime
}

// status returns a kB field of /proc/PID/status, such as VmHWM.
func status(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func fbVersion(fb string) string {
	out, _ := exec.Command(fb, "--version").Output()
	if f := strings.Fields(string(out)); len(f) >= 3 {
		return f[2]
	}
	return "?"
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadtest: "+format+"\n", args...)
}
