package fbconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClassic(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("FBCONF_QUEUE", "https://sqs.us-east-1.amazonaws.com/1/q")
	write(t, dir, "inputs.conf", `
[INPUT]
    Name      cloudtrail
    Alias     second
    queue_url ${FBCONF_QUEUE}2
    schema    ${SCHEMA}
`)
	p := write(t, dir, "fluent-bit.conf", `# comment
@SET SCHEMA=ocsf
[SERVICE]
    flush 1

[INPUT]
    name      dummy

[INPUT]
    name      cloudtrail
    queue_url ${FBCONF_QUEUE}
    role_arn  ${FBCONF_UNSET}
    tag       a b

@INCLUDE inputs.conf

[OUTPUT]
    name  stdout
    match *
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	in := c.Inputs("cloudtrail")
	if len(in) != 2 {
		t.Fatalf("%d cloudtrail inputs, want 2", len(in))
	}
	if in[0].Get("queue_url") != "https://sqs.us-east-1.amazonaws.com/1/q" || in[0].Get("tag") != "a b" || in[0].Line != 9 {
		t.Errorf("first input: %+v", in[0])
	}
	if in[1].Get("QUEUE_URL") != "https://sqs.us-east-1.amazonaws.com/1/q2" || in[1].Get("schema") != "ocsf" {
		t.Errorf("included input: %+v", in[1])
	}
	if v, ok := in[0].Lookup("role_arn"); !ok || v != "" || len(c.Missing) != 1 || c.Missing[0] != "FBCONF_UNSET" {
		t.Errorf("unset variable: %q %v, missing %v", v, ok, c.Missing)
	}
	for which, want := range map[string]int{"0": 0, "1": 1, "cloudtrail.1": 1, "second": 1} {
		_, i, err := Select(in, "cloudtrail", which)
		if err != nil || i != want {
			t.Errorf("Select(%q) = %d, %v; want %d", which, i, err, want)
		}
	}
	if _, _, err := Select(in, "cloudtrail", ""); err == nil || !strings.Contains(err.Error(), "alias second") {
		t.Errorf("two inputs without -input: %v", err)
	}
	if _, _, err := Select(in, "cloudtrail", "7"); err == nil {
		t.Error("index out of range accepted")
	}
	if _, _, err := Select(nil, "cloudtrail", ""); err == nil {
		t.Error("no input accepted")
	}
}

func TestClassicErrors(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"outside.conf":  "queue_url x\n",
		"header.conf":   "[INPUT\n    name cloudtrail\n",
		"set.conf":      "@SET novalue\n",
		"include.conf":  "@INCLUDE missing.conf\n",
		"loop.conf":     "@INCLUDE loop.conf\n",
		"bad.yaml":      "pipeline: [\n",
		"notlist.yaml":  "pipeline:\n  inputs:\n    name: cloudtrail\n",
		"scalar.yaml":   "just text\n",
		"badentry.yaml": "pipeline:\n  inputs:\n    - cloudtrail\n",
	} {
		if _, err := Load(write(t, dir, name, text)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestYAML(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("FBCONF_QUEUE", "https://sqs.us-east-1.amazonaws.com/1/q")
	write(t, dir, "more.yaml", `pipeline:
  inputs:
    - name: cloudtrail
      alias: from-include
      queue_url: ${FBCONF_QUEUE}
`)
	p := write(t, dir, "fluent-bit.yaml", `env:
  WORKERS: 8
includes:
  - more.yaml
service:
  flush: 1
plugins:
  - /x/in_cloudtrail.so
pipeline:
  inputs:
    - name: cloudtrail
      queue_url: ${FBCONF_QUEUE}
      workers: ${WORKERS}
      check_on_start: on
      processors:
        logs:
          - name: content_modifier
  outputs:
    - name: stdout
      match: '*'
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	in := c.Inputs("cloudtrail")
	if len(in) != 2 || in[0].Get("alias") != "from-include" {
		t.Fatalf("inputs: %+v", in)
	}
	s := in[1]
	if s.Get("workers") != "8" || s.Get("check_on_start") != "on" || s.Get("queue_url") != "https://sqs.us-east-1.amazonaws.com/1/q" {
		t.Errorf("input: %+v", s)
	}
	if _, ok := s.Lookup("processors"); ok {
		t.Error("processors (a nested setting) read as a property")
	}
	var plugins, outputs int
	for _, sec := range c.Sections {
		switch sec.Kind {
		case "plugins":
			plugins++
			if sec.Get("path") != "/x/in_cloudtrail.so" {
				t.Errorf("plugins: %+v", sec)
			}
		case "output":
			outputs++
		}
	}
	if plugins != 1 || outputs != 1 {
		t.Errorf("%d plugins, %d outputs", plugins, outputs)
	}
	s.Set("workers", "2")
	s.Set("new", "v")
	if s.Get("workers") != "2" || s.Get("new") != "v" || !strings.HasSuffix(s.Where(), "fluent-bit.yaml:11") {
		t.Errorf("Set/Where: %+v %s", s.Props, s.Where())
	}
}
