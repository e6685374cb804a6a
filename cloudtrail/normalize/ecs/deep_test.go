package ecs_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/msgpack"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/ecs"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/testutil"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

// deepEvent puts a value nesting depth containers deep in every body that
// ECS keeps as objects (the flattened copies), in a resource, in
// userIdentity and in a field ECS does not map.
func deepEvent(kind string, depth int) string {
	v := testutil.DeepValue(kind, depth)
	return fmt.Sprintf(`{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventID":"deep","eventName":"Deep",`+
		`"eventSource":"s3.amazonaws.com","userIdentity":{"type":"IAMUser","sessionContext":%[1]s},`+
		`"requestParameters":{"r":%[1]s},"responseElements":{"r":%[1]s},"additionalEventData":{"r":%[1]s},`+
		`"serviceEventDetails":{"r":%[1]s},"insightDetails":{"r":%[1]s},`+
		`"resources":[{"ARN":"arn:a","type":"t","accountId":"1","extra":%[1]s}],"unknownDeep":%[1]s}`, v)
}

func TestDeepNesting(t *testing.T) {
	src := &record.Source{Bucket: "b", Key: "k", MessageID: "m", QueueURL: "q", Received: time.Unix(1700000000, 0)}
	for _, depth := range []int{0, 20, 21, 22, 23, 24, 25, 40, 200, 600, 997} {
		for _, kind := range []string{"object", "array", "mixed"} {
			ev := deepEvent(kind, depth)
			out, err := ecs.New().Append(nil, []byte(ev), src)
			if err != nil {
				t.Fatalf("%s %d: %v", kind, depth, err)
			}
			d, _, err := msgpack.Depth(out)
			if err != nil || d > msgpack.MaxDepth {
				t.Fatalf("%s %d: entry nests %d levels (%v), limit %d", kind, depth, d, err, msgpack.MaxDepth)
			}
			_, body, err := testutil.Entry(out)
			if err != nil {
				t.Fatalf("%s %d: %v", kind, depth, err)
			}
			var orig map[string]any
			dec := json.NewDecoder(strings.NewReader(ev))
			dec.UseNumber()
			if err := dec.Decode(&orig); err != nil {
				t.Fatal(err)
			}
			// Every flattened body round-trips: maps down to
			// msgpack.MaxDepth, JSON text below.
			for key, field := range map[string]string{
				"request_parameters": "requestParameters", "response_elements": "responseElements",
				"additional_eventdata": "additionalEventData", "service_event_details": "serviceEventDetails",
				"insight_details": "insightDetails",
			} {
				got, ok := testutil.Get(body, "aws.cloudtrail.flattened."+key)
				if !ok {
					t.Fatalf("%s %d: flattened.%s missing", kind, depth, key)
				}
				// flattened.<key> is at level 6.
				got = testutil.Normalize(testutil.Unfold(got, 6))
				if want := testutil.Normalize(orig[field]); !reflect.DeepEqual(got, want) {
					t.Fatalf("%s %d: flattened.%s = %.200v, want %.200v", kind, depth, key, got, want)
				}
			}
			if s, _ := testutil.Get(body, "aws.cloudtrail.request_parameters"); !strings.HasPrefix(fmt.Sprint(s), "{r=") {
				t.Errorf("%s %d: request_parameters = %.100v", kind, depth, s)
			}
		}
	}
}

// TestDeepParseLimit: nesting beyond jsontree's limit is a clean error.
// (In the plugin, decode's 512-level limit rejects such events first.)
func TestDeepParseLimit(t *testing.T) {
	for _, depth := range []int{1000, 5000} {
		ev := `{"eventTime":"2024-01-02T03:04:05Z","requestParameters":` + testutil.DeepValue("object", depth) + `}`
		if _, err := ecs.New().Append(nil, []byte(ev), &record.Source{}); err == nil || !strings.Contains(err.Error(), "nesting deeper") {
			t.Errorf("depth %d: err = %v", depth, err)
		}
	}
}
