package config

import (
	"os"
	"regexp"
	"testing"
)

// TestREADMEListsEveryKey keeps the README's option table true: every key
// the plugin reads is documented with its default, and nothing else is.
func TestREADMEListsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| `([a-z_0-9]+)` \\| ([^|]*) \\|").FindAllStringSubmatch(string(b), -1)
	doc := map[string]string{}
	for _, r := range rows {
		doc[r[1]] = r[2]
	}
	for _, k := range Keys {
		d, ok := doc[k.Name]
		if !ok {
			t.Errorf("README does not document key %s", k.Name)
			continue
		}
		want := k.Default
		if want == "" {
			want = "—"
		}
		if d != want {
			t.Errorf("README gives %s default %q, code has %q", k.Name, d, want)
		}
		delete(doc, k.Name)
	}
	for k := range doc {
		if k != "make" { // the development table
			t.Errorf("README documents unknown key %s", k)
		}
	}
}
