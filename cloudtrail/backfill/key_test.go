package backfill

import (
	"testing"
	"time"
)

func TestParseKey(t *testing.T) {
	good := []struct {
		key  string
		want LogFile
	}{
		{"AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/02/111122223333_CloudTrail_us-east-1_20240302T1245Z_Ab12.json.gz",
			LogFile{Account: "111122223333", Kind: KindLog, Region: "us-east-1", Time: time.Date(2024, 3, 2, 12, 45, 0, 0, time.UTC)}},
		{"AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/12/31/111122223333_CloudTrail_eu-west-1_20241231T2355Z_x.json.gz",
			LogFile{Org: "o-abc123", Account: "111122223333", Kind: KindLog, Region: "eu-west-1", Time: time.Date(2024, 12, 31, 23, 55, 0, 0, time.UTC)}},
		{"my/prefix/AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2024/03/02/111122223333_CloudTrail-Insight_us-east-1_20240302T1000Z_x.json.gz",
			LogFile{Account: "111122223333", Kind: KindInsights, Region: "us-east-1", Time: time.Date(2024, 3, 2, 10, 0, 0, 0, time.UTC)}},
	}
	for _, g := range good {
		got, ok := ParseKey(g.key)
		if !ok || got != g.want {
			t.Errorf("ParseKey(%s) = %+v, %v; want %+v", g.key, got, ok, g.want)
		}
	}
	for _, bad := range []string{
		"AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/02/111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20240302T235959Z.json.gz",
		"AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/02/notes.txt",
		"AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/02/111122223333_CloudTrail_us-east-1_20240302T1245Z_x.json",
		"AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/02/999999999999_CloudTrail_us-east-1_20240302T1245Z_x.json.gz",
		"AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/01/111122223333_CloudTrail_us-east-1_20240302T1245Z_x.json.gz",
		"AWSLogs/111122223333/CloudTrail/us-west-2/2024/03/02/111122223333_CloudTrail_us-east-1_20240302T1245Z_x.json.gz",
		"AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/02/111122223333_CloudTrail_us-east-1_20240302T2460Z_x.json.gz",
		"AWSLogs/1111/CloudTrail/us-east-1/2024/03/02/1111_CloudTrail_us-east-1_20240302T1245Z_x.json.gz",
		"AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/02/",
		"xAWSLogs/111122223333/CloudTrail/us-east-1/2024/03/02/111122223333_CloudTrail_us-east-1_20240302T1245Z_x.json.gz",
		"AWSLogs/111122223333/elasticloadbalancing/us-east-1/2024/03/02/x.log.gz",
	} {
		if f, ok := ParseKey(bad); ok {
			t.Errorf("ParseKey(%s) = %+v: taken for a log file", bad, f)
		}
	}
}

func TestParseTimeAndValidate(t *testing.T) {
	if got, err := ParseTime("2024-03-02"); err != nil || !got.Equal(time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("ParseTime(date) = %v, %v", got, err)
	}
	if got, err := ParseTime("2024-03-02T14:45:00+02:00"); err != nil || !got.Equal(time.Date(2024, 3, 2, 12, 45, 0, 0, time.UTC)) || got.Location() != time.UTC {
		t.Errorf("ParseTime(RFC 3339) = %v, %v", got, err)
	}
	for _, bad := range []string{"2024-13-01", "yesterday", "2024-03-02 12:00"} {
		if _, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q): no error", bad)
		}
	}
	d := func(s string) time.Time { v, _ := ParseTime(s); return v }
	for _, s := range []Selection{
		{Prefix: "AWSLogs/"},
		{Bucket: "b", Prefix: "logs/"},
		{Bucket: "s3://b/x", Prefix: "AWSLogs/"},
		{Bucket: "b", Prefix: "AWSLogs/", Start: d("2024-03-02"), End: d("2024-03-01")},
		{Bucket: "b", Prefix: "AWSLogs/", Start: d("2024-03-02"), End: d("2024-03-02")},
		{Bucket: "b", Prefix: "AWSLogs/", Accounts: []string{"12"}},
	} {
		if err := s.Validate(); err == nil {
			t.Errorf("%+v: valid", s)
		}
	}
	ok := Selection{Bucket: "b", Prefix: "AWSLogs/o-x/", Start: d("2024-03-01"), End: d("2024-03-02")}
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
}
