package main

import (
	"strings"
	"testing"
)

func TestReportNamesSkipsAndFailures(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"p","Test":"TestOK"}`,
		`{"Action":"output","Package":"p","Test":"TestOK","Output":"=== RUN   TestOK\n"}`,
		`{"Action":"output","Package":"p","Test":"TestOK","Output":"    chatter of a passing test\n"}`,
		`{"Action":"pass","Package":"p","Test":"TestOK"}`,
		`{"Action":"output","Package":"p","Test":"TestE2E/fluent-bit-3.2.10","Output":"=== RUN   TestE2E/fluent-bit-3.2.10\n"}`,
		`{"Action":"output","Package":"p","Test":"TestE2E/fluent-bit-3.2.10","Output":"    x_test.go:9: SKIPPED on fluent-bit-3.2.10: needs counters\n"}`,
		`{"Action":"output","Package":"p","Test":"TestE2E/fluent-bit-3.2.10","Output":"--- SKIP: TestE2E/fluent-bit-3.2.10 (0.00s)\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestE2E/fluent-bit-3.2.10"}`,
		`{"Action":"output","Package":"p","Test":"TestBad","Output":"    x_test.go:20: lost 3 events\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestBad"}`,
		`{"Action":"output","Package":"p","Output":"FAIL\tp\t1.0s\n"}`,
		`{"Action":"fail","Package":"p"}`,
	}, "\n")
	var out strings.Builder
	if run(strings.NewReader(in), &out) {
		t.Error("a failed test was reported as success")
	}
	got := out.String()
	for _, want := range []string{"lost 3 events", "FAIL\tp", "1 tests SKIPPED", "SKIPPED p TestE2E/fluent-bit-3.2.10: x_test.go:9: SKIPPED on fluent-bit-3.2.10: needs counters"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "chatter of a passing test") {
		t.Errorf("a passing test's output was printed:\n%s", got)
	}
}

func TestReportPassesCleanRun(t *testing.T) {
	in := `{"Action":"output","Package":"p","Output":"PASS\n"}` + "\n" + `{"Action":"output","Package":"p","Output":"ok  \tp\t0.1s\n"}` + "\n" + `{"Action":"pass","Package":"p"}`
	var out strings.Builder
	if !run(strings.NewReader(in), &out) || !strings.Contains(out.String(), "no test was skipped") || strings.Contains(out.String(), "PASS") {
		t.Errorf("clean run: %s", out.String())
	}
}

func TestReportShowsTestsCutShortByATimeout(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"output","Package":"p","Test":"TestSlow","Output":"    waiting for the queue\n"}`,
		`{"Action":"output","Package":"p","Output":"panic: test timed out after 20m0s\n"}`,
		`{"Action":"fail","Package":"p"}`,
	}, "\n")
	var out strings.Builder
	if run(strings.NewReader(in), &out) || !strings.Contains(out.String(), "waiting for the queue") {
		t.Errorf("timeout: %s", out.String())
	}
}
