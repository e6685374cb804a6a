package ocsf_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/testutil"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/ocsf"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

// The AWS samples are OCSF 1.0.0-rc.2 (Security Lake source version 1); we
// write 1.1.0. renames says where an rc.2 attribute lives in 1.1.0; every
// entry is a schema change between the two versions, listed in
// docs/schemas.md ("Conformance with AWS's samples").
var renames = map[string]string{
	"actor.user.uuid":        "actor.user.uid",         // ARN: uuid → uid
	"actor.user.uid":         "actor.user.uid_alt",     // principalId: uid → uid_alt
	"actor.user.account_uid": "actor.user.account.uid", // account_uid → account object
	"actor.session.mfa":      "actor.session.is_mfa",   // mfa → is_mfa
	"mfa":                    "is_mfa",                 // Authentication mfa → is_mfa
	"auth:user.uuid":         "user.uid",               // Authentication target: uuid → uid
	"auth:user.uid":          "user.uid_alt",           // Authentication target: uid → uid_alt
}

// unmappedMoves says which rc.2 unmapped paths have an attribute in 1.1.0.
// A prefix ending in "." moves a whole object into a json_t attribute.
var unmappedMoves = []struct{ from, to string }{
	{"eventType", "metadata.event_code"},
	{"requestParameters.", "api.request.data"},
	{"responseElements.", "api.response.data"},
	{"resources[].ARN", "resources[].uid"},
	{"resources[].accountId", "resources[].owner.account.uid"},
	{"resources[].type", "resources[].type"},
}

// differences are the deliberate value differences from AWS's samples,
// keyed by "<sample>:<rc.2 path>" or "*:<rc.2 path>", with the reason. They
// are documented in docs/schemas.md.
var differences = map[string]string{
	"authentication/AssumeRole:status":                   "AWS writes status Other/0 for a successful AssumeRole; we report Success/1 (no errorCode)",
	"authentication/AssumeRole:status_id":                "same as status",
	"authentication/AssumeRoleWithSAML:status":           "same as AssumeRole",
	"authentication/AssumeRoleWithSAML:status_id":        "same as AssumeRole",
	"authentication/AssumeRoleWithWebIdentity:status":    "same as AssumeRole",
	"authentication/AssumeRoleWithWebIdentity:status_id": "same as AssumeRole",
	"authentication/CheckMfa:status":                     "AWS writes Other/0; responseElements.CheckMfa says Success, which we report",
	"authentication/CheckMfa:status_id":                  "same as status",
	"*:api.request.uid=''":                               "AWS writes the two-character string '' when the record has no requestID; we omit the attribute",
}

// translateValue converts rc.2 constants to their 1.1.0 values.
func translateValue(path string, v any, class float64) any {
	switch path {
	case "class_uid":
		if v == 3005.0 {
			return 6003.0
		}
	case "category_uid":
		if class == 3005 {
			return 6.0
		}
	case "category_name":
		if class == 3005 {
			return "Application Activity"
		}
		return "Identity & Access Management"
	case "type_uid":
		if f, ok := v.(float64); ok && class == 3005 {
			return 600300 + (f - 300500)
		}
	case "metadata.version":
		return "1.1.0"
	case "metadata.profiles":
		return []any{"cloud", "datetime"}
	}
	return v
}

type tally struct{ compared, equal, documented, failed int }

func TestConformanceAWSSecurityLake(t *testing.T) {
	root := filepath.Join(testutil.ProjectTestData(), "aws-security-lake-ocsf-validation", "1.0.0-rc.2")
	expected, _ := filepath.Glob(filepath.Join(root, "*", "*.ocsf.json"))
	if len(expected) == 0 {
		t.Fatalf("no OCSF samples under %s", root)
	}
	enc, err := ocsf.New(ocsf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var total tally
	var report []string
	for _, exp := range expected {
		class := filepath.Base(filepath.Dir(exp))
		name := strings.TrimSuffix(filepath.Base(exp), ".ocsf.json")
		sample := class + "/" + name
		t.Run(sample, func(t *testing.T) {
			input, err := testutil.ReadMaybeGzip(filepath.Join(filepath.Dir(exp), "input", name+".test.gz"))
			if err != nil {
				t.Fatal(err)
			}
			recs, err := testutil.SplitRecords(input)
			if err != nil || len(recs) != 1 {
				t.Fatalf("input: %v (%d records)", err, len(recs))
			}
			out, err := enc.Append(nil, recs[0], &record.Source{Bucket: "b", Key: "k"})
			if err != nil {
				t.Fatal(err)
			}
			_, ours, err := testutil.Entry(out)
			if err != nil {
				t.Fatal(err)
			}
			ours = testutil.Normalize(ours).(map[string]any)
			var docs []map[string]any
			data, _ := os.ReadFile(exp)
			if err := json.Unmarshal(data, &docs); err != nil || len(docs) != 1 {
				t.Fatalf("expected: %v", err)
			}
			var tl tally
			compareOCSF(t, sample, docs[0], ours, &tl)
			total.compared += tl.compared
			total.equal += tl.equal
			total.documented += tl.documented
			total.failed += tl.failed
			report = append(report, fmt.Sprintf("  %-48s %4d %4d %4d %4d", sample, tl.compared, tl.equal, tl.documented, tl.failed))
		})
	}
	sort.Strings(report)
	t.Logf("OCSF agreement with AWS Security Lake samples (rc.2 → 1.1.0 translation applied)\n  %-48s %4s %4s %4s %4s\n%s\n  %-48s %4d %4d %4d %4d",
		"pair", "cmp", "eq", "doc", "FAIL", strings.Join(report, "\n"),
		fmt.Sprintf("TOTAL %d pairs", len(report)), total.compared, total.equal, total.documented, total.failed)
}

func compareOCSF(t *testing.T, sample string, exp, ours map[string]any, tl *tally) {
	t.Helper()
	class, _ := exp["class_uid"].(float64)
	isAuth := class == 3002
	check := func(path string, want, got any, gotOK bool, key string) {
		tl.compared++
		equal := false
		if want == nil {
			equal = !gotOK || got == nil
		} else {
			equal = gotOK && reflect.DeepEqual(want, got)
		}
		if equal {
			tl.equal++
			return
		}
		for _, k := range []string{sample + ":" + key, "*:" + key, fmt.Sprintf("*:%s=%v", key, want)} {
			if why, ok := differences[k]; ok {
				tl.documented++
				t.Logf("documented difference %s: AWS %v, ours %v (%s)", path, want, got, why)
				return
			}
		}
		tl.failed++
		t.Errorf("%s: AWS (rc.2 translated) %#v, ours %#v (present %v)", path, want, got, gotOK)
	}
	for path, want := range testutil.Flatten(exp) {
		if path == "unmapped" {
			continue
		}
		to := path
		if isAuth {
			if r, ok := renames["auth:"+path]; ok {
				to = r
			}
		}
		if to == path {
			if r, ok := renames[path]; ok {
				to = r
			}
		}
		want = translateValue(path, want, class)
		got, ok := testutil.Get(ours, to)
		check(path+" → "+to, want, got, ok, path)
	}
	list, _ := exp["unmapped"].([]any)
	for _, kv := range list {
		m := kv.(map[string]any)
		key, want := m["key"].(string), m["value"]
		got, ok := unmappedValue(ours, key)
		check("unmapped."+key, want, got, ok, "unmapped."+key)
	}
}

// unmappedValue finds where our 1.1.0 record keeps what rc.2 has at
// unmapped[key], rendered the way rc.2 renders it (array members joined
// with commas).
func unmappedValue(ours map[string]any, key string) (any, bool) {
	for _, mv := range unmappedMoves {
		if strings.HasSuffix(mv.from, ".") {
			if rest, ok := strings.CutPrefix(key, mv.from); ok {
				text, ok := testutil.Get(ours, mv.to)
				if !ok {
					return nil, false
				}
				return projectJSON(text.(string), rest)
			}
			continue
		}
		if key == mv.from {
			if strings.Contains(mv.to, "[]") {
				return project(ours, mv.to)
			}
			return testutil.Get(ours, mv.to)
		}
	}
	um, _ := ours["unmapped"].(map[string]any)
	if v, ok := um[key]; ok {
		return v, true
	}
	// An array: we keep it whole as JSON text under the path up to "[]".
	if i := strings.Index(key, "[]"); i >= 0 {
		if text, ok := um[key[:i]].(string); ok {
			return projectJSON(`{"x":`+text+`}`, "x"+key[i:])
		}
	}
	return nil, false
}

func projectJSON(text, path string) (any, bool) {
	d := json.NewDecoder(bytes.NewReader([]byte(text)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	return project(v, path)
}

// project follows path (segments with a "[]" suffix expand arrays) and
// joins the leaves with commas, as AWS's rc.2 flattening does.
func project(v any, path string) (any, bool) {
	cur := []any{v}
	for seg := range strings.SplitSeq(path, ".") {
		name, isArr := strings.CutSuffix(seg, "[]")
		var next []any
		for _, c := range cur {
			m, ok := c.(map[string]any)
			if !ok {
				continue
			}
			x, ok := m[name]
			if !ok {
				continue
			}
			if a, ok := x.([]any); ok && isArr {
				next = append(next, a...)
			} else {
				next = append(next, x)
			}
		}
		cur = next
	}
	if len(cur) == 0 {
		return nil, false
	}
	parts := make([]string, 0, len(cur))
	for _, c := range cur {
		switch x := c.(type) {
		case string:
			parts = append(parts, x)
		case json.Number:
			parts = append(parts, x.String())
		case float64:
			parts = append(parts, fmt.Sprint(x))
		case bool:
			parts = append(parts, fmt.Sprint(x))
		default:
			b, _ := json.Marshal(x)
			parts = append(parts, string(b))
		}
	}
	return strings.Join(parts, ","), true
}
