package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// deepEvent returns a CloudTrail event whose requestParameters nest depth
// levels deep.
func deepEvent(id string, depth int) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventID":%q,"eventName":"Deep","requestParameters":%s1%s}`,
		id, strings.Repeat(`{"n":`, depth), strings.Repeat("}", depth))
}

// TestDeepNestingInRealFluentBit checks that an event nested deeper than
// Fluent Bit's msgpack decoder accepts (32 levels) neither disappears nor
// takes the events after it in the same buffer with it.
func TestDeepNestingInRealFluentBit(t *testing.T) {
	testenv.FluentBit(t)
	srv := testenv.Emulator(t)
	ctx := context.Background()
	q, _ := srv.CreateQueue(ctx, "ct", nil)
	srv.CreateBucket(ctx, "trail", "ct")
	for _, schema := range []string{"raw", "ocsf", "ecs"} {
		t.Run(schema, func(t *testing.T) {
			doc := fmt.Sprintf(`{"Records":[%s,%s,{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventID":"after","eventName":"After"}]}`,
				deepEvent("deep-40", 40), deepEvent("deep-200", 200))
			srv.Put(ctx, "trail", "AWSLogs/1/CloudTrail/r/2024/01/01/"+schema+".json.gz", seed.Gzip([]byte(doc)))
			dir := t.TempDir()
			fb := start(t, srv, dir, "-e", testenv.Plugin(t), "-i", "cloudtrail", "-p", "queue_url="+q, "-p", "wait_time=1s",
				"-p", "schema="+schema, "-o", "file", "-p", "path="+dir, "-p", "file=out.jsonl", "-p", "format=plain")
			want := map[string]bool{"deep-40": true, "deep-200": true, "after": true}
			got := func() map[string]bool {
				m := map[string]bool{}
				for _, r := range records(t, filepath.Join(dir, "out.jsonl")) {
					s := fmt.Sprint(r)
					for id := range want {
						if strings.Contains(s, id) {
							m[id] = true
						}
					}
				}
				return m
			}
			testenv.WaitFor(t, 30*time.Second, "all three events", func() bool { return len(got()) == 3 })
			fb.stop()
		})
	}
}
