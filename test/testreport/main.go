// Command testreport reads `go test -json` from stdin and prints what a plain
// `go test` would (package results, the output of failed tests, build
// errors), then every skipped test with the reason it gave. A skipped test
// proves nothing, so `make test` names each one at the end instead of
// letting it pass for an "ok". It exits 1 if any test or package failed.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of test2json output (go doc test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// report follows the stream: the output of each running test is kept until
// the test ends, printed if it failed, and its last line kept if it was
// skipped (t.Skip's message).
type report struct {
	out     io.Writer
	running map[string][]string // package + " " + test -> output lines
	skipped []string
	failed  bool
}

func (r *report) add(e event) {
	key := e.Package + " " + e.Test
	switch {
	case e.Action == "build-output":
		fmt.Fprint(r.out, e.Output)
	case e.Action == "build-fail":
		r.failed = true
	case e.Test == "":
		// -json runs tests verbosely; a plain go test leaves out the
		// package's PASS line before its "ok".
		if e.Action == "output" && e.Output != "PASS\n" {
			fmt.Fprint(r.out, e.Output)
		}
		if e.Action == "fail" {
			// A panic or timeout ends the package without ending its
			// running tests: show what they printed.
			r.failed = true
			for k, lines := range r.running {
				if strings.HasPrefix(k, e.Package+" ") {
					fmt.Fprint(r.out, strings.Join(lines, ""))
					delete(r.running, k)
				}
			}
		}
	case e.Action == "output":
		r.running[key] = append(r.running[key], e.Output)
	case e.Action == "fail":
		r.failed = true
		fmt.Fprint(r.out, strings.Join(r.running[key], ""))
		delete(r.running, key)
	case e.Action == "skip":
		r.skipped = append(r.skipped, fmt.Sprintf("%s %s: %s", e.Package, e.Test, reason(r.running[key])))
		delete(r.running, key)
	case e.Action == "pass":
		delete(r.running, key)
	}
}

// reason is the message a skipped test gave: its output without the
// === and --- lines go test adds.
func reason(lines []string) string {
	var msg []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") {
			continue
		}
		msg = append(msg, t)
	}
	if len(msg) == 0 {
		return "(no reason given)"
	}
	return strings.Join(msg, " / ")
}

func (r *report) summary() {
	if len(r.skipped) == 0 {
		fmt.Fprintln(r.out, "== no test was skipped")
		return
	}
	sort.Strings(r.skipped)
	fmt.Fprintf(r.out, "== %d tests SKIPPED (each proves nothing; the reason is its message):\n", len(r.skipped))
	for _, s := range r.skipped {
		fmt.Fprintln(r.out, "   SKIPPED", s)
	}
}

func run(in io.Reader, out io.Writer) bool {
	r := &report{out: out, running: map[string][]string{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// Not test2json (a panic of the go command itself): show it.
			fmt.Fprintln(out, sc.Text())
			continue
		}
		r.add(e)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(out, "testreport:", err)
		r.failed = true
	}
	r.summary()
	return !r.failed
}

func main() {
	if !run(os.Stdin, os.Stdout) {
		os.Exit(1)
	}
}
