package transcodetest

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestGenerate(t *testing.T) {
	c := Generate(1000)
	var doc struct{ Records []json.RawMessage }
	if err := json.Unmarshal(c.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Records) != 1000 {
		t.Fatalf("%d records", len(doc.Records))
	}
	mean := len(c.JSON) / 1000
	ratio := float64(len(c.JSON)) / float64(len(c.Gzip))
	t.Logf("mean event %d B, gzip ratio %.2f, %d B json", mean, ratio, len(c.JSON))
	if mean < 1400 || mean > 2100 || ratio < 4 || ratio > 9 {
		t.Errorf("corpus shape drifted: mean %d B, ratio %.2f", mean, ratio)
	}
	if !bytes.Equal(Generate(1000).JSON, c.JSON) {
		t.Error("Generate is not deterministic")
	}
}
