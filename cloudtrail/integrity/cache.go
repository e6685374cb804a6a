package integrity

import (
	"sync"
	"time"
)

// Cache holds, in bounded memory, what the plugin learned recently and the
// next digests will ask for: the SHA-256 of the uncompressed content of
// every log file it ingested (so a digest arriving within the hour does not
// make it download them again) and the signature of every digest it
// checked (so the next digest of the chain finds its predecessor without an
// S3 call).
//
// Each map keeps at most its bound of entries, none older than ttl; the
// oldest go first. An entry is about 200 bytes (key text, hash, time), so
// the default bounds cost at most ~15 MB.
type Cache struct {
	files   boundedMap[[32]byte]
	digests boundedMap[string]
}

// Default cache bounds. CloudTrail delivers a log file about every 5
// minutes per account and region (more with data events), and the digest
// that lists it about an hour later; 3 hours covers late digests and
// backfills. 65536 files is an hour of ~5000 account-regions.
const (
	DefaultFileEntries   = 65536
	DefaultDigestEntries = 16384
	DefaultTTL           = 3 * time.Hour
)

// NewCache returns a cache with the given bounds (0: the default).
func NewCache(files, digests int, ttl time.Duration) *Cache {
	if files <= 0 {
		files = DefaultFileEntries
	}
	if digests <= 0 {
		digests = DefaultDigestEntries
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Cache{files: newBoundedMap[[32]byte](files, ttl), digests: newBoundedMap[string](digests, ttl)}
}

// PutFile records the hash of a log file's uncompressed content.
func (c *Cache) PutFile(bucket, key string, sum [32]byte) { c.files.put(bucket+"/"+key, sum) }

// File returns the recorded hash of a log file.
func (c *Cache) File(bucket, key string) ([32]byte, bool) { return c.files.get(bucket + "/" + key) }

// PutDigest records the signature of a digest (the hex text of its
// x-amz-meta-signature).
func (c *Cache) PutDigest(bucket, key, signature string) { c.digests.put(bucket+"/"+key, signature) }

// Digest returns the recorded signature of a digest.
func (c *Cache) Digest(bucket, key string) (string, bool) { return c.digests.get(bucket + "/" + key) }

// Len returns the number of log file hashes and digest signatures held.
func (c *Cache) Len() (files, digests int) { return c.files.len(), c.digests.len() }

// boundedMap is a map with a FIFO of insertion order: at most max entries,
// none older than ttl. A replaced key keeps its place in the FIFO, which
// only makes it leave a little early.
type boundedMap[V any] struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	m     map[string]entry[V]
	order []string // insertion order; head is the oldest
	head  int
}

type entry[V any] struct {
	v  V
	at time.Time
}

func newBoundedMap[V any](max int, ttl time.Duration) boundedMap[V] {
	return boundedMap[V]{max: max, ttl: ttl, m: make(map[string]entry[V])}
}

func (b *boundedMap[V]) put(k string, v V) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expire(now)
	if _, ok := b.m[k]; !ok {
		for len(b.m) >= b.max {
			b.evict()
		}
		b.order = append(b.order, k)
	}
	b.m[k] = entry[V]{v: v, at: now}
}

func (b *boundedMap[V]) get(k string) (V, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.m[k]
	if !ok || time.Since(e.at) > b.ttl {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (b *boundedMap[V]) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}

// expire drops entries older than ttl from the front.
func (b *boundedMap[V]) expire(now time.Time) {
	for b.head < len(b.order) {
		e, ok := b.m[b.order[b.head]]
		if ok && now.Sub(e.at) <= b.ttl {
			return
		}
		b.evict()
	}
}

// evict drops the oldest entry and compacts the FIFO now and then.
func (b *boundedMap[V]) evict() {
	if b.head >= len(b.order) {
		return
	}
	delete(b.m, b.order[b.head])
	b.order[b.head] = ""
	b.head++
	if b.head > len(b.order)/2 && b.head > 1024 {
		b.order = append(b.order[:0:0], b.order[b.head:]...)
		b.head = 0
	}
}
