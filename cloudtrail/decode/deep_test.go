package decode

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/msgpack"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode"
)

func deepEvent(id string, depth int) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventID":%q,"eventName":"Deep","requestParameters":%s1%s}`,
		id, strings.Repeat(`{"n":`, depth), strings.Repeat("}", depth))
}

// TestDeepNestingKeepsBuffer is the unit form of the e2e test: events nested
// too deep for Fluent Bit as maps come out, within msgpack.MaxDepth, and so
// does the event after them; 600 levels stay a clean error.
func TestDeepNestingKeepsBuffer(t *testing.T) {
	encs := map[string]func() record.Encoder{"raw": func() record.Encoder { return &transcode.Raw{} }}
	for _, s := range []string{normalize.SchemaOCSF, normalize.SchemaECS} {
		encs[s] = func() record.Encoder {
			e, err := normalize.New(normalize.Config{Schema: s})
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
	}
	for name, enc := range encs {
		doc := fmt.Sprintf(`{"Records":[%s,%s,%s,%s,{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventID":"after","eventName":"After"}]}`,
			deepEvent("deep-23", 23), deepEvent("deep-40", 40), deepEvent("deep-200", 200), deepEvent("deep-509", 509))
		for _, in := range [][]byte{[]byte(doc), gz(t, []byte(doc))} {
			res := run(t, New(enc(), Limits{}), bytes.NewReader(in), 1<<20)
			if res.err != nil {
				t.Fatalf("%s: %v", name, res.err)
			}
			b, n := res.out, 0
			for len(b) > 0 {
				d, rest, err := msgpack.Depth(b)
				if err != nil || d > msgpack.MaxDepth {
					t.Fatalf("%s: entry %d nests %d levels (%v)", name, n, d, err)
				}
				b = rest
				n++
			}
			if n != 5 {
				t.Fatalf("%s: %d entries, want 5", name, n)
			}
		}
		for _, depth := range []int{600, 1000} {
			doc := `{"Records":[` + deepEvent("too-deep", depth) + `]}`
			res := run(t, New(enc(), Limits{}), strings.NewReader(doc), 1<<20)
			if res.err == nil || !strings.Contains(res.err.Error(), "nesting") {
				t.Errorf("%s %d: err = %v, want a nesting error", name, depth, res.err)
			}
		}
	}
}
