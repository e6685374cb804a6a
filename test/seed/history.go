package seed

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
)

// HistoryFile is one log file of a History.
type HistoryFile struct {
	Key             string
	Account, Region string
	Time            time.Time
	EventIDs        []string
}

// History is a trail's past in a bucket, uploaded without notifications:
// what a backfill must find.
type History struct {
	Bucket string
	Files  []HistoryFile // CloudTrail log files
	// Insights is an Insights file; Others are digests and keys that are
	// not log files. Neither may be ingested by default.
	Insights HistoryFile
	Others   []string
}

// History layout: 3 accounts (the last one under an organization trail's
// AWSLogs/o-ORGID/), 2 regions, 3 days, 2 files a day at 01:30 and 12:45.
var (
	HistoryAccounts = []string{"111111111111", "222222222222", "333333333333"}
	HistoryOrg      = "o-exampleorg1"
	HistoryRegions  = []string{"eu-west-1", "us-east-1"}
	HistoryDays     = []string{"2024-03-01", "2024-03-02", "2024-03-03"}
	HistoryTimes    = []string{"0130", "1245"}
)

// PutHistory creates bucket (without notifications) and uploads a History
// into it, each log file holding events events.
func PutHistory(ctx context.Context, srv *emu.Server, bucket string, events int) (*History, error) {
	if err := srv.CreateBucket(ctx, bucket, ""); err != nil {
		return nil, err
	}
	h := &History{Bucket: bucket}
	put := func(key string, body []byte) error { return srv.Put(ctx, bucket, key, body) }
	for _, acct := range HistoryAccounts {
		root := "AWSLogs/" + acct + "/"
		if acct == HistoryAccounts[2] {
			root = "AWSLogs/" + HistoryOrg + "/" + acct + "/"
		}
		for _, region := range HistoryRegions {
			for _, day := range HistoryDays {
				d, _ := time.Parse("2006-01-02", day)
				for i, hm := range HistoryTimes {
					t, _ := time.Parse("2006-01-02T1504Z", day+"T"+hm+"Z")
					key := fmt.Sprintf("%sCloudTrail/%s/%s/%s_CloudTrail_%s_%sZ_%s%d.json.gz",
						root, region, d.Format("2006/01/02"), acct, region, t.Format("20060102T1504"), "Ab12Cd34", i)
					body, ids := Synthetic(fmt.Sprintf("%s-%s-%s", acct, region, t.Format("20060102T1504")), events)
					if err := put(key, Gzip(body)); err != nil {
						return nil, err
					}
					h.Files = append(h.Files, HistoryFile{Key: key, Account: acct, Region: region, Time: t, EventIDs: ids})
				}
				digest := fmt.Sprintf("%sCloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_trail_%s_%sT235959Z.json.gz",
					root, region, d.Format("2006/01/02"), acct, region, region, d.Format("20060102"))
				if err := put(digest, Gzip([]byte(`{"digestStartTime":"`+day+`T00:00:00Z","logFiles":[]}`))); err != nil {
					return nil, err
				}
				h.Others = append(h.Others, digest)
			}
		}
	}
	// Keys that live where log files do but are not log files.
	a, dir := HistoryAccounts[0], "AWSLogs/"+HistoryAccounts[0]+"/CloudTrail/us-east-1/2024/03/02/"
	for _, k := range []string{
		dir + "notes.txt",
		dir + a + "_CloudTrail_us-east-1_20240302T0300Z_plain.json",        // not .json.gz
		dir + "222222222222_CloudTrail_us-east-1_20240302T0400Z_x.json.gz", // another account's name
		dir + a + "_CloudTrail_us-east-1_20240301T0500Z_y.json.gz",         // another day's name
		"AWSLogs/" + a + "/elasticloadbalancing/us-east-1/2024/03/02/lb.log.gz",
		"other/2024/03/02/readme.txt",
	} {
		body, _ := Synthetic("not-a-log-file-"+fmt.Sprint(len(h.Others)), 1)
		if err := put(k, Gzip(body)); err != nil {
			return nil, err
		}
		h.Others = append(h.Others, k)
	}
	t, _ := time.Parse("2006-01-02T1504Z", "2024-03-02T1000Z")
	body, ids := Synthetic("insights", events)
	h.Insights = HistoryFile{Key: "AWSLogs/" + a + "/CloudTrail-Insight/us-east-1/2024/03/02/" + a + "_CloudTrail-Insight_us-east-1_20240302T1000Z_In5ights.json.gz",
		Account: a, Region: "us-east-1", Time: t, EventIDs: ids}
	if err := put(h.Insights.Key, Gzip(body)); err != nil {
		return nil, err
	}
	return h, nil
}

// Select returns the log files for which keep is true.
func (h *History) Select(keep func(HistoryFile) bool) []HistoryFile {
	var out []HistoryFile
	for _, f := range h.Files {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out
}

// Events returns the eventIDs of files, each counted once.
func Events(files []HistoryFile) map[string]int {
	out := map[string]int{}
	for _, f := range files {
		for _, id := range f.EventIDs {
			out[id]++
		}
	}
	return out
}
