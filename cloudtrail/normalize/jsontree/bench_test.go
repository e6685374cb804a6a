package jsontree_test

import (
	"testing"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/testutil"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/jsontree"
)

// BenchmarkParse parses one event per op, the real test-data mix compacted
// as CloudTrail writes it: the parsing share of BenchmarkOCSF and
// BenchmarkECS in the parent package, without the noise of the mapping.
func BenchmarkParse(b *testing.B) {
	events, total := testutil.BenchEvents(b)
	b.SetBytes(int64(total / len(events)))
	b.ReportAllocs()
	var t jsontree.Tree
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := t.ParsePrefix(events[i%len(events)], jsontree.MaxDepth); err != nil {
			b.Fatal(err)
		}
	}
}
