package ecs_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/ecs"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/testutil"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

func encode(t *testing.T, event string) (time.Time, map[string]any) {
	t.Helper()
	src := &record.Source{Bucket: "b", Key: "k", MessageID: "m", QueueURL: "q", Received: time.Unix(1700000000, 0)}
	out, err := ecs.New().Append(nil, []byte(event), src)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	ts, body, err := testutil.Entry(out)
	if err != nil {
		t.Fatal(err)
	}
	return ts, testutil.Normalize(body).(map[string]any)
}

func want(t *testing.T, body map[string]any, path string, v any) {
	t.Helper()
	got, ok := testutil.Get(body, path)
	if v == nil {
		if ok {
			t.Errorf("%s = %#v, want absent", path, got)
		}
		return
	}
	if !ok || !reflect.DeepEqual(got, v) {
		t.Errorf("%s = %#v (present %v), want %#v", path, got, ok, v)
	}
}

func TestSharedEventIDIsMapped(t *testing.T) {
	_, b := encode(t, `{"eventTime":"2024-01-01T00:00:00Z","eventName":"AssumeRole","sharedEventID":"abc"}`)
	want(t, b, "aws.cloudtrail.shared_event_id", "abc")
}

func TestInsightWithoutUserIdentity(t *testing.T) {
	_, b := encode(t, `{"eventVersion":"1.07","eventTime":"2020-09-09T23:00:00Z","awsRegion":"us-east-1","eventID":"e1","eventType":"AwsCloudTrailInsight","recipientAccountId":"1","insightDetails":{"state":"End","eventName":"X","insightContext":{"attributions":[{"baseline":[]}]}},"eventCategory":"Insight"}`)
	want(t, b, "user", nil)
	want(t, b, "cloud.account.id", "1")
	want(t, b, "aws.cloudtrail.flattened.insight_details.state", "End")
	want(t, b, "aws.cloudtrail.flattened.insight_details.insightContext", nil) // only empties inside
	want(t, b, "event.type", []any{"info"})
}

func TestSourceAddress(t *testing.T) {
	for in, ip := range map[string]any{"192.0.2.1": "192.0.2.1", "ec2.amazonaws.com": nil, "AWS Internal": nil, "075.050.255.67": nil, "::1": "::1"} {
		_, b := encode(t, `{"eventTime":"2024-01-01T00:00:00Z","sourceIPAddress":"`+in+`"}`)
		want(t, b, "source.address", in)
		want(t, b, "source.ip", ip)
	}
	_, b := encode(t, `{"eventTime":"2024-01-01T00:00:00Z","sourceIPAddress":""}`)
	want(t, b, "source", nil)
}

func TestUsers(t *testing.T) {
	// Root user.
	_, b := encode(t, `{"eventTime":"2024-01-01T00:00:00Z","userIdentity":{"type":"Root","principalId":"111","arn":"arn:aws:iam::111:root","accountId":"111","invokedBy":"signin.amazonaws.com"}}`)
	want(t, b, "user.id", "111")
	want(t, b, "user.name", nil)
	want(t, b, "cloud.account.id", "111")
	want(t, b, "aws.cloudtrail.user_identity.invoked_by", "signin.amazonaws.com")
	// AssumedRole: user.name is the role, the session goes to user.changes.name.
	_, b = encode(t, `{"eventTime":"2024-01-01T00:00:00Z","userIdentity":{"type":"AssumedRole","principalId":"AROA:me@x.com","arn":"arn:aws:sts::1:assumed-role/Role/me@x.com","sessionContext":{"sessionIssuer":{"userName":"Role","type":"Role"},"attributes":{"creationDate":"2024-01-01T00:00:00Z","mfaAuthenticated":"false"}}}}`)
	want(t, b, "user.name", "Role")
	want(t, b, "user.changes.name", "me@x.com")
	want(t, b, "aws.cloudtrail.user_identity.session_context.creation_date", "2024-01-01T00:00:00.000Z")
	want(t, b, "aws.cloudtrail.user_identity.session_context.mfa_authenticated", "false")
	// AssumedRole without sessionContext.
	_, b = encode(t, `{"eventTime":"2024-01-01T00:00:00Z","userIdentity":{"type":"AssumedRole","principalId":"AROA:s","arn":"arn:aws:sts::1:assumed-role/Role/s"}}`)
	want(t, b, "user.name", nil)
	want(t, b, "aws.cloudtrail.user_identity.session_context", nil)
	// IAM changes.
	_, b = encode(t, `{"eventTime":"2024-01-01T00:00:00Z","eventName":"CreateUser","userIdentity":{"type":"IAMUser","userName":"admin"},"requestParameters":{"userName":"bob"},"responseElements":{"user":{"userId":"AIDB"}}}`)
	want(t, b, "user.target.name", "bob")
	want(t, b, "user.target.id", "AIDB")
	want(t, b, "event.category", []any{"iam"})
	want(t, b, "event.type", []any{"user", "creation"})
	want(t, b, "related.user", []any{"admin", "AIDB", "bob"})
}

func TestOutcome(t *testing.T) {
	_, b := encode(t, `{"eventTime":"2024-01-01T00:00:00Z","eventName":"GetObject","errorCode":"AccessDenied"}`)
	want(t, b, "event.outcome", "failure")
	want(t, b, "aws.cloudtrail.error_code", "AccessDenied")
	_, b = encode(t, `{"eventTime":"2024-01-01T00:00:00Z","eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No","MobileVersion":"No","LoginTo":"u"}}`)
	want(t, b, "event.outcome", "failure")
	want(t, b, "aws.cloudtrail.console_login.additional_eventdata.mfa_used", false)
	want(t, b, "aws.cloudtrail.console_login.additional_eventdata.login_to", "u")
	want(t, b, "event.category", []any{"authentication"})
	_, b = encode(t, `{"eventTime":"2024-01-01T00:00:00Z","eventName":"SendCommand"}`)
	want(t, b, "event.type", nil)
	want(t, b, "event.outcome", "success")
}

func TestBodiesJavaTextAndFlattened(t *testing.T) {
	_, b := encode(t, `{"eventTime":"2024-01-01T00:00:00Z","requestParameters":{"MobileVersion":"No","LoginTo":"x","MFAUsed":"No","n":1.5,"big":1e10,"z":null,"e":"","l":[1,"a",{}]},"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"h.example"}}`)
	want(t, b, "aws.cloudtrail.request_parameters", "{big=1.0E10, LoginTo=x, MobileVersion=No, MFAUsed=No, l=[1, a], n=1.5}") // java.util.HashMap order
	want(t, b, "aws.cloudtrail.flattened.request_parameters.n", 1.5)
	want(t, b, "aws.cloudtrail.flattened.request_parameters.z", nil)
	want(t, b, "aws.cloudtrail.flattened.request_parameters.e", nil)
	want(t, b, "tls.version", "1.3")
	want(t, b, "tls.version_protocol", "tls")
	want(t, b, "tls.cipher", "TLS_AES_128_GCM_SHA256")
	want(t, b, "tls.client.server_name", "h.example")

	big := strings.Repeat("y", 40000)
	_, b = encode(t, `{"eventTime":"2024-01-01T00:00:00Z","requestParameters":{"policy":"`+big+`","name":"Ärger ☃"}}`)
	if s, _ := testutil.Get(b, "aws.cloudtrail.request_parameters"); len(s.(string)) < 40000 || !strings.Contains(s.(string), "name=Ärger ☃") {
		t.Error("long request_parameters text not kept whole")
	}
	want(t, b, "aws.cloudtrail.flattened.request_parameters", nil) // too long for Elastic's flattened copy
}

func TestEventTime(t *testing.T) {
	ts, b := encode(t, `{"eventTime":"not a time"}`)
	if !ts.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("time %v", ts)
	}
	want(t, b, "_cloudtrail.event_time_invalid", true)
	ts, b = encode(t, `{"eventTime":"2024-02-03T04:05:06Z"}`)
	if !ts.Equal(time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)) {
		t.Errorf("time %v", ts)
	}
	want(t, b, "@timestamp", "2024-02-03T04:05:06.000Z")
	want(t, b, "_cloudtrail.key", "k")
	want(t, b, "_cloudtrail.queue_url", "q")
}
