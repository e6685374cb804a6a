package record

import (
	"strings"
	"testing"
)

func TestUsableEventID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"7116c6a1-3f24-4b3a-9c1e-0a1b2c3d4e5f", true},
		{"e-1", true},
		{strings.Repeat("a", MaxEventIDLen), true},
		{"", false},
		{strings.Repeat("a", MaxEventIDLen+1), false},
		{"a b", false},
		{`a"b`, false},
		{`a\b`, false},
		{"a\nb", false},
		{"a\x7fb", false},
		{"é", false},
	} {
		if got := UsableEventID([]byte(tc.id)); got != tc.want {
			t.Errorf("UsableEventID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

func derived(src Source) string {
	return string(AppendDerivedID(nil, &src))
}

func TestDerivedID(t *testing.T) {
	base := Source{Bucket: "trail", Key: "AWSLogs/1/CloudTrail/x.json.gz", ETag: `"d41d8cd98f00b204e9800998ecf8427e"`, Index: 3,
		QueueURL: "q1", MessageID: "m1"}
	id := derived(base)
	// A known answer, so that a change of the derivation (which would
	// duplicate every stored event without eventID) cannot go unnoticed.
	const want = "38c7cb8dcaa4b57cdfd76991eb8c5fa8"
	if len(id) != DerivedIDLen || strings.Trim(id, "0123456789abcdef") != "" {
		t.Fatalf("derived id %q is not %d lowercase hex digits", id, DerivedIDLen)
	}
	if id != want {
		t.Errorf("derived id = %s, want %s", id, want)
	}
	if id != derived(base) {
		t.Fatal("derived id is not deterministic")
	}
	same := base
	same.ETag = strings.Trim(base.ETag, `"`)
	same.QueueURL, same.MessageID = "q2", "m2" // another delivery of the same object
	if derived(same) != id {
		t.Error("ETag without quotes, or another queue or message, changes the id")
	}
	for name, f := range map[string]func(*Source){
		"index":  func(s *Source) { s.Index = 4 },
		"etag":   func(s *Source) { s.ETag = `"0cc175b9c0f1b6a831c399e269772661"` },
		"key":    func(s *Source) { s.Key += "x" },
		"bucket": func(s *Source) { s.Bucket = "trail2" },
		// Fields are length-prefixed, so moving bytes between them
		// changes the id.
		"split": func(s *Source) { s.Bucket, s.Key = s.Bucket+"A", s.Key[1:] },
	} {
		s := base
		f(&s)
		if derived(s) == id {
			t.Errorf("changing %s keeps the id", name)
		}
	}
}

func TestID(t *testing.T) {
	src := &Source{Bucket: "b", Key: "k", Index: 1}
	var buf [DerivedIDLen]byte
	if got := ID([]byte("e-1"), src, &buf); string(got) != "e-1" {
		t.Errorf("ID with eventID = %q", got)
	}
	for _, ev := range []string{"", "a b", `a"b`} {
		if got := string(ID([]byte(ev), src, &buf)); got != derived(*src) {
			t.Errorf("ID with eventID %q = %q, want the derived id", ev, got)
		}
	}
	if got := string(ID(nil, src, &buf)); got != derived(*src) {
		t.Errorf("ID without eventID = %q, want the derived id", got)
	}
	if n := testing.AllocsPerRun(100, func() { ID(nil, src, &buf) }); n != 0 {
		t.Errorf("ID allocates %v times", n)
	}
}

// TestUsableEventIDEveryByte checks the word-at-a-time scan against the
// rule byte by byte, for every byte value at every position of a word and
// of the tail.
func TestUsableEventIDEveryByte(t *testing.T) {
	ok := func(c byte) bool { return c > ' ' && c < 0x7f && c != '"' && c != '\\' }
	for n := 1; n <= 19; n++ {
		for pos := range n {
			for c := range 256 {
				id := []byte(strings.Repeat("a", n))
				id[pos] = byte(c)
				if got := UsableEventID(id); got != ok(byte(c)) {
					t.Fatalf("UsableEventID(%q) = %v", id, got)
				}
				// A bad byte next to ones that borrow in the subtraction.
				id2 := []byte(strings.Repeat("!", n))
				id2[pos] = byte(c)
				if got := UsableEventID(id2); got != ok(byte(c)) {
					t.Fatalf("UsableEventID(%q) = %v", id2, got)
				}
			}
		}
	}
}
