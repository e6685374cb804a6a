// Package seed loads the project's real CloudTrail files and uploads them to
// the emulator the way CloudTrail writes them: gzip'd JSON under
// AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/ keys, so that the
// emulator's S3 notifies the queue.
package seed

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// File is one CloudTrail log file of the corpus.
type File struct {
	Path     string   // path the file was read from
	JSON     []byte   // uncompressed content
	EventIDs []string // eventID of every record, in order
	Digest   bool     // a digest file: no records, must never be emitted
}

// Corpus returns every CloudTrail file below dir: *.json with a Records
// array, *.json.gz and *.test.gz, and digest files. Duplicates of the same
// content are kept once.
func Corpus(dir string) ([]File, error) {
	var files []File
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		if !(strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".gz")) || strings.HasSuffix(name, ".ocsf.json") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(name, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			if data, err = io.ReadAll(zr); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		var doc struct {
			Records         []map[string]any `json:"Records"`
			DigestStartTime string           `json:"digestStartTime"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil // not a CloudTrail file (e.g. a manifest)
		}
		f := File{Path: p, JSON: data}
		switch {
		case doc.DigestStartTime != "":
			f.Digest = true
		case doc.Records != nil:
			for _, r := range doc.Records {
				id, _ := r["eventID"].(string)
				f.EventIDs = append(f.EventIDs, id)
			}
		default:
			return nil
		}
		key := string(data)
		if seen[key] {
			return nil
		}
		seen[key] = true
		files = append(files, f)
		return nil
	})
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, err
}

// Gzip compresses b.
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// Key returns a CloudTrail-style object key for the i-th file.
func Key(account, region string, i int) string {
	return fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/2024/01/%02d/%s_CloudTrail_%s_20240101T%04dZ_%016x.json.gz",
		account, region, 1+i%28, account, region, i%2400, uint64(i)*0x9e3779b97f4a7c15)
}

// DigestKey returns a CloudTrail-style digest key.
func DigestKey(account, region string, i int) string {
	return fmt.Sprintf("AWSLogs/%s/CloudTrail-Digest/%s/2024/01/01/%s_CloudTrail-Digest_%s_trail_%s_20240101T%04dZ.json.gz",
		account, region, account, region, region, i)
}
