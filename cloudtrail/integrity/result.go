package integrity

import "time"

// Verdicts of a digest's signature (Result.Signature).
const (
	SigValid      = "valid"       // verified with the key the digest names
	SigInvalid    = "invalid"     // the key does not verify it: the digest or its signature was altered
	SigUnknownKey = "unknown_key" // no public key has the digest's fingerprint
	SigMissing    = "missing"     // the digest object has no signature metadata
	SigMoved      = "moved"       // the digest names another bucket or key than where it is
)

// Verdicts of a digest's link to the previous one (Result.Chain).
const (
	ChainOK       = "ok"               // previousDigestSignature is the previous digest's signature
	ChainStart    = "start"            // no previous digest: the trail's first, or the first after logging or validation was off
	ChainMissing  = "previous_missing" // the previous digest the digest names is gone
	ChainMismatch = "mismatch"         // the previous digest exists with another signature: it was replaced
)

// Results of a whole digest (Result.Result) and of one log file.
const (
	ResultValid   = "valid"
	ResultInvalid = "invalid"

	FileVerified  = "verified"
	FileMissing   = "missing"
	FileModified  = "modified"
	FileUnchecked = "unchecked" // a hash algorithm other than SHA-256
)

// Result is the finding about one digest.
type Result struct {
	Bucket, Key string // where the digest is
	ETag        string
	Account     string
	Region      string
	Trail       string
	Backfill    bool
	StartTime   string // digestStartTime as written
	EndTime     string // digestEndTime as written
	End         time.Time
	Fingerprint string

	Signature string // a Sig* verdict
	Chain     string // a Chain* verdict
	// PreviousBucket and PreviousKey name the previous digest ("" at a
	// chain's start).
	PreviousBucket, PreviousKey string

	Listed    int
	Verified  int
	Cached    int // of Verified, how many from hashes of files the plugin ingested
	Missing   []string
	Modified  []string
	Unchecked []string
	// Problems are one sentence each, for the record and the warn lines.
	Problems []string
	kinds    []string // the kind of each problem: signature, chain, file
	Checked  time.Time
}

// Valid reports whether nothing is wrong.
func (r *Result) Valid() bool { return len(r.Problems) == 0 }

// Verdict is ResultValid or ResultInvalid.
func (r *Result) Verdict() string {
	if r.Valid() {
		return ResultValid
	}
	return ResultInvalid
}
