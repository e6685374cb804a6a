package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The bodies below follow the shapes of AWS's documented samples (S3 event
// message structure, EventBridge event message structure, the CloudTrail SNS
// notice, the SNS-to-SQS envelope) and of what kumo emits; values are made up.

const (
	bucket = "ct-logs-111122223333"
	// plainKey exercises every character class that form encoding touches.
	plainKey = "AWSLogs/123/CloudTrail/us-east-1/2024/01/02/a b+c%d=e ü日本.json.gz"
	// awsKey is plainKey as real S3 puts it in a notification: form
	// encoding, but '/' left alone.
	awsKey = "AWSLogs/123/CloudTrail/us-east-1/2024/01/02/a+b%2Bc%25d%3De+%C3%BC%E6%97%A5%E6%9C%AC.json.gz"
	// kumoKey is plainKey as kumo puts it: url.QueryEscape, '/' included.
	kumoKey    = "AWSLogs%2F123%2FCloudTrail%2Fus-east-1%2F2024%2F01%2F02%2Fa+b%2Bc%25d%3De+%C3%BC%E6%97%A5%E6%9C%AC.json.gz"
	logKey     = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T0000Z_abcdEFGH1234.json.gz"
	logKey2    = "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/01/02/111122223333_CloudTrail_eu-west-1_20240102T0005Z_ijklMNOP5678.json.gz"
	digestKey  = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/01/02/111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20240102T000000Z.json.gz"
	folderKey  = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/"
	topicARN   = "arn:aws:sns:us-east-1:111122223333:cloudtrail-notify"
	etag       = "0123456789abcdef0123456789abcdef"
	versionID  = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
	sampleSize = 1024
)

// s3Record builds one record of an S3 event notification, in AWS's shape.
// key must already be encoded as the sender would encode it.
func s3Record(eventName, bucket, key string) map[string]any {
	return map[string]any{
		"eventVersion": "2.1",
		"eventSource":  "aws:s3",
		"awsRegion":    "us-east-1",
		"eventTime":    "2024-01-02T00:05:00.000Z",
		"eventName":    eventName,
		"userIdentity": map[string]any{"principalId": "AWS:AROAEXAMPLE:cloudtrail"},
		"requestParameters": map[string]any{
			"sourceIPAddress": "203.0.113.7",
		},
		"responseElements": map[string]any{
			"x-amz-request-id": "EXAMPLE123456789",
			"x-amz-id-2":       "EXAMPLE123/5678abcdefghijklambdaisawesome/mnopqrstuvwxyzABCDEFGH",
		},
		"s3": map[string]any{
			"s3SchemaVersion": "1.0",
			"configurationId": "cloudtrail-to-sqs",
			"bucket": map[string]any{
				"name":          bucket,
				"ownerIdentity": map[string]any{"principalId": "A3NL1KOZZKExample"},
				"arn":           "arn:aws:s3:::" + bucket,
			},
			"object": map[string]any{
				"key":       key,
				"size":      sampleSize,
				"eTag":      etag,
				"versionId": versionID,
				"sequencer": "0055AED6DCD90281E5",
			},
		},
	}
}

func s3Body(records ...map[string]any) string {
	return mustJSON(map[string]any{"Records": records})
}

// snsEnvelope wraps message the way SNS delivers it to an SQS subscriber
// without raw message delivery.
func snsEnvelope(message string) string {
	return mustJSON(map[string]any{
		"Type":             "Notification",
		"MessageId":        "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
		"TopicArn":         topicARN,
		"Subject":          "Amazon S3 Notification",
		"Message":          message,
		"Timestamp":        "2024-01-02T00:05:01.000Z",
		"SignatureVersion": "1",
		"Signature":        "EXAMPLEpH+..",
		"SigningCertURL":   "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
		"UnsubscribeURL":   "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + topicARN + ":c9135db0",
	})
}

func eventBridgeBody(detailType, bucket, key string) string {
	return mustJSON(map[string]any{
		"version":     "0",
		"id":          "17793124-05d4-b198-2fde-7ededc63b103",
		"detail-type": detailType,
		"source":      "aws.s3",
		"account":     "111122223333",
		"time":        "2024-01-02T00:05:00Z",
		"region":      "us-east-1",
		"resources":   []string{"arn:aws:s3:::" + bucket},
		"detail": map[string]any{
			"version": "0",
			"bucket":  map[string]any{"name": bucket},
			"object": map[string]any{
				"key":        key,
				"size":       sampleSize,
				"etag":       etag,
				"version-id": versionID,
				"sequencer":  "617f08299329d189",
			},
			"request-id":        "N4N7GDK58NMKJ12R",
			"requester":         "cloudtrail.amazonaws.com",
			"source-ip-address": "203.0.113.7",
			"reason":            "PutObject",
		},
	})
}

func cloudTrailBody(bucket string, keys ...string) string {
	return mustJSON(map[string]any{"s3Bucket": bucket, "s3ObjectKey": keys})
}

const testEventBody = `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-01-02T00:00:00.000Z","Bucket":"` + bucket + `","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}`

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// full is the Object a sample record yields for key.
func full(key string) Object {
	return Object{Bucket: bucket, Key: key, Size: sampleSize, ETag: etag, VersionID: versionID}
}

func TestEncodedKeyFixtures(t *testing.T) {
	// The fixtures are hand-written; check them against the encoders they
	// stand for so a typo cannot make the decoding tests vacuous.
	if got := strings.ReplaceAll(url.QueryEscape(plainKey), "%2F", "/"); got != awsKey {
		t.Errorf("awsKey fixture = %q, S3-style encoding gives %q", awsKey, got)
	}
	if got := url.QueryEscape(plainKey); got != kumoKey {
		t.Errorf("kumoKey fixture = %q, kumo-style encoding gives %q", kumoKey, got)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Result
	}{
		{
			name: "s3 put",
			body: s3Body(s3Record("ObjectCreated:Put", bucket, logKey)),
			want: Result{Format: "s3", Objects: []Object{full(logKey)}},
		},
		{
			name: "s3 key encoded by real S3",
			body: s3Body(s3Record("ObjectCreated:Put", bucket, awsKey)),
			want: Result{Format: "s3", Objects: []Object{full(plainKey)}},
		},
		{
			name: "s3 key encoded by kumo",
			body: s3Body(s3Record("s3:ObjectCreated:Put", bucket, kumoKey)),
			want: Result{Format: "s3", Objects: []Object{full(plainKey)}},
		},
		{
			name: "kumo exact shape",
			body: `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2024-01-02T00:05:00Z","eventName":"s3:ObjectCreated:Put","s3":{"s3SchemaVersion":"1.0","configurationId":"","bucket":{"name":"b","arn":"arn:aws:s3:::b"},"object":{"key":"AWSLogs%2Fx.json.gz","size":42,"eTag":"abc"}},"userIdentity":{"principalId":"EXAMPLE"}}]}`,
			want: Result{Format: "s3", Objects: []Object{{Bucket: "b", Key: "AWSLogs/x.json.gz", Size: 42, ETag: "abc"}}},
		},
		{
			name: "s3 several records, mixed events",
			body: s3Body(
				s3Record("ObjectCreated:Put", bucket, logKey),
				s3Record("ObjectRemoved:Delete", bucket, "AWSLogs/old+file.json.gz"),
				s3Record("ObjectCreated:CompleteMultipartUpload", bucket, logKey2),
				s3Record("ObjectCreated:Put", bucket, digestKey),
				s3Record("ObjectCreated:Copy", bucket, awsKey),
				s3Record("ObjectCreated:Put", bucket, folderKey),
				s3Record("LifecycleExpiration:Delete", bucket, logKey),
				s3Record("ObjectRestore:Completed", bucket, logKey2),
			),
			want: Result{
				Format:  "s3",
				Objects: []Object{full(logKey), full(logKey2), full(plainKey)},
				Ignored: []Ignored{
					{Reason: "event ObjectRemoved:Delete", Bucket: bucket, Key: "AWSLogs/old file.json.gz"},
					{Reason: "digest file", Bucket: bucket, Key: digestKey},
					{Reason: "folder marker", Bucket: bucket, Key: folderKey},
					{Reason: "event LifecycleExpiration:Delete", Bucket: bucket, Key: logKey},
					{Reason: "event ObjectRestore:Completed", Bucket: bucket, Key: logKey2},
				},
			},
		},
		{
			name: "s3 delete only",
			body: s3Body(s3Record("ObjectRemoved:DeleteMarkerCreated", bucket, logKey)),
			want: Result{Format: "s3", Ignored: []Ignored{{Reason: "event ObjectRemoved:DeleteMarkerCreated", Bucket: bucket, Key: logKey}}},
		},
		{
			name: "s3 delete with undecodable key is still ignored",
			body: s3Body(s3Record("ObjectRemoved:Delete", bucket, "bad%zz")),
			want: Result{Format: "s3", Ignored: []Ignored{{Reason: "event ObjectRemoved:Delete", Bucket: bucket, Key: "bad%zz"}}},
		},
		{
			name: "s3 digest file",
			body: s3Body(s3Record("ObjectCreated:Put", bucket, digestKey)),
			want: Result{Format: "s3", Ignored: []Ignored{{Reason: "digest file", Bucket: bucket, Key: digestKey}}},
		},
		{
			name: "s3 optional fields absent or null",
			body: `{"Records":[{"eventName":"ObjectCreated:Post","s3":{"bucket":{"name":"b"},"object":{"key":"k","size":null,"eTag":null,"versionId":null}}},` +
				`{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k2"}}}]}`,
			want: Result{Format: "s3", Objects: []Object{{Bucket: "b", Key: "k"}, {Bucket: "b", Key: "k2"}}},
		},
		{
			name: "s3 zero size and huge size",
			body: `{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k","size":0}}},` +
				`{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k2","size":9223372036854775807}}}]}`,
			want: Result{Format: "s3", Objects: []Object{{Bucket: "b", Key: "k"}, {Bucket: "b", Key: "k2", Size: 9223372036854775807}}},
		},
		{
			name: "sns-wrapped s3",
			body: snsEnvelope(s3Body(s3Record("ObjectCreated:Put", bucket, awsKey), s3Record("ObjectCreated:Put", bucket, logKey))),
			want: Result{Format: "sns+s3", Objects: []Object{full(plainKey), full(logKey)}},
		},
		{
			name: "sns-wrapped s3 test event",
			body: snsEnvelope(testEventBody),
			want: Result{Format: "sns+s3-test-event", Ignored: []Ignored{{Reason: "s3:TestEvent", Bucket: bucket}}},
		},
		{
			name: "s3 test event",
			body: testEventBody,
			want: Result{Format: "s3-test-event", Ignored: []Ignored{{Reason: "s3:TestEvent", Bucket: bucket}}},
		},
		{
			name: "sns subscription confirmation",
			body: `{"Type":"SubscriptionConfirmation","MessageId":"165545c9","Token":"2336412f37","TopicArn":"` + topicARN + `","Message":"You have chosen to subscribe to the topic ` + topicARN + `.","SubscribeURL":"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription","Timestamp":"2024-01-02T00:00:00.000Z"}`,
			want: Result{Format: "sns-control", Ignored: []Ignored{{Reason: "SNS SubscriptionConfirmation"}}},
		},
		{
			name: "cloudtrail notice raw",
			body: cloudTrailBody(bucket, logKey, logKey2),
			want: Result{Format: "cloudtrail", Objects: []Object{{Bucket: bucket, Key: logKey}, {Bucket: bucket, Key: logKey2}}},
		},
		{
			name: "cloudtrail notice keys are not decoded",
			body: cloudTrailBody(bucket, plainKey, "AWSLogs/a+b%2Bc.json.gz"),
			want: Result{Format: "cloudtrail", Objects: []Object{{Bucket: bucket, Key: plainKey}, {Bucket: bucket, Key: "AWSLogs/a+b%2Bc.json.gz"}}},
		},
		{
			name: "sns-wrapped cloudtrail notice with digest and folder",
			body: snsEnvelope(cloudTrailBody(bucket, logKey, digestKey, folderKey, logKey2)),
			want: Result{
				Format:  "sns+cloudtrail",
				Objects: []Object{{Bucket: bucket, Key: logKey}, {Bucket: bucket, Key: logKey2}},
				Ignored: []Ignored{
					{Reason: "digest file", Bucket: bucket, Key: digestKey},
					{Reason: "folder marker", Bucket: bucket, Key: folderKey},
				},
			},
		},
		{
			name: "eventbridge object created keeps key verbatim",
			body: eventBridgeBody("Object Created", bucket, plainKey),
			want: Result{Format: "eventbridge", Objects: []Object{full(plainKey)}},
		},
		{
			name: "eventbridge encoded-looking key is not decoded",
			body: eventBridgeBody("Object Created", bucket, "AWSLogs/a+b%2Bc.json.gz"),
			want: Result{Format: "eventbridge", Objects: []Object{full("AWSLogs/a+b%2Bc.json.gz")}},
		},
		{
			name: "eventbridge object deleted",
			body: eventBridgeBody("Object Deleted", bucket, logKey),
			want: Result{Format: "eventbridge", Ignored: []Ignored{{Reason: "event Object Deleted", Bucket: bucket, Key: logKey}}},
		},
		{
			name: "eventbridge digest",
			body: eventBridgeBody("Object Created", bucket, digestKey),
			want: Result{Format: "eventbridge", Ignored: []Ignored{{Reason: "digest file", Bucket: bucket, Key: digestKey}}},
		},
		{
			name: "sns-wrapped eventbridge",
			body: snsEnvelope(eventBridgeBody("Object Created", bucket, logKey)),
			want: Result{Format: "sns+eventbridge", Objects: []Object{full(logKey)}},
		},
		{
			name: "kumo eventbridge shape",
			body: `{"version":"0","id":"x","detail-type":"Object Created","source":"aws.s3","account":"000000000000","time":"2024-01-02T00:00:00Z","region":"us-east-1","resources":[],"detail":{"version":"0","bucket":{"name":"b"},"object":{"key":"AWSLogs/a b.json.gz","size":7,"etag":"\"abc\""},"request-id":"r"}}`,
			want: Result{Format: "eventbridge", Objects: []Object{{Bucket: "b", Key: "AWSLogs/a b.json.gz", Size: 7, ETag: `"abc"`}}},
		},
		{
			name: "whitespace and unknown fields are fine",
			body: " \n{ \"Records\" : [ {\"eventName\":\"ObjectCreated:Put\",\"extra\":[1,{}],\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"k\"}}} ] }\n",
			want: Result{Format: "s3", Objects: []Object{{Bucket: "b", Key: "k"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse:\n got  %+v\n want %+v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	rec := func(object string) string {
		return `{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":` + object + `}}]}`
	}
	tests := []struct {
		name, body, want string
	}{
		{"empty", ``, "invalid JSON"},
		{"whitespace", " \n", "invalid JSON"},
		{"not json", `hello`, "invalid JSON"},
		{"truncated", s3Body(s3Record("ObjectCreated:Put", bucket, logKey))[:100], "invalid JSON"},
		{"trailing garbage", `{"s3Bucket":"b","s3ObjectKey":["k"]} x`, "invalid JSON"},
		{"two objects", `{"s3Bucket":"b","s3ObjectKey":["k"]}{}`, "invalid JSON"},
		{"array", `[{"s3Bucket":"b","s3ObjectKey":["k"]}]`, "want a JSON object, got array"},
		{"string", `"x"`, "want a JSON object, got string"},
		{"number", `42`, "want a JSON object, got number"},
		{"null", `null`, "want a JSON object, got null"},
		{"empty object", `{}`, "unknown shape (fields none)"},
		{"unknown shape", `{"foo":1,"bar":2}`, `unknown shape (fields "bar", "foo")`},
		{"case matters", `{"records":[]}`, "unknown shape"},
		{"Records not array", `{"Records":{"eventName":"ObjectCreated:Put"}}`, "Records: want an array, got object"},
		{"Records null", `{"Records":null}`, "Records: want an array, got null"},
		{"Records string", `{"Records":"[]"}`, "Records: want an array, got string"},
		{"Records empty", `{"Records":[]}`, "Records is empty"},
		{"record not object", `{"Records":[1]}`, ".Records[0]: want an object, got number"},
		{"record null", `{"Records":[null]}`, ".Records[0]: want an object, got null"},
		{"missing eventName", `{"Records":[{"s3":{}}]}`, ".Records[0]: missing eventName"},
		{"eventName number", `{"Records":[{"eventName":1}]}`, "eventName: want a string, got number"},
		{"missing s3", `{"Records":[{"eventName":"ObjectCreated:Put","eventSource":"aws:sqs"}]}`, ".Records[0]: missing s3"},
		{"s3 not object", `{"Records":[{"eventName":"ObjectCreated:Put","s3":[]}]}`, ".Records[0].s3: want an object, got array"},
		{"missing bucket", `{"Records":[{"eventName":"ObjectCreated:Put","s3":{"object":{"key":"k"}}}]}`, ".Records[0].s3: missing bucket"},
		{"missing object", `{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"}}}]}`, ".Records[0].s3: missing object"},
		{"bucket name missing", `{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{},"object":{"key":"k"}}}]}`, "missing bucket name"},
		{"bucket name number", `{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":7},"object":{"key":"k"}}}]}`, "bucket.name: want a string, got number"},
		{"key missing", rec(`{"size":1}`), ".Records[0].s3.object: missing key"},
		{"key empty", rec(`{"key":""}`), "missing key"},
		{"key number", rec(`{"key":12}`), "object.key: want a string, got number"},
		{"key bad escape", rec(`{"key":"a%zzb"}`), `key: not form-encoded: invalid URL escape "%zz"`},
		{"key truncated escape", rec(`{"key":"a%2"}`), "not form-encoded"},
		{"key invalid utf8", rec(`{"key":"a%FFb"}`), "key is not valid UTF-8"},
		{"key too long", rec(`{"key":"` + strings.Repeat("k", 1025) + `"}`), "key longer than 1024 bytes"},
		{"bucket too long", `{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"` + strings.Repeat("b", 256) + `"},"object":{"key":"k"}}}]}`, "bucket name longer than 255"},
		{"size string", rec(`{"key":"k","size":"1024"}`), "size: want a number, got string"},
		{"size negative", rec(`{"key":"k","size":-1}`), "size: want a non-negative integer, got -1"},
		{"size float", rec(`{"key":"k","size":1.5}`), "want a non-negative integer, got 1.5"},
		{"size overflow", rec(`{"key":"k","size":1e400}`), "want a non-negative integer"},
		{"eTag number", rec(`{"key":"k","eTag":5}`), "eTag: want a string, got number"},
		{"versionId object", rec(`{"key":"k","versionId":{}}`), "versionId: want a string, got object"},
		{"second record bad", s3Body(s3Record("ObjectCreated:Put", bucket, logKey), s3Record("ObjectCreated:Put", "", logKey)), ".Records[1].s3.object: missing bucket name"},

		{"sns Message not string", `{"Type":"Notification","TopicArn":"t","Message":{"Records":[]}}`, "SNS envelope.Message: want a string, got object"},
		{"sns Message missing", `{"Type":"Notification","TopicArn":"t"}`, "SNS envelope: missing Message"},
		{"sns Message not json", snsEnvelope("hello"), "SNS Message: invalid JSON"},
		{"sns Message empty", snsEnvelope(""), "SNS Message: invalid JSON"},
		{"sns Message array", snsEnvelope("[]"), "SNS Message: want a JSON object, got array"},
		{"sns Message unknown", snsEnvelope(`{"hello":"world"}`), `SNS Message: unknown shape (fields "hello")`},
		{"sns nested", snsEnvelope(snsEnvelope(cloudTrailBody(bucket, logKey))), "nested SNS envelope"},
		{"sns Type number", `{"Type":1,"Message":"{}"}`, "SNS envelope.Type: want a string, got number"},
		{"sns unknown Type", `{"Type":"Bogus","Message":"{}"}`, `unknown Type "Bogus"`},
		{"sns inner bad", snsEnvelope(`{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"%"}}}]}`), "SNS Message.Records[0].s3.object.key: not form-encoded"},

		{"cloudtrail keys not array", `{"s3Bucket":"b","s3ObjectKey":"k"}`, "s3ObjectKey: want an array, got string"},
		{"cloudtrail key not string", `{"s3Bucket":"b","s3ObjectKey":["k",3]}`, ".s3ObjectKey[1]: want a string, got number"},
		{"cloudtrail key null", `{"s3Bucket":"b","s3ObjectKey":[null]}`, ".s3ObjectKey[0]: missing key"},
		{"cloudtrail key empty", `{"s3Bucket":"b","s3ObjectKey":[""]}`, ".s3ObjectKey[0]: missing key"},
		{"cloudtrail keys empty", `{"s3Bucket":"b","s3ObjectKey":[]}`, "s3ObjectKey is empty"},
		{"cloudtrail bucket missing", `{"s3ObjectKey":["k"]}`, ".s3ObjectKey[0]: missing bucket name"},
		{"cloudtrail bucket array", `{"s3Bucket":["b"],"s3ObjectKey":["k"]}`, "s3Bucket: want a string, got array"},
		{"cloudtrail key invalid utf8", "{\"s3Bucket\":\"b\",\"s3ObjectKey\":[\"\\udc00\"]}", ""}, // decoder substitutes U+FFFD: valid

		{"eventbridge wrong source", `{"detail-type":"Object Created","source":"aws.ec2","detail":{}}`, `source "aws.ec2", want "aws.s3"`},
		{"eventbridge detail missing", `{"detail-type":"Object Created","source":"aws.s3"}`, "missing detail"},
		{"eventbridge detail string", `{"detail-type":"Object Created","source":"aws.s3","detail":"{}"}`, "detail: want an object, got string"},
		{"eventbridge key missing", `{"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{}}}`, "detail.object: missing key"},
		{"eventbridge detail-type number", `{"detail-type":5,"source":"aws.s3"}`, "detail-type: want a string, got number"},
		{"eventbridge size string", `{"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{"key":"k","size":"5"}}}`, "detail.object.size: want a number, got string"},

		{"unknown Event", `{"Service":"Amazon S3","Event":"s3:Other"}`, `unknown Event "s3:Other"`},
		{"Event not string", `{"Event":true}`, "Event: want a string, got boolean"},

		{"too deep", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), "nested deeper than 32 levels"},
		{"too deep in object", `{"Records":[` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40) + `]}`, "nested deeper than 32 levels"},
		{"too deep inside sns", snsEnvelope(`{"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`), "SNS Message: nested deeper"},
		{"too big", `{"s3Bucket":"b","s3ObjectKey":["` + strings.Repeat("k", MaxBodyBytes) + `"]}`, "larger than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.body))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse succeeded with %+v, want error containing %q", got, tt.want)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not match ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if !reflect.DeepEqual(got, Result{}) {
				t.Errorf("Parse returned %+v with its error, want zero Result", got)
			}
		})
	}
}

func TestTooManyObjects(t *testing.T) {
	keys := make([]string, MaxObjects+1)
	for i := range keys {
		keys[i] = fmt.Sprintf("AWSLogs/1/CloudTrail/r/2024/01/02/%d.json.gz", i)
	}

	res, err := Parse([]byte(cloudTrailBody("b", keys[:MaxObjects]...)))
	if err != nil {
		t.Fatalf("Parse of exactly MaxObjects keys: %v", err)
	}
	if len(res.Objects) != MaxObjects {
		t.Fatalf("got %d objects, want %d", len(res.Objects), MaxObjects)
	}

	_, err = Parse([]byte(cloudTrailBody("b", keys...)))
	if !errors.Is(err, ErrTooManyObjects) || !errors.Is(err, ErrMalformed) {
		t.Fatalf("Parse of MaxObjects+1 keys: err = %v, want ErrTooManyObjects and ErrMalformed", err)
	}

	records := strings.Repeat(`{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}},`, MaxObjects+1)
	_, err = Parse([]byte(`{"Records":[` + strings.TrimSuffix(records, ",") + `]}`))
	if !errors.Is(err, ErrTooManyObjects) {
		t.Fatalf("Parse of MaxObjects+1 records: err = %v, want ErrTooManyObjects", err)
	}
}

// TestErrorQuotesLittleOfBody checks that an error never carries a large
// part of a hostile body into the logs.
func TestErrorQuotesLittleOfBody(t *testing.T) {
	const marker = "SECRET-TAIL"
	bodies := []string{
		`{"Records":"` + strings.Repeat("x", 300) + marker + `"}`,
		`{"` + strings.Repeat("f", 300) + marker + `":1}`,
		`{"Event":"` + strings.Repeat("e", 300) + marker + `"}`,
		`{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k","size":` + strings.Repeat("9", 300) + `}}}], "z":"` + marker + `"}`,
		snsEnvelope(strings.Repeat("y", 300) + marker),
		strings.Repeat(" ", 300) + marker,
	}
	for i, body := range bodies {
		_, err := Parse([]byte(body))
		if err == nil {
			t.Fatalf("body %d: Parse succeeded", i)
		}
		if strings.Contains(err.Error(), marker) {
			t.Errorf("body %d: error quotes the tail of the body: %v", i, err)
		}
		if len(err.Error()) > 1024 {
			t.Errorf("body %d: error is %d bytes long", i, len(err.Error()))
		}
	}
}

// TestIgnoredReasonIsClipped checks that a hostile event name cannot make
// an Ignored reason (a log field or metric label) arbitrarily long.
func TestIgnoredReasonIsClipped(t *testing.T) {
	name := strings.Repeat("ü", 500)
	res, err := Parse([]byte(s3Body(s3Record(name, "b", "k"))))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Ignored) != 1 {
		t.Fatalf("Ignored = %+v", res.Ignored)
	}
	r := res.Ignored[0].Reason
	if len(r) > 100 || !utf8.ValidString(r) {
		t.Errorf("reason is %d bytes, valid UTF-8 %v", len(r), utf8.ValidString(r))
	}
}

// TestLargeBodyIsFast parses a maximal CloudTrail notice and a maximal S3
// notification. The bound is loose; it catches accidental quadratic work,
// not small regressions.
func TestLargeBodyIsFast(t *testing.T) {
	var keys []string
	for len(mustJSON(keys)) < 250<<10 {
		keys = append(keys, fmt.Sprintf("AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T0000Z_%08d.json.gz", len(keys)))
	}
	var records []map[string]any
	for len(s3Body(records...)) < 250<<10 {
		records = append(records, s3Record("ObjectCreated:Put", bucket, awsKey))
	}
	for _, body := range []string{cloudTrailBody(bucket, keys...), snsEnvelope(s3Body(records...))} {
		start := time.Now()
		res, err := Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("parsing %d bytes (%d objects) took %v", len(body), len(res.Objects), d)
		}
	}
}

func BenchmarkParseCloudTrail256K(b *testing.B) {
	var keys []string
	for len(mustJSON(keys)) < 250<<10 {
		keys = append(keys, fmt.Sprintf("AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T0000Z_%08d.json.gz", len(keys)))
	}
	body := []byte(snsEnvelope(cloudTrailBody(bucket, keys...)))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseS3Single(b *testing.B) {
	body := []byte(snsEnvelope(s3Body(s3Record("ObjectCreated:Put", bucket, awsKey))))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		s3Body(s3Record("ObjectCreated:Put", bucket, awsKey)),
		s3Body(s3Record("s3:ObjectCreated:Put", bucket, kumoKey), s3Record("ObjectRemoved:Delete", bucket, logKey)),
		s3Body(s3Record("ObjectCreated:Put", bucket, digestKey)),
		snsEnvelope(s3Body(s3Record("ObjectCreated:Put", bucket, logKey))),
		snsEnvelope(cloudTrailBody(bucket, logKey, digestKey)),
		cloudTrailBody(bucket, logKey, folderKey),
		eventBridgeBody("Object Created", bucket, plainKey),
		eventBridgeBody("Object Deleted", bucket, plainKey),
		snsEnvelope(eventBridgeBody("Object Created", bucket, plainKey)),
		testEventBody,
		snsEnvelope(testEventBody),
		`{"Type":"SubscriptionConfirmation","TopicArn":"t","Message":"m"}`,
		`{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"%zz","size":-1}}}]}`,
		`{"s3Bucket":"b","s3ObjectKey":[1,null,"k/"]}`,
		`[[[[{}]]]]`,
		``,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := Parse(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not match ErrMalformed", err)
			}
			if !reflect.DeepEqual(res, Result{}) {
				t.Fatalf("non-zero Result %+v with error %v", res, err)
			}
			if len(err.Error()) > 4096 {
				t.Fatalf("error is %d bytes long", len(err.Error()))
			}
			return
		}
		if res.Format == "" {
			t.Fatalf("empty Format in %+v", res)
		}
		if len(res.Objects)+len(res.Ignored) == 0 {
			t.Fatalf("success without objects or ignored entries: %+v", res)
		}
		if len(res.Objects) > MaxObjects {
			t.Fatalf("%d objects", len(res.Objects))
		}
		for _, o := range res.Objects {
			if o.Bucket == "" || o.Key == "" {
				t.Fatalf("object with empty bucket or key: %+v", o)
			}
			if strings.Contains(o.Key, "CloudTrail-Digest") || strings.HasSuffix(o.Key, "/") {
				t.Fatalf("digest or folder key returned as object: %q", o.Key)
			}
			if !utf8.ValidString(o.Key) || len(o.Key) > 1024 || o.Size < 0 {
				t.Fatalf("invalid object %+v", o)
			}
		}
	})
}
