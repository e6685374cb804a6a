package config

import "testing"

func TestUnknown(t *testing.T) {
	for key, want := range map[string]string{
		"bucket_alowlist":        `unknown key "bucket_alowlist" (did you mean "bucket_allowlist"?)`,
		"Expected_Bucket_Ownr":   `unknown key "Expected_Bucket_Ownr" (did you mean "expected_bucket_owner"?)`,
		"wokers":                 `unknown key "wokers" (did you mean "workers"?)`,
		"compression":            `unknown key "compression"`,
		"interval_sec":           `unknown key "interval_sec"`,
		"bucket_allowlist_extra": `unknown key "bucket_allowlist_extra" (did you mean "bucket_allowlist"?)`,
	} {
		if got := Unknown(key); got != want {
			t.Errorf("Unknown(%q) = %s, want %s", key, got, want)
		}
	}
	if !IsKey("Queue_URL") || IsKey("queue") {
		t.Error("IsKey")
	}
}
