package decode

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/transcode/transcodetest"
)

// idEncoders returns a constructor per schema; "raw-generic" takes the
// scan-then-Append path instead of AppendPrefix.
func idEncoders(t *testing.T) map[string]func() record.Encoder {
	t.Helper()
	encs := map[string]func() record.Encoder{
		"raw":         func() record.Encoder { return &transcode.Raw{} },
		"raw-generic": func() record.Encoder { return appendOnly{&transcode.Raw{}} },
	}
	for _, schema := range []string{normalize.SchemaOCSF, normalize.SchemaECS} {
		cfg := normalize.Config{Schema: schema}
		if _, err := normalize.New(cfg); err != nil {
			t.Fatal(err)
		}
		encs[schema] = func() record.Encoder {
			enc, _ := normalize.New(cfg)
			return enc
		}
	}
	return encs
}

// decodeIDs decodes data with a new Decoder around enc and returns the
// _cloudtrail.id of every entry. src is checked to be left as it was.
func decodeIDs(t *testing.T, enc record.Encoder, data []byte, src *record.Source, oneByte bool) []string {
	t.Helper()
	before := *src
	var rd io.Reader = bytes.NewReader(data)
	if oneByte {
		rd = iotest.OneByteReader(rd)
	}
	var out []byte
	_, err := New(enc, Limits{}).Decode(rd, src, 1<<10, func(b []byte, _ int) error {
		out = append(out, b...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if *src != before {
		t.Fatalf("Decode modified the caller's Source: %+v", *src)
	}
	es, err := transcodetest.DecodeEntries(out)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(es))
	for i, e := range es {
		sm, _ := e.Body.Get(record.SourceKey)
		id, _ := sm.(transcodetest.Map).Get(record.IDKey)
		ids[i], _ = id.(string)
	}
	return ids
}

// TestRecordIDs decodes objects whose events have and lack eventIDs, in every
// schema, and checks the ids: the eventID, or the id derived from the
// event's position in the object; the same on a second read and in every
// schema; different for another ETag or key.
func TestRecordIDs(t *testing.T) {
	const (
		withID    = `{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","eventID":"%s","eventType":"AwsApiCall"}`
		withoutID = `{"eventVersion":"1.07","eventTime":"2024-01-02T03:04:05Z","awsRegion":"us-east-1","eventType":"AwsCloudTrailInsight","insightDetails":{"state":"Start","eventSource":"iam.amazonaws.com","eventName":"AttachUserPolicy"}}`
	)
	// A log file, then a top-level event as in JSON lines: positions
	// count every event of the object, in order.
	synthetic := `{"Records":[` + strings.Replace(withID, "%s", "e-0", 1) + "," + withoutID + "," + withoutID + "," +
		strings.Replace(withID, "%s", "e-3", 1) + "," + withoutID + "]}\n" + withoutID + "\n"
	objects := map[string]struct {
		data []byte
		want []string // "" where the id is derived
	}{
		"synthetic":      {[]byte(synthetic), []string{"e-0", "", "", "e-3", "", ""}},
		"synthetic-gzip": {gz(t, []byte(synthetic)), []string{"e-0", "", "", "e-3", "", ""}},
	}
	// A real log file of AWS's documentation: its first six events have
	// no eventID (an old format), the last three have one.
	real, err := os.ReadFile(filepath.Join(testdata, "aws-docs", "gz", "111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	objects["aws-docs"] = struct {
		data []byte
		want []string
	}{real, []string{"", "", "", "", "", "", "b7d4398e-b2f0-4faa-9c76-e2d316a8d67f",
		"EXAMPLE8-9621-4d00-b913-beca2EXAMPLE", "EXAMPLEc-28be-486c-8928-49ce6EXAMPLE"}}

	src := &record.Source{Bucket: "trail-bucket", Key: "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/x.json.gz",
		ETag: `"5d41402abc4b2a76b9719d911017c592"`, MessageID: "m-1", QueueURL: "https://q"}
	for oname, o := range objects {
		var first []string
		for ename, enc := range idEncoders(t) {
			ids := decodeIDs(t, enc(), o.data, src, false)
			if len(ids) != len(o.want) {
				t.Fatalf("%s %s: %d entries, want %d", oname, ename, len(ids), len(o.want))
			}
			seen := map[string]int{}
			for i, id := range ids {
				want := o.want[i]
				if want == "" {
					s := *src
					s.Index = i
					want = string(record.AppendDerivedID(nil, &s))
				}
				if id != want {
					t.Errorf("%s %s: event %d: id %q, want %q", oname, ename, i, id, want)
				}
				if j, dup := seen[id]; dup {
					t.Errorf("%s %s: events %d and %d have the same id %q", oname, ename, j, i, id)
				}
				seen[id] = i
			}
			// Same object, same ids: on a second read (with a reused
			// Decoder and window refills inside events too), and in
			// every schema.
			if again := decodeIDs(t, enc(), o.data, src, true); !slices.Equal(again, ids) {
				t.Errorf("%s %s: second read gives other ids:\n%v\n%v", oname, ename, again, ids)
			}
			if first == nil {
				first = ids
			} else if !slices.Equal(first, ids) {
				t.Errorf("%s %s: ids differ between schemas:\n%v\n%v", oname, ename, ids, first)
			}
			// Another ETag (the object was rewritten) or another
			// key: every derived id changes, eventIDs stay.
			for _, other := range []record.Source{
				{Bucket: src.Bucket, Key: src.Key, ETag: `"7d793037a0760186574b0282f2f435e7"`},
				{Bucket: src.Bucket, Key: src.Key + ".copy", ETag: src.ETag},
			} {
				for i, id := range decodeIDs(t, enc(), o.data, &other, false) {
					if (id == ids[i]) != (o.want[i] != "") {
						t.Errorf("%s %s: event %d: id %q with %+v, %q before", oname, ename, i, id, other, ids[i])
					}
				}
			}
		}
	}
}
