package collector

import (
	"encoding/binary"
	"time"
)

// entryTime reads the EventTime of the first Fluent Bit entry in b, without
// decoding the rest: every encoder writes [EventTime, {...}] with a fixarray
// header and a fixext8 timestamp.
func entryTime(b []byte) (time.Time, bool) {
	if len(b) < 11 || b[0] != 0x92 || b[1] != 0xd7 || b[2] != 0x00 {
		return time.Time{}, false
	}
	return time.Unix(int64(binary.BigEndian.Uint32(b[3:])), int64(binary.BigEndian.Uint32(b[7:]))), true
}
