package deploy

import (
	"path/filepath"
	"testing"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/fbconf"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

// TestExamplesSetDocumentID requires every OpenSearch or Elasticsearch output
// of the examples to take the document _id from the record id, so that an
// event delivered twice is stored once.
func TestExamplesSetDocumentID(t *testing.T) {
	for k, v := range exampleEnv {
		t.Setenv(k, v)
	}
	found := 0
	for _, f := range examples(t) {
		c, err := fbconf.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range c.Sections {
			if s.Kind != "output" || (s.Get("name") != "opensearch" && s.Get("name") != "es") {
				continue
			}
			found++
			if got := s.Get("id_key"); got != record.IDAccessor {
				t.Errorf("%s: %s output has id_key %q, want %q", filepath.Base(f), s.Get("name"), got, record.IDAccessor)
			}
		}
	}
	if found == 0 {
		t.Fatal("no opensearch or es output in the examples")
	}
}
