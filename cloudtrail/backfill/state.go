package backfill

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// State is what a run has done, kept in a file so that the same command
// continues after Ctrl-C or a crash. Keys are enqueued in strictly
// increasing order, so one key, After, says how far it got: every selected
// key up to and including it is in the queue. The file is written after
// every batch the queue accepted; a crash between the send and the write
// means that batch (at most ten messages) is enqueued again on resume, and
// its objects are ingested twice.
type State struct {
	// Run identifies the selection and the queue; a state file is only
	// resumed by the same run.
	Run      RunID     `json:"run"`
	After    string    `json:"after,omitempty"`
	Objects  int64     `json:"objects"`
	Bytes    int64     `json:"bytes"`
	Messages int64     `json:"messages"`
	Done     bool      `json:"done"`
	Updated  time.Time `json:"updated"`

	path string
}

// RunID is what must be equal for a state file to be resumed.
type RunID struct {
	Queue    string   `json:"queue"`
	Bucket   string   `json:"bucket"`
	Prefix   string   `json:"prefix"`
	Start    string   `json:"start,omitempty"`
	End      string   `json:"end,omitempty"`
	Accounts []string `json:"accounts,omitempty"`
	Regions  []string `json:"regions,omitempty"`
	Insights bool     `json:"insights,omitempty"`
}

// ID returns the RunID of a selection sent to queue.
func (s *Selection) ID(queue string) RunID {
	id := RunID{Queue: queue, Bucket: s.Bucket, Prefix: s.Prefix, Accounts: s.Accounts, Regions: s.Regions, Insights: s.Insights}
	if !s.Start.IsZero() {
		id.Start = s.Start.Format(time.RFC3339)
	}
	if !s.End.IsZero() {
		id.End = s.End.Format(time.RFC3339)
	}
	return id
}

// OpenState reads the state file at path, or starts a new one when there is
// none. A file of another run is refused with an error matching ErrUsage:
// resuming it would skip keys this run never enqueued.
func OpenState(path string, id RunID) (st *State, resumed bool, err error) {
	st = &State{Run: id, path: path}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("resume file %s: %w", path, err)
	}
	var old State
	if err := json.Unmarshal(b, &old); err != nil {
		return nil, false, usagef("resume file %s: not a cloudtrail-backfill state file: %v", path, err)
	}
	want, _ := json.Marshal(id)
	got, _ := json.Marshal(old.Run)
	if string(want) != string(got) {
		return nil, false, usagef("resume file %s belongs to another run (%s); this run is %s: use the same flags, or another file", path, got, want)
	}
	old.path = path
	return &old, true, nil
}

// Save writes the state atomically: a crash leaves the old file or the new
// one, never a torn one.
func (st *State) Save() error {
	st.Updated = time.Now().UTC()
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(st.path), filepath.Base(st.path)+".*")
	if err != nil {
		return fmt.Errorf("resume file %s: %w", st.path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("resume file %s: %w", st.path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("resume file %s: %w", st.path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("resume file %s: %w", st.path, err)
	}
	if err := os.Rename(tmp.Name(), st.path); err != nil {
		return fmt.Errorf("resume file %s: %w", st.path, err)
	}
	return nil
}
