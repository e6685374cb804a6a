package integrity

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/klauspost/compress/gzip"
)

var errTooLarge = errors.New("too large")

// hashStream copies the uncompressed content of r (gzip, recognised by its
// magic bytes as the decoder does, or plain) to w and returns its SHA-256
// and length. More than max uncompressed bytes (0: no limit) is an error
// wrapping errTooLarge.
func hashStream(r io.Reader, w io.Writer, max int64) (sum [32]byte, n int64, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	body := io.Reader(br)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return sum, 0, fmt.Errorf("gzip header: %w", err)
		}
		defer gz.Close()
		body = gz
	}
	if max > 0 {
		body = io.LimitReader(body, max+1)
	}
	h := sha256.New()
	n, err = io.Copy(io.MultiWriter(h, w), body)
	if err != nil {
		return sum, n, fmt.Errorf("read: %w", err)
	}
	if max > 0 && n > max {
		return sum, n, fmt.Errorf("%w: more than %d bytes after decompression", errTooLarge, max)
	}
	h.Sum(sum[:0])
	return sum, n, nil
}

// NewHash returns the hash the collector feeds with the uncompressed
// content of every log file it ingests (decode.Decoder.Tee), for
// Cache.PutFile.
func NewHash() hash.Hash { return sha256.New() }

// hexEqual compares a binary hash with hex text, in constant time for
// equal lengths (nothing secret here, but it costs nothing).
func hexEqual(sum []byte, text string) bool {
	b, err := hex.DecodeString(text)
	if err != nil || len(b) != len(sum) {
		return false
	}
	var d byte
	for i := range b {
		d |= b[i] ^ sum[i]
	}
	return d == 0
}
