package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// summary counts the records the demo printed by where they came from, so a
// person sees at the end what just went through, whatever the schema.
type summary struct {
	mu       sync.Mutex
	bySource map[string]int // AWS service that logged the event
	byClass  map[string]int // OCSF class (schema ocsf only)
	byAcct   map[string]int // account the event belongs to
}

func newSummary() *summary {
	return &summary{bySource: map[string]int{}, byClass: map[string]int{}, byAcct: map[string]int{}}
}

// add reads one printed JSON record; anything else is ignored.
func (s *summary) add(line string) {
	var r map[string]any
	if json.Unmarshal([]byte(line), &r) != nil {
		return
	}
	source := first(r, "eventSource", "api.service.name", "event.provider")
	account := first(r, "recipientAccountId", "cloud.account.uid", "actor.user.account.uid", "cloud.account.id")
	class := first(r, "class_name")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bySource[source]++
	s.byAcct[account]++
	if class != "" {
		s.byClass[class]++
	}
}

// first returns the first dotted path that holds a string in r, or "?".
func first(r map[string]any, paths ...string) string {
	for _, p := range paths {
		var v any = r
		for _, k := range strings.Split(p, ".") {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		if s, ok := v.(string); ok && s != "" {
			return s
		}
	}
	if len(paths) == 1 {
		return ""
	}
	return "?"
}

// print writes the counts, the largest first, at most 8 rows a table.
func (s *summary) print(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range []struct {
		title string
		m     map[string]int
	}{{"by source", s.bySource}, {"by OCSF class", s.byClass}, {"by account", s.byAcct}} {
		if len(t.m) == 0 {
			continue
		}
		keys := make([]string, 0, len(t.m))
		for k := range t.m {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if t.m[keys[i]] != t.m[keys[j]] {
				return t.m[keys[i]] > t.m[keys[j]]
			}
			return keys[i] < keys[j]
		})
		fmt.Fprintf(w, "demo: %s:", t.title)
		for i, k := range keys {
			if i == 8 {
				fmt.Fprintf(w, " (+%d more)", len(keys)-8)
				break
			}
			fmt.Fprintf(w, " %s=%d", k, t.m[k])
		}
		fmt.Fprintln(w)
	}
}
