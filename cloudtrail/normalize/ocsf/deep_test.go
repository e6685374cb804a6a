package ocsf_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/msgpack"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/testutil"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/ocsf"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

// deepEvent puts a value nesting depth containers deep wherever OCSF could
// write nested data: request and response data (JSON text), the extra
// members of a resource (resources[].data), userIdentity parts and fields
// OCSF does not map (unmapped).
func deepEvent(kind string, depth int) string {
	v := testutil.DeepValue(kind, depth)
	return fmt.Sprintf(`{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventID":"deep","eventName":"Deep",`+
		`"eventSource":"s3.amazonaws.com","userIdentity":{"type":"IAMUser","sessionContext":%[1]s,"onBehalfOf":%[1]s},`+
		`"requestParameters":{"r":%[1]s},"responseElements":{"r":%[1]s},"additionalEventData":{"r":%[1]s},`+
		`"insightDetails":{"r":%[1]s},"resources":[{"ARN":"arn:a","type":"t","accountId":"1","extra":%[1]s}],"unknownDeep":%[1]s}`, v)
}

func TestDeepNesting(t *testing.T) {
	src := &record.Source{Bucket: "b", Key: "k", MessageID: "m", QueueURL: "q", Received: time.Unix(1700000000, 0)}
	for _, opts := range []ocsf.Options{{}, {Version: ocsf.Version150, Classes: ocsf.ClassesAPIActivity}} {
		enc, err := ocsf.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, depth := range []int{0, 20, 21, 22, 23, 24, 25, 40, 200, 600, 997} {
			for _, kind := range []string{"object", "array", "mixed"} {
				ev := deepEvent(kind, depth)
				out, err := enc.Append(nil, []byte(ev), src)
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
				// resources[0].data.extra is at level 6.
				res, _ := body["resources"].([]any)
				if len(res) != 1 {
					t.Fatalf("%s %d: resources = %.200v", kind, depth, body["resources"])
				}
				got, _ := testutil.Get(res[0].(map[string]any), "data.extra")
				got = testutil.Normalize(testutil.Unfold(got, 6))
				want := testutil.Normalize(orig["resources"].([]any)[0].(map[string]any)["extra"])
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s %d: resources[0].data.extra = %.200v, want %.200v", kind, depth, got, want)
				}
				// Request and response data are JSON text anyway.
				for path, field := range map[string]string{"api.request.data": "requestParameters", "api.response.data": "responseElements"} {
					s, _ := testutil.Get(body, path)
					var v any
					if err := json.Unmarshal([]byte(fmt.Sprint(s)), &v); err != nil || !reflect.DeepEqual(testutil.Normalize(v), testutil.Normalize(orig[field])) {
						t.Fatalf("%s %d: %s = %.200v (%v)", kind, depth, path, s, err)
					}
				}
				// unmapped is flat: objects become dotted keys, arrays
				// JSON text.
				um, _ := body["unmapped"].(map[string]any)
				for k, v := range um {
					if _, ok := v.(string); !ok {
						t.Fatalf("%s %d: unmapped[%.60q] is %T", kind, depth, k, v)
					}
				}
			}
		}
	}
}

// TestDeepParseLimit: nesting beyond jsontree's limit is a clean error.
// (In the plugin, decode's 512-level limit rejects such events first.)
func TestDeepParseLimit(t *testing.T) {
	enc, _ := ocsf.New(ocsf.Options{})
	for _, depth := range []int{1000, 5000} {
		ev := `{"eventTime":"2024-01-02T03:04:05Z","requestParameters":` + testutil.DeepValue("object", depth) + `}`
		if _, err := enc.Append(nil, []byte(ev), &record.Source{}); err == nil || !strings.Contains(err.Error(), "nesting deeper") {
			t.Errorf("depth %d: err = %v", depth, err)
		}
	}
}
