package schema

import (
	"testing"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/msgpack"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

const event = `{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","eventID":"e-1","recipientAccountId":"123456789012","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/a","accountId":"123456789012","userName":"a"}}`

func TestEverySchemaEncodes(t *testing.T) {
	for _, kv := range [][2]string{{"raw", ""}, {"ocsf", "1.1.0"}, {"ocsf", "1.5.0"}, {"ecs", ""}} {
		cfg, err := config.Parse(func(k string) string {
			switch k {
			case "queue_url":
				return "https://sqs.us-east-1.amazonaws.com/123456789012/q"
			case "schema":
				return kv[0]
			case "ocsf_version":
				return kv[1]
			}
			return ""
		})
		if err != nil {
			t.Fatal(err)
		}
		f, err := Factory(cfg)
		if err != nil {
			t.Fatalf("%v: %v", kv, err)
		}
		enc, _ := f()
		out, err := enc.Append(nil, []byte(event), &record.Source{Bucket: "b", Key: "k", MessageID: "m"})
		if err != nil {
			t.Fatalf("%v: %v", kv, err)
		}
		es, err := msgpack.DecodeEntries(out)
		if err != nil || len(es) != 1 {
			t.Fatalf("%v: %v", kv, err)
		}
		if es[0].Time.Unix() != 1704164645 {
			t.Errorf("%v: time %v is not eventTime", kv, es[0].Time)
		}
		src, _ := es[0].Body[record.SourceKey].(map[string]any)
		if src["bucket"] != "b" || src["key"] != "k" || src["sqs_message_id"] != "m" {
			t.Errorf("%v: source metadata missing: %v", kv, es[0].Body)
		}
	}
}
