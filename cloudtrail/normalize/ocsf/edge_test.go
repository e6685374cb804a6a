package ocsf_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/testutil"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/ocsf"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

func encode(t *testing.T, opts ocsf.Options, event string) (time.Time, map[string]any) {
	t.Helper()
	enc, err := ocsf.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	src := &record.Source{Bucket: "b", Key: "k", MessageID: "m", QueueURL: "q", Received: time.Unix(1700000000, 0)}
	prefix := []byte("prefix")
	out, err := enc.Append(prefix, []byte(event), src)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if string(out[:6]) != "prefix" {
		t.Fatal("Append did not keep dst")
	}
	ts, body, err := testutil.Entry(out[6:])
	if err != nil {
		t.Fatal(err)
	}
	return ts, testutil.Normalize(body).(map[string]any)
}

func want(t *testing.T, body map[string]any, path string, v any) {
	t.Helper()
	got, ok := testutil.Get(body, path)
	if key, isUnmapped := strings.CutPrefix(path, "unmapped."); isUnmapped {
		// unmapped keys are dotted paths themselves.
		um, _ := body["unmapped"].(map[string]any)
		got, ok = um[key]
	}
	if v == nil {
		if ok {
			t.Errorf("%s = %#v, want absent", path, got)
		}
		return
	}
	if n, isInt := v.(int); isInt {
		v = float64(n)
	}
	if !ok || got != v {
		t.Errorf("%s = %#v (present %v), want %#v", path, got, ok, v)
	}
}

func TestNewRejectsUnknownOptions(t *testing.T) {
	if _, err := ocsf.New(ocsf.Options{Version: "1.2.0"}); err == nil || !strings.Contains(err.Error(), `"1.2.0"`) {
		t.Errorf("version: %v", err)
	}
	if _, err := ocsf.New(ocsf.Options{Classes: "all"}); err == nil || !strings.Contains(err.Error(), `"all"`) {
		t.Errorf("classes: %v", err)
	}
}

func TestInsightWithoutUserIdentity(t *testing.T) {
	_, b := encode(t, ocsf.Options{}, `{"eventVersion":"1.07","eventTime":"2020-09-09T23:00:00Z","awsRegion":"us-east-1","eventID":"e1","eventType":"AwsCloudTrailInsight","recipientAccountId":"1","sharedEventID":"s1","insightDetails":{"state":"End","eventSource":"iam.amazonaws.com","eventName":"AttachUserPolicy","insightType":"ApiCallRateInsight","insightContext":{"statistics":{"baseline":{"average":0.5}}}},"eventCategory":"Insight"}`)
	want(t, b, "class_uid", 6003)
	want(t, b, "activity_id", 99)
	want(t, b, "api.operation", "AttachUserPolicy")
	want(t, b, "api.service.name", "iam.amazonaws.com")
	want(t, b, "actor", nil)
	want(t, b, "unmapped.insightDetails.insightType", "ApiCallRateInsight")
	want(t, b, "unmapped.insightDetails.insightContext.statistics.baseline.average", "0.5")
	want(t, b, "unmapped.sharedEventID", "s1")
	want(t, b, "metadata.product.feature.name", "Insight")
}

func TestSourceIPAddressForms(t *testing.T) {
	for _, c := range []struct{ in, ip, domain, unmapped string }{
		{"192.0.2.1", "192.0.2.1", "", ""},
		{"2001:db8::1", "2001:db8::1", "", ""},
		{"ec2.amazonaws.com", "", "ec2.amazonaws.com", ""},
		{"AWS Internal", "", "AWS Internal", ""},
		{"225.01.00.16", "", "", "225.01.00.16"}, // leading zeros: not an IP
		{"", "", "", "\x00"},                     // kept as "" in unmapped
	} {
		_, b := encode(t, ocsf.Options{}, `{"eventTime":"2024-01-01T00:00:00Z","eventName":"GetObject","sourceIPAddress":"`+c.in+`"}`)
		for path, v := range map[string]string{"src_endpoint.ip": c.ip, "src_endpoint.domain": c.domain, "unmapped.sourceIPAddress": c.unmapped} {
			if v == "" {
				want(t, b, path, nil)
			} else if v == "\x00" {
				want(t, b, path, "")
			} else {
				want(t, b, path, v)
			}
		}
		if c.in == "AWS Internal" {
			// Not a host name: no Hostname observable.
			if obs, _ := b["observables"].([]any); len(obs) != 0 {
				t.Errorf("AWS Internal: observables %v", obs)
			}
		}
	}
}

func TestRootUserAndInvokedBy(t *testing.T) {
	_, b := encode(t, ocsf.Options{Version: "1.5.0"}, `{"eventVersion":"1.08","userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","accessKeyId":"","invokedBy":"support.amazonaws.com"},"eventTime":"2024-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"DeleteBucket","awsRegion":"us-east-1","sourceIPAddress":"support.amazonaws.com","recipientAccountId":"111122223333","readOnly":false}`)
	want(t, b, "actor.user.type", "Root")
	want(t, b, "actor.user.uid", "arn:aws:iam::111122223333:root")
	want(t, b, "actor.user.credential_uid", "")
	want(t, b, "actor.invoked_by", "support.amazonaws.com")
	want(t, b, "actor.app_name", "support.amazonaws.com")
	want(t, b, "cloud.account.uid", "111122223333")
	want(t, b, "unmapped.recipientAccountId", nil)
	want(t, b, "metadata.version", "1.5.0")
	want(t, b, "activity_id", 4)
}

func TestAssumedRoleWithAndWithoutSessionContext(t *testing.T) {
	_, b := encode(t, ocsf.Options{}, `{"userIdentity":{"type":"AssumedRole","principalId":"AROA:s","arn":"arn:aws:sts::1:assumed-role/R/s","accountId":"1","accessKeyId":"ASIA","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA","arn":"arn:aws:iam::1:role/R","accountId":"1","userName":"R"},"webIdFederationData":{},"attributes":{"creationDate":"20131102T010628Z","mfaAuthenticated":"true"},"sourceIdentity":"alice"}},"eventTime":"2024-01-01T00:00:00Z","eventName":"ListBuckets","eventSource":"s3.amazonaws.com"}`)
	want(t, b, "actor.session.issuer", "arn:aws:iam::1:role/R")
	want(t, b, "actor.session.is_mfa", true)
	want(t, b, "actor.session.created_time", float64(time.Date(2013, 11, 2, 1, 6, 28, 0, time.UTC).UnixMilli()))
	want(t, b, "actor.session.created_time_dt", "2013-11-02T01:06:28.000Z")
	want(t, b, "unmapped.userIdentity.sessionContext.sessionIssuer.userName", "R")
	want(t, b, "unmapped.userIdentity.sessionContext.sourceIdentity", "alice")
	want(t, b, "unmapped.userIdentity.sessionContext.webIdFederationData", nil)
	want(t, b, "activity_id", 2)

	_, b = encode(t, ocsf.Options{}, `{"userIdentity":{"type":"AssumedRole","principalId":"AROA:s","arn":"arn:aws:sts::1:assumed-role/R/s","accountId":"1"},"eventTime":"2024-01-01T00:00:00Z","eventName":"ListBuckets"}`)
	want(t, b, "actor.session", nil)
	want(t, b, "actor.user.uid_alt", "AROA:s")
}

func TestErrorsAndConsoleLoginFailure(t *testing.T) {
	_, b := encode(t, ocsf.Options{}, `{"eventTime":"2024-01-01T00:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","errorCode":"Client.UnauthorizedOperation","errorMessage":"You are not authorized"}`)
	want(t, b, "status", "Failure")
	want(t, b, "status_id", 2)
	want(t, b, "api.response.error", "Client.UnauthorizedOperation")
	want(t, b, "api.response.message", "You are not authorized")
	want(t, b, "activity_id", 1)

	login := `{"eventTime":"2024-01-01T00:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","userIdentity":{"type":"IAMUser","principalId":"AID","arn":"arn:aws:iam::1:user/bob","accountId":"1","userName":"bob"},"responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"LoginTo":"https://console.aws.amazon.com/","MobileVersion":"No","MFAUsed":"Yes"},"errorMessage":"Failed authentication","sourceIPAddress":"192.0.2.1"}`
	_, b = encode(t, ocsf.Options{}, login)
	want(t, b, "class_uid", 3002)
	want(t, b, "status", "Failure")
	want(t, b, "is_mfa", true)
	want(t, b, "dst_endpoint.svc_name", "https://console.aws.amazon.com/")
	want(t, b, "user.uid", "arn:aws:iam::1:user/bob")
	want(t, b, "unmapped.additionalEventData.MobileVersion", "No")
	want(t, b, "unmapped.additionalEventData.MFAUsed", nil)

	// In api_activity mode the same event is API Activity, nothing is lost.
	_, b = encode(t, ocsf.Options{Classes: "api_activity"}, login)
	want(t, b, "class_uid", 6003)
	want(t, b, "status", "Failure")
	want(t, b, "activity_id", 99)
	want(t, b, "unmapped.additionalEventData.MFAUsed", "Yes")
	want(t, b, "user", nil)
}

func TestHugeRequestAndNonASCII(t *testing.T) {
	big := strings.Repeat("x", 200000)
	_, b := encode(t, ocsf.Options{}, `{"eventTime":"2024-01-01T00:00:00Z","eventName":"PutBucketPolicy","requestParameters":{"policy":"`+big+`","note":"Grüße \u00e9 \ud83d\ude00 日本"},"additionalEventData":{"k":"\u2603"}}`)
	data, _ := testutil.Get(b, "api.request.data")
	if s, _ := data.(string); len(s) < 200000 || !strings.Contains(s, `Grüße \u00e9 \ud83d\ude00 日本`) {
		t.Errorf("request data not carried whole (%d bytes)", len(s))
	}
	want(t, b, "unmapped.additionalEventData.k", "☃")
}

func TestEventTimeInvalid(t *testing.T) {
	ts, b := encode(t, ocsf.Options{}, `{"eventTime":"redacted","eventName":"GetObject"}`)
	if !ts.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("time %v, want Received", ts)
	}
	want(t, b, "_cloudtrail.event_time_invalid", true)
	want(t, b, "time", 1700000000000)
	want(t, b, "unmapped.eventTime", "redacted")

	ts, b = encode(t, ocsf.Options{}, `{"eventTime":"2024-02-03T04:05:06Z","eventName":"GetObject"}`)
	if !ts.Equal(time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)) {
		t.Errorf("time %v", ts)
	}
	want(t, b, "time_dt", "2024-02-03T04:05:06.000Z")
	want(t, b, "_cloudtrail.event_time_invalid", nil)
	want(t, b, "_cloudtrail.bucket", "b")
	want(t, b, "_cloudtrail.sqs_message_id", "m")
}

func TestMalformedEventKeepsDst(t *testing.T) {
	enc, _ := ocsf.New(ocsf.Options{})
	for _, ev := range []string{`{"eventName":`, `[1,2]`, `{"a":1} x`, ``} {
		out, err := enc.Append([]byte("keep"), []byte(ev), nil)
		if err == nil || string(out) != "keep" {
			t.Errorf("%q: err %v, out %q", ev, err, out)
		}
	}
}

func TestActivityIDs(t *testing.T) {
	for name, id := range map[string]int{
		"DescribeInstances": 2, "BatchGetSecretValue": 2, "BatchDeleteImage": 4, "CreateBucket": 1,
		"RunInstances": 1, "DescribeRunbook": 2, "PutObject": 3, "TerminateInstances": 4, "Decrypt": 99,
		"UnknownAPI": 99, "AddPermission20150331v2": 3,
	} {
		_, b := encode(t, ocsf.Options{}, `{"eventTime":"2024-01-01T00:00:00Z","eventSource":"x.amazonaws.com","eventName":"`+name+`"}`)
		want(t, b, "activity_id", id)
		want(t, b, "type_uid", 600300+id)
	}
	_, b := encode(t, ocsf.Options{}, `{"eventTime":"2024-01-01T00:00:00Z","eventName":"Decrypt","readOnly":true}`)
	want(t, b, "activity_id", 2)
}
