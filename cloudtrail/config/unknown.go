package config

import (
	"fmt"
	"strings"
)

// Unknown describes a key the plugin does not read, for the line that
// refuses it: Fluent Bit gives Go plugins no configuration map, so a
// misspelt key (bucket_alowlist) would otherwise switch a guard off
// silently. It names the closest key the plugin reads, when one is close.
func Unknown(key string) string {
	msg := fmt.Sprintf("unknown key %q", key)
	if s := Suggest(key); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg
}

// Suggest returns the key of Keys closest to key, or "" when none is
// within a third of its length in edits (at least two): a typo, not another
// word.
func Suggest(key string) string {
	key = strings.ToLower(key)
	best, bestD := "", max(2, len(key)/3)+1
	for _, k := range Keys {
		if d := editDistance(key, k.Name); d < bestD {
			best, bestD = k.Name, d
		}
	}
	return best
}

// IsKey reports whether the plugin reads key (case-insensitive, as Fluent
// Bit compares keys).
func IsKey(key string) bool {
	for _, k := range Keys {
		if strings.EqualFold(k.Name, key) {
			return true
		}
	}
	return false
}

// editDistance is the Levenshtein distance of two short ASCII strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
