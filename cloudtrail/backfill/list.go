package backfill

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3API is the part of the S3 client the walk uses.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// Object is one selected log file.
type Object struct {
	Key  string
	Size int64
	ETag string // without quotes, as S3 event notifications carry it
	File LogFile
}

// Walker lists the selected log files of a bucket in key order.
type Walker struct {
	S3  S3API
	Sel *Selection
	// After skips every key up to and including it: the resume point.
	After string
	// Skipped is called for each key of a listed day folder that is not
	// selected, with the reason ("not a log file", "not selected").
	Skipped func(key, reason string)
	// Day is called when the walk starts listing a day folder.
	Day func(prefix string)
}

// Walk calls fn for every selected log file, in strictly increasing key
// order, and stops at the first error.
func (w *Walker) Walk(ctx context.Context, fn func(Object) error) error {
	tops, err := w.folders(ctx, w.Sel.root())
	if err != nil {
		return err
	}
	for _, p := range tops {
		name := strings.TrimSuffix(p[len(w.Sel.root()):], "/")
		switch {
		case strings.HasPrefix(name, "o-"):
			accts, err := w.folders(ctx, p)
			if err != nil {
				return err
			}
			for _, a := range accts {
				if err := w.account(ctx, a, fn); err != nil {
					return err
				}
			}
		case isAccount(name):
			if err := w.account(ctx, p, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// account walks ACCOUNT/CloudTrail/ (and CloudTrail-Insight/, which sorts
// before it) of one account folder. CloudTrail-Digest/ is never listed.
func (w *Walker) account(ctx context.Context, p string, fn func(Object) error) error {
	if !w.Sel.wantAccount(lastName(p)) {
		return nil
	}
	kinds := []string{KindLog}
	if w.Sel.Insights {
		kinds = []string{KindInsights, KindLog}
	}
	for _, k := range kinds {
		if !w.keep(p + k + "/") {
			continue
		}
		regions, err := w.folders(ctx, p+k+"/")
		if err != nil {
			return err
		}
		for _, r := range regions {
			if !w.Sel.wantRegion(lastName(r)) {
				continue
			}
			if err := w.dates(ctx, r, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// dates walks REGION/YYYY/MM/DD/, descending only into the years, months and
// days that overlap the selected range.
func (w *Walker) dates(ctx context.Context, region string, fn func(Object) error) error {
	return w.dateLevel(ctx, region, nil, fn)
}

// dateLevel walks the sub-folders of prefix, the folder of the date parts
// ymd (none, the year, or the year and the month).
func (w *Walker) dateLevel(ctx context.Context, prefix string, ymd []int, fn func(Object) error) error {
	if len(ymd) == 3 {
		return w.objects(ctx, prefix, fn)
	}
	subs, err := w.folders(ctx, prefix)
	if err != nil {
		return err
	}
	for _, p := range subs {
		n, ok := number(lastName(p), []int{4, 2, 2}[len(ymd)])
		next := append(ymd[:len(ymd):len(ymd)], n)
		if from, to, valid := period(next); ok && valid && w.Sel.overlaps(from, to) {
			if err := w.dateLevel(ctx, p, next, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// period is the time a year, month or day folder covers.
func period(ymd []int) (from, to time.Time, ok bool) {
	switch len(ymd) {
	case 1:
		return date(ymd[0], 1, 1), date(ymd[0]+1, 1, 1), true
	case 2:
		return date(ymd[0], ymd[1], 1), date(ymd[0], ymd[1]+1, 1), ymd[1] >= 1 && ymd[1] <= 12
	default:
		from := date(ymd[0], ymd[1], ymd[2])
		return from, from.AddDate(0, 0, 1), ymd[2] >= 1 && from.Day() == ymd[2]
	}
}

// objects lists one day folder completely, starting after the resume
// point when it lies inside it.
func (w *Walker) objects(ctx context.Context, prefix string, fn func(Object) error) error {
	if w.Day != nil {
		w.Day(prefix)
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(w.Sel.Bucket), Prefix: aws.String(prefix)}
	if strings.HasPrefix(w.After, prefix) {
		in.StartAfter = aws.String(w.After)
	}
	for {
		out, err := w.S3.ListObjectsV2(ctx, in)
		if err != nil {
			return fmt.Errorf("list s3://%s/%s: %w", w.Sel.Bucket, prefix, err)
		}
		for _, o := range out.Contents {
			key := aws.ToString(o.Key)
			if w.After != "" && key <= w.After {
				continue // an emulator that ignores StartAfter
			}
			f, ok := ParseKey(key)
			switch {
			case !ok:
				w.skip(key, "not a log file")
			case !w.Sel.Selected(f):
				w.skip(key, "not selected")
			default:
				obj := Object{Key: key, Size: aws.ToInt64(o.Size), ETag: strings.Trim(aws.ToString(o.ETag), `"`), File: f}
				if err := fn(obj); err != nil {
					return err
				}
			}
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			return nil
		}
		in.ContinuationToken = out.NextContinuationToken
	}
}

func (w *Walker) skip(key, reason string) {
	if w.Skipped != nil {
		w.Skipped(key, reason)
	}
}

// folders returns the sub-folders of prefix that can hold a selected key,
// sorted.
func (w *Walker) folders(ctx context.Context, prefix string) ([]string, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(w.Sel.Bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")}
	var out []string
	for {
		page, err := w.S3.ListObjectsV2(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", w.Sel.Bucket, prefix, err)
		}
		for _, cp := range page.CommonPrefixes {
			if p := aws.ToString(cp.Prefix); w.keep(p) {
				out = append(out, p)
			}
		}
		if !aws.ToBool(page.IsTruncated) || page.NextContinuationToken == nil {
			break
		}
		in.ContinuationToken = page.NextContinuationToken
	}
	sort.Strings(out)
	return out, nil
}

// keep reports whether folder p can hold a key to visit: it is on the path
// of Prefix and not wholly before the resume point. Every key under p is
// before After when p sorts before After and is not a prefix of it.
func (w *Walker) keep(p string) bool {
	if !w.Sel.onPath(p) {
		return false
	}
	return w.After == "" || p > w.After || strings.HasPrefix(w.After, p)
}

// lastName returns the last folder name of "a/b/c/": "c".
func lastName(p string) string {
	p = strings.TrimSuffix(p, "/")
	return p[strings.LastIndex(p, "/")+1:]
}

// number parses a zero-padded decimal folder name of exactly n digits.
func number(s string, n int) (int, bool) {
	if len(s) != n {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	return v, err == nil && v >= 0
}

func date(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
