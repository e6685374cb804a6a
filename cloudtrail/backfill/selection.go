package backfill

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Selection says which log files to enqueue.
type Selection struct {
	Bucket string
	// Prefix is where the trail writes: it must contain "AWSLogs/"
	// (PREFIX/AWSLogs/ for a trail with a key prefix) and may go further
	// (AWSLogs/o-ORGID/, AWSLogs/ACCOUNT/CloudTrail/us-east-1/) to narrow
	// the walk.
	Prefix string
	// Start and End bound the time in the file name: [Start, End). A zero
	// Start means the beginning; a zero End means no end.
	Start, End time.Time
	// Accounts and Regions, when not empty, are the only ones walked.
	Accounts, Regions []string
	// Insights adds the CloudTrail-Insight files.
	Insights bool
}

// ErrUsage is matched by the errors of a selection that cannot be run (a
// missing bucket, a bad date, an end before the start): nothing has been
// enqueued when it is returned.
var ErrUsage = errors.New("usage")

// usageError reads as its message alone and matches ErrUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == ErrUsage }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// ParseTime reads an RFC 3339 time or a YYYY-MM-DD date (midnight UTC).
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usagef("%q is neither RFC 3339 (2024-01-02T15:04:05Z) nor YYYY-MM-DD", s)
	}
	return t.UTC(), nil
}

// SplitList splits a comma-separated flag value, dropping empty items.
func SplitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// Validate reports a selection that cannot be run, matching ErrUsage.
func (s *Selection) Validate() error {
	if s.Bucket == "" {
		return usagef("-bucket is required")
	}
	if strings.Contains(s.Bucket, "/") {
		return usagef("-bucket %q: a bucket name, without s3:// or a key", s.Bucket)
	}
	if !strings.Contains(s.Prefix, "AWSLogs/") {
		return usagef("-prefix %q: must contain AWSLogs/ (PREFIX/AWSLogs/ for a trail with a key prefix)", s.Prefix)
	}
	if !s.Start.IsZero() && !s.End.IsZero() && !s.Start.Before(s.End) {
		return usagef("-end %s is not after -start %s", s.End.Format(time.RFC3339), s.Start.Format(time.RFC3339))
	}
	for _, a := range s.Accounts {
		if !isAccount(a) {
			return usagef("-accounts: %q is not a 12-digit account ID", a)
		}
	}
	return nil
}

// root is the listing's starting point: Prefix up to and including the
// last "AWSLogs/".
func (s *Selection) root() string {
	i := strings.LastIndex(s.Prefix, "AWSLogs/")
	return s.Prefix[:i+len("AWSLogs/")]
}

// onPath reports whether a folder p can hold keys under Prefix: it is
// inside it, or Prefix is inside p.
func (s *Selection) onPath(p string) bool {
	return strings.HasPrefix(p, s.Prefix) || strings.HasPrefix(s.Prefix, p)
}

func (s *Selection) wantAccount(a string) bool {
	return len(s.Accounts) == 0 || slices.Contains(s.Accounts, a)
}

func (s *Selection) wantRegion(r string) bool {
	return len(s.Regions) == 0 || slices.Contains(s.Regions, r)
}

// overlaps reports whether the period [from, to) can hold a selected time.
func (s *Selection) overlaps(from, to time.Time) bool {
	return (s.End.IsZero() || from.Before(s.End)) && (s.Start.IsZero() || to.After(s.Start))
}

// Selected reports whether a log file's time is in [Start, End) and its
// account, region and kind are wanted.
func (s *Selection) Selected(f LogFile) bool {
	if f.Kind == KindInsights && !s.Insights {
		return false
	}
	if !s.wantAccount(f.Account) || !s.wantRegion(f.Region) {
		return false
	}
	return (s.Start.IsZero() || !f.Time.Before(s.Start)) && (s.End.IsZero() || f.Time.Before(s.End))
}
