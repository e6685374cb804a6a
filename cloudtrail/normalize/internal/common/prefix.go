package common

import (
	"io"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/jsontree"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

// AppendObjectPrefix is what the OCSF and ECS encoders' AppendObjectPrefix
// share: it parses the event at the start of buf, which may go on with
// more input (the decoder's window), into t, and appends its entry with
// encode. It returns the length of the event. When buf ends inside the
// event the error is io.ErrUnexpectedEOF, unwrapped, and the caller may
// call again with more input. Any other error (the event nests deeper than
// maxDepth, or is not valid) says no more than that: Append of the whole
// event says why. On error dst is returned unchanged.
func AppendObjectPrefix(t *jsontree.Tree, dst, buf []byte, maxDepth int, src *record.Source,
	encode func(dst []byte, src *record.Source) ([]byte, error)) ([]byte, int, error) {
	n, err := t.ParsePrefix(buf, maxDepth)
	if err == jsontree.ErrShort {
		return dst, 0, io.ErrUnexpectedEOF
	}
	if err != nil {
		return dst, 0, err
	}
	out, err := encode(dst, src)
	if err != nil {
		return dst, 0, err
	}
	return out, n, nil
}
