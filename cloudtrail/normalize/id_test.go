package normalize_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/testutil"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode"
)

// encoders returns one encoder of every schema and option that changes the
// record's layout, raw included.
func encoders(t *testing.T) map[string]record.Encoder {
	t.Helper()
	encs := map[string]record.Encoder{"raw": &transcode.Raw{}}
	for name, cfg := range map[string]normalize.Config{
		"ocsf":     {Schema: normalize.SchemaOCSF},
		"ocsf-1.5": {Schema: normalize.SchemaOCSF, OCSFVersion: "1.5.0", OCSFClasses: "api_activity"},
		"ecs":      {Schema: normalize.SchemaECS},
	} {
		enc, err := normalize.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		encs[name] = enc
	}
	return encs
}

// TestRecordIDEverySchema checks _cloudtrail.id of every test event in every
// schema: the eventID when there is one, else the id derived from the
// object and the event's position, and the same in every schema. The OCSF
// metadata.uid and ECS event.id stay the eventID.
func TestRecordIDEverySchema(t *testing.T) {
	events := testutil.Corpus(t)
	encs := encoders(t)
	withID, derived := 0, 0
	for _, ev := range events {
		src := &record.Source{Bucket: "bkt", Key: "AWSLogs/" + ev.File, ETag: `"0123abcd"`, Index: ev.Index,
			MessageID: "m-1", QueueURL: "https://q", Received: time.Unix(1700000000, 0)}
		var fields map[string]any
		if err := json.Unmarshal(ev.JSON, &fields); err != nil {
			t.Fatalf("%s[%d]: %v", ev.File, ev.Index, err)
		}
		eventID, _ := fields["eventID"].(string)
		want := string(record.AppendDerivedID(nil, src))
		if record.UsableEventID([]byte(eventID)) {
			want = eventID
			withID++
		} else {
			derived++
		}
		for name, enc := range encs {
			out, err := enc.Append(nil, ev.JSON, src)
			if err != nil {
				t.Fatalf("%s %s[%d]: %v", name, ev.File, ev.Index, err)
			}
			_, body, err := testutil.Entry(out)
			if err != nil {
				t.Fatalf("%s %s[%d]: %v", name, ev.File, ev.Index, err)
			}
			if id, _ := testutil.Get(body, record.SourceKey+"."+record.IDKey); id != want {
				t.Errorf("%s %s[%d]: id %v, want %q", name, ev.File, ev.Index, id, want)
			}
			if eventID == "" {
				continue
			}
			switch name {
			case "ocsf", "ocsf-1.5":
				if uid, _ := testutil.Get(body, "metadata.uid"); uid != eventID {
					t.Errorf("%s %s[%d]: metadata.uid %v, want %q", name, ev.File, ev.Index, uid, eventID)
				}
			case "ecs":
				if id, _ := testutil.Get(body, "event.id"); id != eventID {
					t.Errorf("%s %s[%d]: event.id %v, want %q", name, ev.File, ev.Index, id, eventID)
				}
			}
		}
	}
	t.Logf("%d events: %d ids are the eventID, %d derived", len(events), withID, derived)
	if withID == 0 || derived == 0 {
		t.Fatalf("the test data should have events with and without eventID: %d, %d", withID, derived)
	}
}

// TestRecordIDWithoutEventID checks, in every schema, that the derived id
// depends on the position, the ETag, the key and the bucket, and on nothing
// else of the delivery.
func TestRecordIDWithoutEventID(t *testing.T) {
	ev := []byte(`{"eventVersion":"1.07","eventTime":"2020-09-09T23:00:00Z","awsRegion":"us-east-1","eventType":"AwsCloudTrailInsight","recipientAccountId":"123456789012","insightDetails":{"state":"Start","eventSource":"iam.amazonaws.com","eventName":"AttachUserPolicy","insightType":"ApiCallRateInsight"},"eventCategory":"Insight"}`)
	base := record.Source{Bucket: "bkt", Key: "AWSLogs/x.json.gz", ETag: `"e1"`, Index: 7, MessageID: "m-1", QueueURL: "https://q"}
	variants := map[string]record.Source{"base": base}
	for name, f := range map[string]func(*record.Source){
		"index":  func(s *record.Source) { s.Index = 8 },
		"etag":   func(s *record.Source) { s.ETag = `"e2"` },
		"key":    func(s *record.Source) { s.Key = "AWSLogs/y.json.gz" },
		"bucket": func(s *record.Source) { s.Bucket = "bkt2" },
	} {
		s := base
		f(&s)
		variants[name] = s
	}
	redelivered := base
	redelivered.MessageID, redelivered.QueueURL, redelivered.Received = "m-2", "https://q2", time.Unix(1800000000, 0)
	for name, enc := range encoders(t) {
		ids := map[any]string{}
		for vname, src := range variants {
			out, err := enc.Append(nil, ev, &src)
			if err != nil {
				t.Fatal(err)
			}
			_, body, err := testutil.Entry(out)
			if err != nil {
				t.Fatal(err)
			}
			id, _ := testutil.Get(body, record.SourceKey+"."+record.IDKey)
			if id != string(record.AppendDerivedID(nil, &src)) {
				t.Errorf("%s %s: id %v is not the derived id", name, vname, id)
			}
			if other, dup := ids[id]; dup {
				t.Errorf("%s: %s and %s have the same id %v", name, vname, other, id)
			}
			ids[id] = vname
		}
		out, err := enc.Append(nil, ev, &redelivered)
		if err != nil {
			t.Fatal(err)
		}
		_, body, _ := testutil.Entry(out)
		if id, _ := testutil.Get(body, record.SourceKey+"."+record.IDKey); ids[id] != "base" {
			t.Errorf("%s: another message or queue for the same object changes the id to %v", name, id)
		}
	}
}
