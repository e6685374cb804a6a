package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/fbconf"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// exampleEnv is what a user sets for the examples under conf/.
var exampleEnv = map[string]string{
	"CLOUDTRAIL_QUEUE_URL":          "https://sqs.us-east-1.amazonaws.com/123456789012/cloudtrail",
	"CLOUDTRAIL_BACKFILL_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/cloudtrail-backfill",
	"CLOUDTRAIL_ROLE_ARN":           "arn:aws:iam::123456789012:role/cloudtrail-fluentbit-reader",
	"CLOUDTRAIL_EXTERNAL_ID":        "example-external-id",
	"CLOUDTRAIL_SCHEMA":             "raw",
	"FORWARD_HOST":                  "aggregator.example.com", "FORWARD_PORT": "24224", "FORWARD_SHARED_KEY": "k",
	"SPLUNK_HOST": "splunk.example.com", "SPLUNK_HEC_TOKEN": "t", "SPLUNK_INDEX": "aws",
	"OPENSEARCH_HOST": "search.example.com", "OPENSEARCH_USER": "u", "OPENSEARCH_PASSWORD": "p",
	"HTTP_HOST": "collector.example.com", "HTTP_URI": "/ingest",
}

func examples(t *testing.T) []string {
	var out []string
	for _, pat := range []string{"*.conf", "*.yaml"} {
		m, _ := filepath.Glob(root("conf", pat))
		for _, f := range m {
			if filepath.Base(f) != "plugins.conf" {
				out = append(out, f)
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("only %d examples under conf/", len(out))
	}
	return out
}

func knownKey(k string) bool {
	for _, c := range config.Keys {
		if strings.EqualFold(c.Name, k) {
			return true
		}
	}
	return slices.ContainsFunc(fbconf.InputKeys, func(x string) bool { return strings.EqualFold(x, k) })
}

// checkInput requires exactly one cloudtrail input (two, live and
// backfill, in the backfill example; two on one queue in the high-volume
// example) whose keys the plugin or Fluent Bit
// reads and whose values the plugin accepts.
func checkInput(t *testing.T, name string, c *fbconf.Config) *fbconf.Section {
	t.Helper()
	in, want := c.Inputs("cloudtrail"), 1
	switch {
	case strings.HasPrefix(name, "backfill."):
		want = 2
	case strings.HasPrefix(name, "high-volume."):
		want = 2
	}
	if len(in) != want {
		t.Errorf("%s: %d cloudtrail inputs, want %d", name, len(in), want)
		return nil
	}
	for _, s := range in {
		for _, p := range s.Props {
			if !knownKey(p.Key) {
				t.Errorf("%s: unknown key %q in the cloudtrail input", name, p.Key)
			}
		}
		if _, err := config.Parse(s.Get); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	return in[0]
}

func props(s *fbconf.Section) map[string]string {
	m := map[string]string{}
	if s != nil {
		for _, p := range s.Props {
			m[strings.ToLower(p.Key)] = p.Value
		}
	}
	return m
}

func TestExamplesParse(t *testing.T) {
	for k, v := range exampleEnv {
		t.Setenv(k, v)
	}
	loaded := map[string]*fbconf.Config{}
	for _, f := range examples(t) {
		c, err := fbconf.Load(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if len(c.Missing) > 0 {
			t.Errorf("%s: uses variables the test does not set: %v", filepath.Base(f), c.Missing)
		}
		checkInput(t, filepath.Base(f), c)
		loaded[filepath.Base(f)] = c
	}
	// Every classic example has a YAML twin with the same input and outputs.
	for name, c := range loaded {
		if !strings.HasSuffix(name, ".conf") {
			continue
		}
		twin := loaded[strings.TrimSuffix(name, ".conf")+".yaml"]
		if twin == nil {
			t.Errorf("%s has no YAML twin", name)
			continue
		}
		sections := func(c *fbconf.Config, kind string) []map[string]string {
			var out []map[string]string
			for _, s := range c.Sections {
				if s.Kind == kind {
					m := props(s)
					delete(m, "plugins_file")
					out = append(out, m)
				}
			}
			return out
		}
		for _, kind := range []string{"input", "output", "service"} {
			a, b := sections(c, kind), sections(twin, kind)
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if string(ja) != string(jb) {
				t.Errorf("%s and its YAML twin differ in %s:\n%s\n%s", name, kind, ja, jb)
			}
		}
	}
}

// TestExamplesDryRun loads every example into a real fluent-bit with the
// plugin (`fluent-bit --dry-run`), which checks the sections and every
// output's properties. Examples using an output this fluent-bit was built
// without are said so and skipped.
func TestExamplesDryRun(t *testing.T) {
	fb := testenv.FluentBit(t)
	so := testenv.Plugin(t)
	out, err := exec.Command(fb, "-J").Output()
	if err != nil {
		t.Fatalf("fluent-bit -J: %v", err)
	}
	var schema struct {
		Outputs []struct{ Name string } `json:"outputs"`
	}
	if err := json.Unmarshal(out, &schema); err != nil {
		t.Fatalf("fluent-bit -J: %v", err)
	}
	have := map[string]bool{}
	for _, o := range schema.Outputs {
		have[o.Name] = true
	}
	for k, v := range exampleEnv {
		t.Setenv(k, v)
	}
	ran := 0
	for _, f := range examples(t) {
		name := filepath.Base(f)
		c, err := fbconf.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		missing := ""
		for _, s := range c.Sections {
			if s.Kind == "output" && !have[s.Get("name")] {
				missing = s.Get("name")
			}
		}
		if missing != "" {
			t.Logf("SKIPPED dry run of %s: this fluent-bit has no %s output (the official image has it)", name, missing)
			continue
		}
		dir := t.TempDir()
		b, _ := os.ReadFile(f)
		text := strings.ReplaceAll(string(b), "/fluent-bit/plugins/in_cloudtrail.so", so)
		text = strings.ReplaceAll(text, "/var/lib/fluent-bit/storage", filepath.Join(dir, "storage"))
		text = strings.ReplaceAll(text, "/var/log/cloudtrail", dir)
		os.WriteFile(filepath.Join(dir, "plugins.conf"), []byte("[PLUGINS]\n    path "+so+"\n"), 0o644)
		os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644)
		cmd := exec.Command(fb, "--dry-run", "-c", name)
		cmd.Dir = dir
		res, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(res), "configuration test is successful") {
			t.Errorf("fluent-bit --dry-run -c %s: %v\n%s", name, err, res)
		}
		ran++
	}
	t.Logf("%d examples passed fluent-bit --dry-run", ran)
}
