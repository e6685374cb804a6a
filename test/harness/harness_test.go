// Package harness tests the C host harness (harness.c) that loads a Fluent Bit
// Go input plugin the way Fluent Bit v5.1.1 does. The tests build the harness
// and a fake plugin written in C (testdata/fake_plugin.c) with `cc` and check
// records, properties, contexts, event validation, pause/resume, shutdown
// order, hot reload and memory hygiene.
package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

type tools struct {
	dir, harness, fake, fakeNoCtx, fakeNoCleanup string
}

var (
	buildOnce sync.Once
	built     tools
	buildErr  error
)

func cc(args ...string) error {
	out, err := exec.Command("cc", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("cc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func getTools(t *testing.T) tools {
	t.Helper()
	if _, err := exec.LookPath("cc"); err != nil {
		t.Skip("SKIPPED: cc not found: the harness tests need a C compiler (apt-get install build-essential; .ci/run installs it)")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "harness-test-")
		if err != nil {
			buildErr = err
			return
		}
		built = tools{
			dir:           dir,
			harness:       filepath.Join(dir, "harness"),
			fake:          filepath.Join(dir, "fake.so"),
			fakeNoCtx:     filepath.Join(dir, "fake_noctx.so"),
			fakeNoCleanup: filepath.Join(dir, "fake_nocleanup.so"),
		}
		// exactly the documented build line (plus -std=c11)
		if buildErr = cc("-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-pthread", "-o", built.harness, "harness.c", "-ldl"); buildErr != nil {
			return
		}
		so := []string{"-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "-pthread"}
		if buildErr = cc(append(so, "-o", built.fake, "testdata/fake_plugin.c")...); buildErr != nil {
			return
		}
		if buildErr = cc(append(so, "-DNO_CTX", "-o", built.fakeNoCtx, "testdata/fake_plugin.c")...); buildErr != nil {
			return
		}
		buildErr = cc(append(so, "-DNO_CLEANUP", "-o", built.fakeNoCleanup, "testdata/fake_plugin.c")...)
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return built
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// ---------------------------------------------------------------- helpers

type result struct {
	rc      int
	stderr  string
	records []map[string]any
	events  []event
	pid     int
}

type event struct {
	name string
	inst int
	tid  int
	arg  int
	f    map[string]string
	line int
}

// parseLog reads the fake plugin's call log, which it may still be appending
// to: a last line without its '\n' is still being written and is left out.
func parseLog(t *testing.T, path string) []event {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		t.Fatal(err)
	}
	lines, _ := testenv.CompleteLines(data)
	var evs []event
	for _, b := range lines {
		ln := strings.TrimSpace(string(b))
		if ln == "" {
			continue
		}
		parts := strings.Fields(ln)
		e := event{name: parts[0], f: map[string]string{}, inst: -99, arg: -99, line: len(evs)}
		for _, p := range parts[1:] {
			k, v, ok := strings.Cut(p, "=")
			if !ok {
				continue
			}
			e.f[k] = v
			n, _ := strconv.Atoi(v)
			switch k {
			case "inst":
				e.inst = n
			case "tid":
				e.tid = n
			case "arg":
				e.arg = n
			}
		}
		evs = append(evs, e)
	}
	return evs
}

// outLines counts the complete lines of the harness's output while it runs.
func outLines(t *testing.T, path string) int {
	t.Helper()
	return len(testenv.ReadHarnessOutput[json.RawMessage](t, path, false))
}

// run starts the harness; while it runs, during(pid, logPath, outPath) may act on it.
func run(t *testing.T, env []string, during func(pid int, logPath, outPath string), args ...string) result {
	t.Helper()
	tl := getTools(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "calls.log")
	outPath := filepath.Join(dir, "out.jsonl")
	full := append([]string{"--out", outPath}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tl.harness, full...)
	cmd.Env = append(append(os.Environ(), "FAKE_LOG="+logPath), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if during != nil {
		during(cmd.Process.Pid, logPath, outPath)
	}
	err := cmd.Wait()
	rc := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("harness: %v", err)
		}
		rc = ee.ExitCode()
	}
	r := result{rc: rc, stderr: stderr.String(), pid: cmd.Process.Pid}
	r.events = parseLog(t, logPath)
	if _, err := os.Stat(outPath); err == nil {
		r.records = testenv.ReadHarnessOutput[map[string]any](t, outPath, true)
	}
	return r
}

func (r result) dump() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rc=%d\n--- stderr\n%s\n--- calls\n", r.rc, r.stderr)
	for _, e := range r.events {
		fmt.Fprintf(&b, "%s inst=%d tid=%d arg=%d %v\n", e.name, e.inst, e.tid, e.arg, e.f)
	}
	return b.String()
}

func (r result) byName(name string) []event {
	var out []event
	for _, e := range r.events {
		if e.name == name {
			out = append(out, e)
		}
	}
	return out
}

func (r result) first(name string, inst int) int {
	for i, e := range r.events {
		if e.name == name && (inst == -100 || e.inst == inst) {
			return i
		}
	}
	return -1
}

func (r result) last(name string, inst int) int {
	for i := len(r.events) - 1; i >= 0; i-- {
		if e := r.events[i]; e.name == name && (inst == -100 || e.inst == inst) {
			return i
		}
	}
	return -1
}

func recordsByTag(recs []map[string]any) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, r := range recs {
		out[r["tag"].(string)] = append(out[r["tag"].(string)], r)
	}
	return out
}

func body(r map[string]any) map[string]any { return r["record"].(map[string]any) }

func num(v any) int64 {
	n, err := v.(json.Number).Int64()
	if err != nil {
		panic(err)
	}
	return n
}

// waitFor polls the call log until cond is true.
func waitFor(t *testing.T, logPath string, timeout time.Duration, what string, cond func([]event) bool) []event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		evs := parseLog(t, logPath)
		if cond(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting for %s; log so far: %d events", what, len(evs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// termWhen returns a `during` function that waits (up to 30 s, the machine may be
// loaded) until cond holds for the call log and the number of output lines, then
// sends SIGTERM.
func termWhen(t *testing.T, what string, cond func(evs []event, outLines int) bool) func(int, string, string) {
	return func(pid int, logPath, outPath string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			evs := parseLog(t, logPath)
			if cond(evs, outLines(t, outPath)) {
				break
			}
			if time.Now().After(deadline) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("timeout waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
		syscall.Kill(pid, syscall.SIGTERM)
	}
}

// collects waits for n completed callbacks of every listed instance.
func collects(t *testing.T, n int, insts ...int) func(int, string, string) {
	return termWhen(t, fmt.Sprintf("%d callbacks", n), func(evs []event, _ int) bool {
		for _, i := range insts {
			if count(evs, "COLLECT", i) < n {
				return false
			}
		}
		return true
	})
}

// summary returns the key=value fields of the harness summary line of an instance.
func (r result) summary(inst string) map[string]int {
	out := map[string]int{}
	for _, ln := range strings.Split(r.stderr, "\n") {
		if !strings.HasPrefix(ln, "[harness] summary instance="+inst+" ") {
			continue
		}
		for _, f := range strings.Fields(ln)[2:] {
			k, v, _ := strings.Cut(f, "=")
			if n, err := strconv.Atoi(v); err == nil {
				out[k] += n
			}
		}
	}
	return out
}

func count(evs []event, name string, inst int) int {
	n := 0
	for _, e := range evs {
		if e.name == name && (inst == -100 || e.inst == inst) {
			n++
		}
	}
	return n
}

// --------------------------------------------------------------- tests

func TestRecordsPropertiesAndContexts(t *testing.T) {
	tl := getTools(t)
	r := run(t, []string{"HARNESS_TEST_P=from-env"}, termWhen(t, "records", func(evs []event, lines int) bool {
		return count(evs, "COLLECT", 0) >= 4 && count(evs, "COLLECT", 1) >= 4 && lines >= 15
	}),
		"--interval-ms", "100", "--grace-s", "0.3",
		tl.fake,
		"--input", "fake", "param=${HARNESS_TEST_P}", "records=2", "--tag", "t0",
		"--input", "FAKE", "PARAM=b", "ts=v2", "log_level=debug", "tag=t1")
	if r.rc != 0 {
		t.Fatalf("exit %d\n%s", r.rc, r.dump())
	}
	byTag := recordsByTag(r.records)
	if len(byTag["t0"]) < 6 || len(byTag["t1"]) < 9 {
		t.Fatalf("too few records: t0=%d t1=%d\n%s", len(byTag["t0"]), len(byTag["t1"]), r.dump())
	}
	ctxOf := map[string]int64{}
	for tag, recs := range byTag {
		for _, rec := range recs {
			b := body(rec)
			wantParam := map[string]string{"t0": "from-env", "t1": "b"}[tag]
			if b["param"] != wantParam || b["case_param"] != wantParam {
				t.Errorf("%s: param=%v case_param=%v, want %q (per-instance, ${ENV}, case-insensitive)", tag, b["param"], b["case_param"], wantParam)
			}
			if b["missing_is_null"] != true {
				t.Errorf("%s: input_get_property of a missing key must return NULL", tag)
			}
			if b["tag_visible"] != false {
				t.Errorf("%s: 'tag' is a core key and must not be visible as a property", tag)
			}
			if b["late_param"] != "b" {
				t.Errorf("%s: late_param=%v: after init, plugin->i_ins is the LAST initialised instance", tag, b["late_param"])
			}
			if b["ctx_ok"] != true {
				t.Errorf("%s: callback got a remote_context that is not its own", tag)
			}
			if b["utf8"] != "h\u00e9llo \"q\" \\ \x01 \u20ac" {
				t.Errorf("utf8 round trip: %q", b["utf8"])
			}
			c := num(b["ctx"])
			if old, ok := ctxOf[tag]; ok && old != c {
				t.Errorf("%s: remote context changed %d -> %d", tag, old, c)
			}
			ctxOf[tag] = c
			_, hasMeta := rec["metadata"]
			if tag == "t1" {
				if m, _ := rec["metadata"].(map[string]any); m["meta_k"] != "meta_v" {
					t.Errorf("t1 (v2 format) metadata = %v", rec["metadata"])
				}
			} else if hasMeta {
				t.Errorf("t0 (forward format) must not carry metadata")
			}
			want := map[string]bool{"t0": false, "t1": true}[tag]
			if b["debug"] != want {
				t.Errorf("%s: input_log_check(debug)=%v want %v (per-instance log_level)", tag, b["debug"], want)
			}
			if ts := rec["ts"].(json.Number).String(); !strings.Contains(ts, ".") || len(ts) < 15 {
				t.Errorf("ts %q should be seconds with 9 fractional digits", ts)
			}
		}
	}
	if ctxOf["t0"] == ctxOf["t1"] {
		t.Errorf("both instances saw the same remote_context %d", ctxOf["t0"])
	}
	// Ctx symbols are used when exported
	for _, e := range r.byName("COLLECT") {
		if e.f["via_ctx"] != "1" {
			t.Fatalf("expected FLBPluginInputCallbackCtx to be used: %v", e.f)
		}
	}
	// the same plugin pointer for both Init calls, different context pointers
	inits := r.byName("INIT")
	if len(inits) != 2 || inits[0].f["plugin"] != inits[1].f["plugin"] || inits[0].f["ctxptr"] == inits[1].f["ctxptr"] {
		t.Errorf("INIT: want shared plugin pointer and distinct context pointers: %+v", inits)
	}
	if !strings.Contains(r.stderr, "[debug] [input:fake] instance 1: debug logging enabled") {
		t.Errorf("log_print output missing in stderr:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "summary instance=fake.0") || !strings.Contains(r.stderr, "summary instance=fake.1") {
		t.Errorf("summary lines missing:\n%s", r.stderr)
	}
}

func TestShutdownOrderAndThreads(t *testing.T) {
	tl := getTools(t)
	var comms []string
	r := run(t, nil, func(pid int, logPath, _ string) {
		waitFor(t, logPath, 30*time.Second, "callbacks", func(evs []event) bool {
			return count(evs, "COLLECT", 0) >= 2 && count(evs, "COLLECT", 1) >= 2
		})
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/comm", pid))
		for _, f := range tasks {
			b, _ := os.ReadFile(f)
			comms = append(comms, strings.TrimSpace(string(b)))
		}
		syscall.Kill(pid, syscall.SIGTERM)
	}, "--interval-ms", "100", "--grace-s", "0.2", tl.fake,
		"--input", "fake", "records=1", "--input", "fake", "records=1")
	if r.rc != 0 {
		t.Fatalf("exit %d\n%s", r.rc, r.dump())
	}
	for _, want := range []string{"flb-in-fake.0-w", "flb-in-fake.1-w"} {
		found := false
		for _, c := range comms {
			found = found || c == want
		}
		if !found {
			t.Errorf("thread %q not found among %v", want, comms)
		}
	}
	mainTid := r.events[r.first("REGISTER", -100)].tid
	for _, name := range []string{"PREREGISTER", "REGISTER", "UNREGISTER"} {
		evs := r.byName(name)
		if len(evs) != 1 || evs[0].tid != mainTid {
			t.Errorf("%s: want exactly once on the main thread: %+v", name, evs)
		}
	}
	if r.events[0].name != "PREREGISTER" || r.events[1].name != "REGISTER" || r.events[len(r.events)-1].name != "UNREGISTER" {
		t.Errorf("first/last calls wrong\n%s", r.dump())
	}
	tids := map[int]int{}
	for _, e := range r.events {
		if e.inst < 0 {
			continue
		}
		if e.tid == mainTid {
			t.Errorf("%s for instance %d ran on the main thread", e.name, e.inst)
		}
		if old, ok := tids[e.inst]; ok && old != e.tid {
			t.Errorf("%s for instance %d on tid %d, earlier calls on tid %d", e.name, e.inst, e.tid, old)
		}
		tids[e.inst] = e.tid
	}
	if tids[0] == tids[1] {
		t.Errorf("both instances on the same thread")
	}
	// startup: Init 0, Init 1 (one after another), then PreRun on each
	if !(r.first("INIT", 0) < r.first("INIT", 1) && r.first("INIT", 1) < r.first("PRERUN", -100)) {
		t.Errorf("startup order wrong\n%s", r.dump())
	}
	for inst := 0; inst < 2; inst++ {
		if r.byName("PRERUN")[0].arg != 0 {
			t.Errorf("PreRun arg must be 0 without hot reload")
		}
		// exactly two pauses, after the last callback, before PreExit
		if n := count(r.events, "PAUSE", inst); n != 2 {
			t.Errorf("instance %d: %d pauses at shutdown, want 2", inst, n)
		}
		if r.last("COLLECT", inst) > r.first("PAUSE", inst) {
			t.Errorf("instance %d: callback after pause", inst)
		}
		if count(r.events, "RESUME", inst) != 0 {
			t.Errorf("instance %d: resume at shutdown", inst)
		}
		pe, ex := r.first("PREEXIT", inst), r.first("EXIT", inst)
		if !(r.last("PAUSE", inst) < pe && pe < ex) || r.events[pe].arg != 0 {
			t.Errorf("instance %d: want Pause, Pause, PreExit(0), Exit\n%s", inst, r.dump())
		}
		// every callback's buffer is cleaned up right after it, on the same thread
		for i, e := range r.events {
			if e.name == "COLLECT" && e.inst == inst {
				found := false
				for _, n := range r.events[i+1:] {
					if n.inst == inst {
						found = n.name == "CLEANUP" && n.f["via_ctx"] == "1" && n.f["ctx_ok"] == "1"
						break
					}
				}
				if !found {
					t.Fatalf("instance %d: COLLECT not followed by its CleanupCtx\n%s", inst, r.dump())
				}
			}
		}
	}
	// reverse config order: instance 1 exits completely before instance 0 starts exiting
	if !(r.first("EXIT", 1) < r.first("PREEXIT", 0)) {
		t.Errorf("exit order not reversed\n%s", r.dump())
	}
	if r.first("UNREGISTER", -100) < r.first("EXIT", 0) {
		t.Errorf("Unregister before Exit")
	}
	if !strings.Contains(r.stderr, "shutdown_ms=") {
		t.Errorf("no shutdown timing in summary")
	}
}

func TestMalformedEventDropsRestOfBuffer(t *testing.T) {
	tl := getTools(t)
	r := run(t, nil, termWhen(t, "2 records", func(evs []event, lines int) bool { return lines >= 2 }),
		"--interval-ms", "100", "--grace-s", "0.3", tl.fake, "--input", "fake", "bad=1", "records=3")
	if r.rc != 1 {
		t.Fatalf("want exit 1 for malformed events, got %d\n%s", r.rc, r.dump())
	}
	if !strings.Contains(r.stderr, "MALFORMED event #1") || !strings.Contains(r.stderr, "Wrong root type") {
		t.Errorf("malformed event not reported:\n%s", r.stderr)
	}
	n := count(r.events, "COLLECT", 0)
	sum := r.summary("fake.0")
	if len(r.records)+sum["lost"] != n || n == 0 || sum["malformed"] != n || sum["dropped"] != 3*n {
		t.Fatalf("want exactly 1 record per callback (the one before the bad event): records=%d callbacks=%d summary=%v", len(r.records), n, sum)
	}
	for _, rec := range r.records {
		if s := num(body(rec)["seq"]); s%3 != 0 {
			t.Errorf("record seq %d survived although it came after the malformed event", s)
		}
	}
}

func TestCallbackReturnCodes(t *testing.T) {
	tl := getTools(t)
	t.Run("minus1_discards_without_cleanup", func(t *testing.T) {
		r := run(t, nil, collects(t, 2, 0), "--interval-ms", "100", "--grace-s", "0.1", tl.fake,
			"--input", "fake", "ret=-1")
		if r.rc != 1 || len(r.records) != 0 {
			t.Fatalf("ret=-1: want exit 1 and no records, got rc=%d records=%d\n%s", r.rc, len(r.records), r.dump())
		}
		if count(r.events, "CLEANUP", -100) != 0 || count(r.events, "COLLECT", -100) == 0 {
			t.Errorf("ret=-1 must not call cleanup\n%s", r.dump())
		}
		if !strings.Contains(r.stderr, "returned -1") {
			t.Errorf("no error logged")
		}
	})
	for _, ret := range []string{"0", "2"} {
		t.Run("ret"+ret+"_ingested", func(t *testing.T) {
			r := run(t, nil, termWhen(t, "2 records", func(_ []event, lines int) bool { return lines >= 2 }),
				"--interval-ms", "100", "--grace-s", "0.1", tl.fake, "--input", "fake", "ret="+ret, "records=1")
			if r.rc != 0 || len(r.records) == 0 || count(r.events, "CLEANUP", 0) != count(r.events, "COLLECT", 0) {
				t.Fatalf("ret=%s must be ingested and cleaned up\n%s", ret, r.dump())
			}
		})
	}
	t.Run("empty_no_cleanup", func(t *testing.T) {
		r := run(t, nil, collects(t, 2, 0), "--interval-ms", "100", "--grace-s", "0.1", tl.fake,
			"--input", "fake", "empty=1")
		if r.rc != 0 || len(r.records) != 0 || count(r.events, "CLEANUP", -100) != 0 || count(r.events, "COLLECT", -100) == 0 {
			t.Fatalf("size=0: nothing ingested, no cleanup\n%s", r.dump())
		}
	})
}

func TestInitFailureExits255(t *testing.T) {
	tl := getTools(t)
	r := run(t, nil, nil, "--interval-ms", "100", tl.fake,
		"--input", "fake", "--input", "fake", "init_ret=0", "--input", "fake")
	if r.rc != 255 {
		t.Fatalf("want 255, got %d\n%s", r.rc, r.dump())
	}
	if count(r.events, "INIT", -100) != 2 || count(r.events, "COLLECT", -100) != 0 {
		t.Errorf("third instance must not be initialised, no callbacks\n%s", r.dump())
	}
	if !strings.Contains(r.stderr, "failed to initialize") {
		t.Errorf("no init error message")
	}
	if r.last("UNREGISTER", -100) != len(r.events)-1 {
		t.Errorf("Unregister should be the last call\n%s", r.dump())
	}
}

func TestUsageAndRegistrationErrors(t *testing.T) {
	tl := getTools(t)
	cases := []struct {
		name string
		args []string
		rc   int
	}{
		{"no_input", []string{tl.fake}, 2},
		{"bad_log_level", []string{tl.fake, "--input", "fake", "log_level=loud"}, 2},
		{"name_mismatch", []string{tl.fake, "--input", "other"}, 255},
		{"missing_so", []string{"/nonexistent/x.so", "--input", "fake"}, 255},
		{"unknown_option", []string{"--nope", tl.fake, "--input", "fake"}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, nil, nil, c.args...)
			if r.rc != c.rc {
				t.Fatalf("want %d got %d\n%s", c.rc, r.rc, r.stderr)
			}
		})
	}
}

func TestLegacyCallbacks(t *testing.T) {
	tl := getTools(t)
	for _, c := range []struct {
		name string
		so   string
		args []string
	}{
		{"ctx_legacy_flag", tl.fake, []string{"--ctx", "legacy"}},
		{"no_ctx_symbols", tl.fakeNoCtx, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append(append([]string{}, c.args...), "--interval-ms", "100", "--grace-s", "0.1",
				c.so, "--input", "fake", "records=1")
			r := run(t, nil, termWhen(t, "2 records", func(_ []event, lines int) bool { return lines >= 2 }), args...)
			if r.rc != 0 || len(r.records) == 0 {
				t.Fatalf("rc=%d records=%d\n%s", r.rc, len(r.records), r.dump())
			}
			for _, e := range r.events {
				if (e.name == "COLLECT" || e.name == "CLEANUP") && e.f["via_ctx"] != "0" {
					t.Fatalf("legacy callbacks expected: %+v", e)
				}
			}
			if num(body(r.records[0])["ctx"]) != -1 {
				t.Errorf("legacy callback has no ctx")
			}
		})
	}
	t.Run("no_cleanup_symbol_host_frees", func(t *testing.T) {
		r := run(t, nil, termWhen(t, "2 records", func(_ []event, lines int) bool { return lines >= 2 }),
			"--interval-ms", "100", "--grace-s", "0.1", tl.fakeNoCleanup, "--input", "fake", "records=1")
		if r.rc != 0 || len(r.records) == 0 || count(r.events, "CLEANUP", -100) != 0 {
			t.Fatalf("rc=%d\n%s", r.rc, r.dump())
		}
		if !strings.Contains(r.stderr, "cleanup=free()") {
			t.Errorf("expected the harness to report free() cleanup:\n%s", r.stderr)
		}
	})
}

func TestPauseResumeSignals(t *testing.T) {
	tl := getTools(t)
	var pausedAt, resumedAt int
	var outDuringRun int
	r := run(t, nil, func(pid int, logPath, outPath string) {
		waitFor(t, logPath, 30*time.Second, "callbacks", func(evs []event) bool {
			return count(evs, "COLLECT", 0) >= 2 && count(evs, "COLLECT", 1) >= 2
		})
		// output is flushed after every callback: a test can tail it
		outDuringRun = outLines(t, outPath)
		syscall.Kill(pid, syscall.SIGUSR1)
		evs := waitFor(t, logPath, 30*time.Second, "pause", func(evs []event) bool {
			return count(evs, "PAUSE", 0) == 1 && count(evs, "PAUSE", 1) == 1
		})
		pausedAt = len(evs)
		time.Sleep(600 * time.Millisecond) // 6 intervals
		evs = parseLog(t, logPath)
		resumedAt = len(evs)
		syscall.Kill(pid, syscall.SIGUSR2)
		waitFor(t, logPath, 30*time.Second, "callbacks after resume", func(evs []event) bool {
			return len(evs) > resumedAt && count(evs[resumedAt:], "COLLECT", 0) >= 2 && count(evs[resumedAt:], "COLLECT", 1) >= 2
		})
		syscall.Kill(pid, syscall.SIGTERM)
	}, "--interval-ms", "100", "--grace-s", "0.1", tl.fake,
		"--input", "fake", "records=1", "--input", "fake", "records=1")
	if r.rc != 0 {
		t.Fatalf("rc=%d\n%s", r.rc, r.dump())
	}
	if outDuringRun == 0 {
		t.Errorf("no output lines visible while the harness was running")
	}
	for _, e := range r.events[pausedAt:resumedAt] {
		if e.name == "COLLECT" || e.name == "COLLECT_BEGIN" {
			t.Fatalf("callback while paused\n%s", r.dump())
		}
	}
	for inst := 0; inst < 2; inst++ {
		if count(r.events, "RESUME", inst) != 1 {
			t.Errorf("instance %d: want one resume", inst)
		}
		res := r.first("RESUME", inst)
		if r.events[res].tid != r.events[r.first("INIT", inst)].tid {
			t.Errorf("resume on the wrong thread")
		}
		// after the resume there are callbacks, then 2 shutdown pauses (3 in total)
		if count(r.events, "PAUSE", inst) != 3 {
			t.Errorf("instance %d: want 3 pauses (SIGUSR1 + 2 at shutdown)", inst)
		}
	}
}

func TestEmulatedPauseBugHitsLastInstance(t *testing.T) {
	tl := getTools(t)
	var pausedAt int
	r := run(t, nil, func(pid int, logPath, _ string) {
		waitFor(t, logPath, 30*time.Second, "callbacks", func(evs []event) bool {
			return count(evs, "COLLECT", 0) >= 1 && count(evs, "COLLECT", 1) >= 1
		})
		syscall.Kill(pid, syscall.SIGUSR1)
		evs := waitFor(t, logPath, 30*time.Second, "pause", func(evs []event) bool {
			return count(evs, "PAUSE", -100) == 2
		})
		pausedAt = len(evs)
		waitFor(t, logPath, 30*time.Second, "instance 0 callbacks after its pause", func(evs []event) bool {
			return count(evs[pausedAt:], "COLLECT", 0) >= 3
		})
		syscall.Kill(pid, syscall.SIGTERM)
	}, "--emulate-pause-bug", "--interval-ms", "100", "--grace-s", "0.1", tl.fake,
		"--input", "fake", "records=1", "--input", "fake", "records=1")
	if r.rc != 0 {
		t.Fatalf("rc=%d\n%s", r.rc, r.dump())
	}
	after := r.events[pausedAt:]
	if count(after, "COLLECT", 0) < 2 {
		t.Errorf("with the v5.1.1 bug, instance 0 keeps being called after its pause\n%s", r.dump())
	}
	firstShutdownPause := -1
	for i, e := range after {
		if e.name == "PAUSE" {
			firstShutdownPause = i
			break
		}
	}
	if firstShutdownPause < 0 {
		t.Fatalf("no shutdown pause\n%s", r.dump())
	}
	if count(after[:firstShutdownPause], "COLLECT", 1) != 0 {
		t.Errorf("instance 1 (the last one) must be paused\n%s", r.dump())
	}
}

func TestMemBufLimitBackpressure(t *testing.T) {
	tl := getTools(t)
	t.Run("no_drain_stays_paused", func(t *testing.T) {
		r := run(t, nil, func(pid int, logPath, outPath string) {
			waitFor(t, logPath, 30*time.Second, "mem pause", func(evs []event) bool { return count(evs, "PAUSE", 0) == 1 })
			time.Sleep(500 * time.Millisecond) // 5 intervals: nothing may happen now
			syscall.Kill(pid, syscall.SIGTERM)
		}, "--interval-ms", "100", "--grace-s", "0.1",
			"--mem-buf-limit", "3k", tl.fake, "--input", "fake", "records=2", "pad=1000")
		if r.rc != 0 {
			t.Fatalf("rc=%d\n%s", r.rc, r.dump())
		}
		p := r.first("PAUSE", 0)
		if p < 0 || count(r.events, "COLLECT", 0) != 2 || r.last("COLLECT", 0) > p {
			t.Fatalf("want 2 callbacks (~2.3 KB each), a pause, then nothing\n%s", r.dump())
		}
		if count(r.events, "PAUSE", 0) != 1 {
			t.Errorf("an instance paused by mem_buf_limit is not paused again at shutdown (flb_input_pause returns early)\n%s", r.dump())
		}
		if !strings.Contains(r.stderr, "paused (mem buf overlimit") {
			t.Errorf("no overlimit warning")
		}
	})
	t.Run("drain_resumes", func(t *testing.T) {
		r := run(t, nil, termWhen(t, "2 resumes", func(evs []event, _ int) bool {
			return count(evs, "RESUME", 0) >= 2
		}), "--interval-ms", "100", "--grace-s", "0.1",
			"--drain-bytes-per-s", "6000", tl.fake, "--input", "fake", "records=2", "pad=1000", "mem_buf_limit=3k")
		if r.rc != 0 || count(r.events, "RESUME", 0) == 0 {
			t.Fatalf("want resume after drain\n%s", r.dump())
		}
		// no callback between a pause and the next resume
		paused := false
		for _, e := range r.events {
			switch e.name {
			case "PAUSE":
				paused = true
			case "RESUME":
				paused = false
			case "COLLECT", "COLLECT_BEGIN":
				if paused {
					t.Fatalf("callback while paused\n%s", r.dump())
				}
			}
		}
	})
}

func TestHotReloadOrder(t *testing.T) {
	tl := getTools(t)
	r := run(t, nil, func(pid int, logPath, outPath string) {
		waitFor(t, logPath, 30*time.Second, "callbacks", func(evs []event) bool {
			return count(evs, "COLLECT", 0) >= 2 && count(evs, "COLLECT", 1) >= 2
		})
		syscall.Kill(pid, syscall.SIGHUP)
		termWhen(t, "callbacks after reload", func(evs []event, _ int) bool {
			return count(evs, "COLLECT", 2) >= 2 && count(evs, "COLLECT", 3) >= 2
		})(pid, logPath, outPath)
	}, "--interval-ms", "100", "--grace-s", "0.1", "--hot-reload", tl.fake,
		"--input", "fake", "records=1", "param=x", "--input", "fake", "records=1", "param=y")
	if r.rc != 0 {
		t.Fatalf("rc=%d\n%s", r.rc, r.dump())
	}
	pre := r.byName("PREREGISTER")
	if len(pre) != 2 || pre[0].arg != 0 || pre[1].arg != 1 {
		t.Fatalf("want PreRegister(0) then PreRegister(1)\n%s", r.dump())
	}
	secondReg := -1
	for i, e := range r.events {
		if e.name == "REGISTER" {
			secondReg = i
		}
	}
	if !(secondReg < r.first("PAUSE", 0) && secondReg < r.first("PAUSE", 1)) {
		t.Errorf("new context must register before the old instances are paused\n%s", r.dump())
	}
	for inst := 0; inst < 2; inst++ {
		pe := r.first("PREEXIT", inst)
		if pe < 0 || r.events[pe].arg != 1 || count(r.events, "PAUSE", inst) != 2 {
			t.Errorf("old instance %d: want Pause x2 then PreExit(1)\n%s", inst, r.dump())
		}
	}
	unreg := r.first("UNREGISTER", -100)
	if !(r.first("EXIT", 0) < unreg && unreg < r.first("INIT", 2)) {
		t.Errorf("want old Exit, Unregister, then new Init\n%s", r.dump())
	}
	for _, e := range r.byName("PRERUN") {
		if e.arg != 1 {
			t.Errorf("PreRun(enable_hot_reload) should be 1 with hot reload enabled: %+v", e)
		}
	}
	// Go globals survive: the fake plugin's instance counter continues at 2, 3
	byTag := recordsByTag(r.records)
	seen := map[int64]bool{}
	for _, rec := range byTag["fake.0"] {
		seen[num(body(rec)["inst"])] = true
	}
	if !seen[0] || !seen[2] {
		t.Errorf("expected records from instance 0 (before) and 2 (after reload): %v", seen)
	}
	if pe := r.byName("PREEXIT"); pe[len(pe)-1].arg != 0 {
		t.Errorf("final shutdown PreExit must be 0")
	}
	if count(r.events, "UNREGISTER", -100) != 2 {
		t.Errorf("want one Unregister per context")
	}
}

func TestLateCallbackRecordsLost(t *testing.T) {
	tl := getTools(t)
	// the callback sleeps 2 s; SIGTERM arrives during it; grace is 0.1 s, so the outputs
	// are stopped by the time it returns: Fluent Bit loses those records.
	r := run(t, nil, termWhen(t, "callback start", func(evs []event, _ int) bool {
		return count(evs, "COLLECT_BEGIN", 0) >= 1
	}), "--interval-ms", "100", "--grace-s", "0.1", tl.fake, "--input", "fake", "records=1", "sleep_ms=2000")
	if r.rc != 0 {
		t.Fatalf("rc=%d\n%s", r.rc, r.dump())
	}
	if !strings.Contains(r.stderr, "would LOSE them") || len(r.records) != 0 {
		t.Errorf("records of a callback finishing after the outputs stopped must be reported lost\n%s", r.dump())
	}
	// the timer expired during the long callback: one more callback runs before the queued pauses
	if count(r.events, "COLLECT", 0) != 2 || r.first("PAUSE", 0) < r.last("COLLECT", 0) {
		t.Errorf("want 2 callbacks before the pauses\n%s", r.dump())
	}
}

// ------------------------------------------------------- decoder rules

func mpStr(s string) []byte {
	if len(s) < 32 {
		return append([]byte{0xa0 | byte(len(s))}, s...)
	}
	return append([]byte{0xd9, byte(len(s))}, s...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var (
	evTime   = []byte{0xd7, 0x00, 0x65, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07} // 1694498816.000000007
	goodBody = cat([]byte{0x81}, mpStr("k"), mpStr("v"))
	good     = cat([]byte{0x92}, evTime, goodBody)
)

func TestDecoderRules(t *testing.T) {
	tl := getTools(t)
	deep := func(levels int) []byte { // body map nested so that the deepest container is at level `levels`
		b := []byte{}
		for i := 0; i < levels-3; i++ {
			b = append(b, 0x81, 0xa1, 'x')
		}
		b = append(b, 0x80)
		return cat([]byte{0x92, 0x01, 0x81, 0xa1, 'd'}, b)
	}
	cases := []struct {
		name      string
		payload   []byte
		records   int
		rc        int
		errSubstr string
		check     func(t *testing.T, recs []map[string]any)
	}{
		{"eventtime", good, 1, 0, "", func(t *testing.T, recs []map[string]any) {
			if ts := recs[0]["ts"].(json.Number).String(); ts != "1694498816.000000007" {
				t.Errorf("ts=%s", ts)
			}
		}},
		{"int_ts", cat([]byte{0x92, 0xce, 0x65, 0, 0, 0}, goodBody), 1, 0, "", nil},
		{"signed_int_positive_is_ok", cat([]byte{0x92, 0xd2, 0x65, 0, 0, 0}, goodBody), 1, 0, "", nil},
		{"float64_ts", cat([]byte{0x92, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}, goodBody), 1, 0, "", func(t *testing.T, recs []map[string]any) {
			if ts := recs[0]["ts"].(json.Number).String(); ts != "1.500000000" {
				t.Errorf("ts=%s", ts)
			}
		}},
		{"v2_metadata", cat([]byte{0x92, 0x92}, evTime, []byte{0x81}, mpStr("m"), []byte{0x01}, goodBody), 1, 0, "", func(t *testing.T, recs []map[string]any) {
			if m := recs[0]["metadata"].(map[string]any); num(m["m"]) != 1 {
				t.Errorf("metadata=%v", m)
			}
		}},
		{"three_good", cat(good, good, good), 3, 0, "", nil},
		{"float32_ts_rejected", cat([]byte{0x92, 0xca, 0x3f, 0xc0, 0, 0}, goodBody, good), 0, 1, "FLOAT32", nil},
		{"negative_int_ts", cat([]byte{0x92, 0xff}, goodBody, good), 0, 1, "Wrong timestamp type", nil},
		{"ext_type1_ts", cat([]byte{0x92, 0xd7, 0x01, 0, 0, 0, 1, 0, 0, 0, 0}, goodBody), 0, 1, "ext type 1", nil},
		{"eventtime_nsec_overflow", cat([]byte{0x92, 0xd7, 0x00, 0x65, 0, 0, 0, 0x3b, 0x9a, 0xca, 0x00}, goodBody), 0, 1, "nsec", nil},
		{"root_size_3", cat(good, []byte{0x93}, evTime, goodBody, goodBody, good), 1, 1, "Wrong root size", nil},
		{"header_size_3", cat([]byte{0x92, 0x93}, evTime, []byte{0x80, 0x80}, goodBody), 0, 1, "Wrong header size", nil},
		{"metadata_not_map", cat([]byte{0x92, 0x92}, evTime, []byte{0xc0}, goodBody), 0, 1, "Wrong metadata type", nil},
		{"body_not_map", cat(good, []byte{0x92}, evTime, mpStr("x"), good), 1, 1, "Wrong body type", nil},
		{"bare_map", cat(good, goodBody, good), 1, 1, "Wrong root type", nil},
		{"truncated_tail", cat(good, good[:len(good)-2]), 1, 1, "trailing byte", nil},
		{"invalid_byte_c1", cat(good, []byte{0xc1}, good), 1, 1, "deserialization failure", nil},
		{"depth_32_ok", deep(32), 1, 0, "", nil},
		{"depth_33_fails", deep(33), 0, 1, "nesting deeper than 32", nil},
		// negative float: the decoder skips just that record and continues
		{"negative_float_skipped", cat(good, []byte{0x92, 0xcb, 0xc0, 0x14, 0, 0, 0, 0, 0, 0}, goodBody, good), 2, 1, "negative timestamp", nil},
		// group markers (EventTime 0xffffffff / 0xfffffffe, nsec 0) are skipped, not errors
		{"group_markers_skipped", cat([]byte{0x92, 0xd7, 0x00, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x80}, good,
			[]byte{0x92, 0xd7, 0x00, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0, 0x80}), 1, 0, "group start marker", nil},
		{"value_rendering", cat([]byte{0x92}, evTime, []byte{0x88},
			mpStr("bin"), []byte{0xc4, 0x03, 'a', 'b', 'c'},
			mpStr("ext"), []byte{0xd4, 0x05, 0x07},
			mpStr("et"), evTime,
			mpStr("nil"), []byte{0xc0},
			mpStr("neg"), []byte{0xd0, 0x85},
			mpStr("f"), []byte{0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0},
			[]byte{0x07}, mpStr("int key"),
			mpStr("bad utf8"), []byte{0xa3, 'a', 0xff, 'b'}), 1, 0, "", func(t *testing.T, recs []map[string]any) {
			b := body(recs[0])
			want := map[string]string{
				"bin": `{"$bin":"YWJj"}`, "ext": `{"$ext":5,"data":"Bw=="}`, "et": `{"$eventtime":1694498816.000000007}`,
				"nil": `null`, "neg": `-123`, "f": `1.5`, "7": `"int key"`, "bad utf8": `"a\ufffdb"`,
			}
			for k, w := range want {
				got, _ := json.Marshal(b[k])
				var gw any
				d := json.NewDecoder(strings.NewReader(w))
				d.UseNumber()
				d.Decode(&gw)
				ww, _ := json.Marshal(gw)
				if string(got) != string(ww) {
					t.Errorf("%s: got %s want %s", k, got, ww)
				}
			}
		}},
	}
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "payload.bin")
			if err := os.WriteFile(p, c.payload, 0o644); err != nil {
				t.Fatal(err)
			}
			r := run(t, nil, collects(t, 2, 0), "--interval-ms", "50", "--grace-s", "0.1",
				tl.fake, "--input", "fake", "payload_file="+p)
			if r.rc != c.rc || len(r.records) != c.records {
				t.Fatalf("rc=%d (want %d) records=%d (want %d)\n%s", r.rc, c.rc, len(r.records), c.records, r.dump())
			}
			if c.errSubstr != "" && !strings.Contains(r.stderr, c.errSubstr) {
				t.Errorf("stderr lacks %q:\n%s", c.errSubstr, r.stderr)
			}
			if c.check != nil {
				c.check(t, r.records)
			}
		})
	}
}

func TestValgrindClean(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short mode: the valgrind run takes about 20 s; make test runs it (no -short)")
	}
	vg, err := exec.LookPath("valgrind")
	if err != nil {
		t.Skip("SKIPPED: valgrind not installed, so the harness is not checked for leaks (apt-get install valgrind; .ci/run installs it)")
	}
	tl := getTools(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, vg, "--leak-check=full", "--show-leak-kinds=definite,indirect,possible",
		"--errors-for-leak-kinds=definite,indirect,possible", "--error-exitcode=99",
		tl.harness, "--out", filepath.Join(dir, "o.jsonl"), "--interval-ms", "100", "--grace-s", "0.2",
		"--hot-reload-after-s", "0.6", "--exit-after-s", "1.4", "--mem-buf-limit", "2k", "--drain-bytes-per-s", "4000",
		tl.fake, "--input", "fake", "records=2", "bad=1", "param=${HOME}",
		"--input", "fake", "ts=v2", "pad=300", "log_level=debug", "--tag", "t1")
	cmd.Env = append(os.Environ(), "FAKE_LOG="+filepath.Join(dir, "calls.log"))
	out, err := cmd.CombinedOutput()
	rc := 0
	if ee, ok := err.(*exec.ExitError); ok {
		rc = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if rc != 1 && rc != 0 { // 1 = malformed events (bad=1), 99 = valgrind errors
		t.Fatalf("rc=%d\n%s", rc, s)
	}
	if !strings.Contains(s, "ERROR SUMMARY: 0 errors") {
		t.Errorf("valgrind errors:\n%s", s)
	}
	if !strings.Contains(s, "All heap blocks were freed") && !strings.Contains(s, "definitely lost: 0 bytes") {
		t.Errorf("leaks:\n%s", s)
	}
}
