package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// fatalTB records the first Fatalf instead of stopping the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	if f.msg == "" {
		f.msg = fmt.Sprintf(format, args...)
	}
}

// A read that races the harness's write ends in part of a line: while the
// harness runs that tail is not read; once it has exited, it is an error.
func TestReadHarnessOutputLeavesALineBeingWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	type line struct {
		Record map[string]any `json:"record"`
	}
	if got := ReadHarnessOutput[line](t, path, false); len(got) != 0 {
		t.Fatalf("no file yet: %d lines", len(got))
	}
	cut := `{"record":{"eventID":"a"}}` + "\n" + `{"record":{"eventID":"b"}}` + "\n" + `{"record":{"even`
	if err := os.WriteFile(path, []byte(cut), 0o644); err != nil {
		t.Fatal(err)
	}
	got := ReadHarnessOutput[line](t, path, false)
	if len(got) != 2 || got[1].Record["eventID"] != "b" {
		t.Fatalf("running harness: want the 2 complete lines, got %v", got)
	}
	tb := &fatalTB{TB: t}
	ReadHarnessOutput[line](tb, path, true)
	if tb.msg == "" {
		t.Fatal("an unterminated line after the harness exited is not reported")
	}
	tb = &fatalTB{TB: t}
	if err := os.WriteFile(path, []byte(`{"record":{}} x`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ReadHarnessOutput[line](tb, path, false)
	if tb.msg == "" {
		t.Fatal("a complete line that is not one JSON value is not reported")
	}
}
