package integrity_test

import (
	"testing"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/integrity"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/msgpack"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

func TestRecordPerSchema(t *testing.T) {
	w := newWorld(t, 1)
	w.s3.del(w.files[0][2].Key)
	r := check(t, w.checker(), w.digests[0].Key)
	src := &record.Source{QueueURL: "q", MessageID: "m", Bucket: bucket, Key: w.digests[0].Key, ETag: `"etag"`}
	ids := map[string]bool{}
	for _, schema := range []string{"raw", "ocsf", "ecs"} {
		es, err := msgpack.DecodeEntries(integrity.AppendRecord(nil, r, schema, "1.1.0", src))
		if err != nil || len(es) != 1 {
			t.Fatalf("%s: %v %d", schema, err, len(es))
		}
		b := es[0].Body
		ct := b[record.SourceKey].(map[string]any)
		if ct["type"] != integrity.RecordType || ct["key"] != src.Key {
			t.Errorf("%s: _cloudtrail %v", schema, ct)
		}
		ids[ct[record.IDKey].(string)] = true
		var details map[string]any
		switch schema {
		case "raw":
			details = b["integrity"].(map[string]any)
		case "ocsf":
			if b["class_uid"] != int64(2003) || b["compliance"].(map[string]any)["status"] != "Fail" {
				t.Errorf("ocsf: %v", b)
			}
			details = b["unmapped"].(map[string]any)["integrity"].(map[string]any)
		case "ecs":
			ev := b["event"].(map[string]any)
			if ev["kind"] != "alert" || ev["outcome"] != "failure" {
				t.Errorf("ecs event %v", ev)
			}
			details = b["aws"].(map[string]any)["cloudtrail"].(map[string]any)["integrity"].(map[string]any)
		}
		files := details["files"].(map[string]any)
		if details["result"] != "invalid" || files["missing"] != int64(1) || files["verified"] != int64(2) || len(files["missing_keys"].([]any)) != 1 {
			t.Errorf("%s: details %v", schema, details)
		}
	}
	if len(ids) != 1 {
		t.Errorf("record id differs between schemas: %v", ids)
	}
}
