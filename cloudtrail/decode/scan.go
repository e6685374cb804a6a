package decode

import (
	"bytes"
	"errors"
)

// errShort means the value continues past the end of the buffer.
var errShort = errors.New("short buffer")

type scanError struct {
	off int
	msg string
}

func (e *scanError) Error() string { return e.msg }

// scanValue returns the length of the JSON value at the start of s. It only
// checks structure (strings, bracket matching, depth), which is enough to cut
// the input; the encoder validates everything it is given. stack is scratch
// space for the expected closing brackets, kept by the caller across calls.
func scanValue(s []byte, maxDepth int, stack *[]byte) (int, error) {
	st := (*stack)[:0]
	defer func() { *stack = st }()
	i := 0
	for {
		// A value starts at s[i].
		i = skipWS(s, i)
		if i >= len(s) {
			return 0, errShort
		}
		switch c := s[i]; c {
		case '{', '[':
			if len(st) >= maxDepth {
				return 0, &scanError{i, "nesting depth exceeds MaxDepth"}
			}
			closer := byte('}')
			if c == '[' {
				closer = ']'
			}
			st = append(st, closer)
			i = skipWS(s, i+1)
			if i >= len(s) {
				return 0, errShort
			}
			if s[i] == closer {
				st = st[:len(st)-1]
				i++
				break
			}
			if c == '{' {
				var err error
				if i, err = scanKey(s, i); err != nil {
					return 0, err
				}
			}
			continue
		case '"':
			j, err := scanString(s, i)
			if err != nil {
				return 0, err
			}
			i = j
		default:
			j := i
			for j < len(s) && isScalarByte(s[j]) {
				j++
			}
			if j == len(s) {
				// The scalar may go on in the next read.
				return 0, errShort
			}
			if j == i {
				return 0, &scanError{i, "invalid character " + quoteByte(c) + " looking for beginning of value"}
			}
			i = j
		}
		// A value ended at s[i]: close containers or move to the next
		// element.
		for {
			if len(st) == 0 {
				return i, nil
			}
			i = skipWS(s, i)
			if i >= len(s) {
				return 0, errShort
			}
			c := s[i]
			top := st[len(st)-1]
			if c == top {
				st = st[:len(st)-1]
				i++
				continue
			}
			if c != ',' {
				return 0, &scanError{i, "invalid character " + quoteByte(c) + " after value"}
			}
			i++
			if top == '}' {
				var err error
				if i, err = scanKey(s, skipWS(s, i)); err != nil {
					return 0, err
				}
			}
			break
		}
	}
}

// scanKey scans `"key" :` at s[i] and returns the index after the colon.
func scanKey(s []byte, i int) (int, error) {
	if i >= len(s) {
		return 0, errShort
	}
	if s[i] != '"' {
		return 0, &scanError{i, "invalid character " + quoteByte(s[i]) + " looking for object key"}
	}
	i, err := scanString(s, i)
	if err != nil {
		return 0, err
	}
	i = skipWS(s, i)
	if i >= len(s) {
		return 0, errShort
	}
	if s[i] != ':' {
		return 0, &scanError{i, "invalid character " + quoteByte(s[i]) + " after object key"}
	}
	return i + 1, nil
}

// scanString returns the index after the string starting at s[i] == '"'.
func scanString(s []byte, i int) (int, error) {
	j := i + 1
	for {
		k := bytes.IndexByte(s[j:], '"')
		if k < 0 {
			return 0, errShort
		}
		j += k
		// The quote is escaped iff an odd number of backslashes
		// precedes it.
		b := j - 1
		for b > i && s[b] == '\\' {
			b--
		}
		if (j-1-b)%2 == 0 {
			return j + 1, nil
		}
		j++
	}
}

func isScalarByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c >= 'A' && c <= 'Z'
}

func skipWS(s []byte, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\n', '\r', '\t':
			i++
		default:
			return i
		}
	}
	return i
}

func quoteByte(c byte) string {
	const hex = "0123456789abcdef"
	if c >= 0x20 && c < 0x7f && c != '\'' {
		return "'" + string(rune(c)) + "'"
	}
	return `'\x` + string(hex[c>>4]) + string(hex[c&15]) + "'"
}
