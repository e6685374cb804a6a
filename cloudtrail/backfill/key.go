package backfill

import (
	"strings"
	"time"
)

// Kinds of CloudTrail log files, named after the folder CloudTrail writes
// them to.
const (
	KindLog      = "CloudTrail"         // management and data events
	KindInsights = "CloudTrail-Insight" // Insights events
	kindDigest   = "CloudTrail-Digest"  // integrity digests: never ingested
)

// nameTimeLayout is the delivery time in a log file's name.
const nameTimeLayout = "20060102T1504Z"

// LogFile is what a CloudTrail log file's key says about it.
type LogFile struct {
	Org     string // organization ID (o-...) for an organization trail, else ""
	Account string
	Kind    string // KindLog or KindInsights
	Region  string
	Time    time.Time // the delivery time in the file name, UTC
}

// ParseKey reads a key of the form
//
//	[PREFIX/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_UNIQUE.json.gz
//
// (CloudTrail-Insight in place of both CloudTrail for Insights files). It
// reports false for anything else, digests included: the folder, the file
// name and the date must all agree, so that a stray object that merely lives
// under AWSLogs/ is never taken for a log file.
func ParseKey(key string) (LogFile, bool) {
	i := strings.LastIndex(key, "AWSLogs/")
	if i < 0 || (i > 0 && key[i-1] != '/') {
		return LogFile{}, false
	}
	parts := strings.Split(key[i+len("AWSLogs/"):], "/")
	var f LogFile
	if len(parts) > 0 && strings.HasPrefix(parts[0], "o-") {
		f.Org, parts = parts[0], parts[1:]
	}
	if len(parts) != 7 {
		return LogFile{}, false
	}
	f.Account, f.Kind, f.Region = parts[0], parts[1], parts[2]
	if !isAccount(f.Account) || (f.Kind != KindLog && f.Kind != KindInsights) || f.Region == "" {
		return LogFile{}, false
	}
	name := parts[6]
	head := f.Account + "_" + f.Kind + "_" + f.Region + "_"
	if !strings.HasPrefix(name, head) || !strings.HasSuffix(name, ".json.gz") {
		return LogFile{}, false
	}
	rest := name[len(head):]
	if len(rest) < len(nameTimeLayout)+1 || rest[len(nameTimeLayout)] != '_' {
		return LogFile{}, false
	}
	t, err := time.Parse(nameTimeLayout, rest[:len(nameTimeLayout)])
	if err != nil {
		return LogFile{}, false
	}
	if t.Format("2006/01/02") != parts[3]+"/"+parts[4]+"/"+parts[5] {
		return LogFile{}, false
	}
	f.Time = t.UTC()
	return f, true
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
