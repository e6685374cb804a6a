package deploy

import (
	"fmt"
	"strings"
)

// hclBlock is a top-level block of an HCL file: its header (`resource
// "aws_sqs_queue" "queue"`) and body text.
type hclBlock struct {
	Header string
	Body   string
	Line   int
}

// scanHCL checks an HCL file's lexical structure without an HCL library:
// strings (with ${} interpolations, which may hold strings), heredocs,
// comments, and balanced (), [] and {}. It returns the top-level blocks with
// comments removed. `terraform fmt -check` does the full parse when a
// terraform binary is present.
func scanHCL(src string) ([]hclBlock, error) {
	var (
		out      []hclBlock
		stack    []byte // open brackets; 's' for a string, 'i' for an interpolation
		clean    strings.Builder
		line     = 1
		start    int // offset in clean where the current top-level header starts
		bodyAt   int
		headLine int
	)
	closer := map[byte]byte{'}': '{', ']': '[', ')': '('}
	top := func() byte {
		if len(stack) == 0 {
			return 0
		}
		return stack[len(stack)-1]
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '\n' {
			line++
		}
		if top() == 's' {
			clean.WriteByte(c)
			switch {
			case c == '\\' && i+1 < len(src):
				i++
				clean.WriteByte(src[i])
			case c == '"':
				stack = stack[:len(stack)-1]
			case c == '$' && i+1 < len(src) && src[i+1] == '{':
				i++
				clean.WriteByte('{')
				stack = append(stack, 'i')
			case c == '\n':
				return nil, fmt.Errorf("line %d: string not closed", line-1)
			}
			continue
		}
		switch {
		case c == '#' || (c == '/' && i+1 < len(src) && src[i+1] == '/'):
			for i < len(src) && src[i] != '\n' {
				i++
			}
			i--
			continue
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("line %d: comment not closed", line)
			}
			line += strings.Count(src[i:i+2+end+2], "\n")
			i += end + 3
			continue
		case c == '<' && strings.HasPrefix(src[i:], "<<"):
			j := i + 2
			if j < len(src) && src[j] == '-' {
				j++
			}
			k := j
			for k < len(src) && (src[k] == '_' || src[k] >= 'A' && src[k] <= 'Z' || src[k] >= 'a' && src[k] <= 'z') {
				k++
			}
			id := src[j:k]
			if id == "" {
				return nil, fmt.Errorf("line %d: heredoc without a delimiter", line)
			}
			rest := src[k:]
			end := -1
			for off := 0; off < len(rest); {
				nl := strings.IndexByte(rest[off:], '\n')
				if nl < 0 {
					break
				}
				off += nl + 1
				ln := rest[off:]
				if e := strings.IndexByte(ln, '\n'); e >= 0 {
					ln = ln[:e]
				}
				if strings.TrimSpace(ln) == id {
					end = off + len(ln)
					break
				}
			}
			if end < 0 {
				return nil, fmt.Errorf("line %d: heredoc %s not closed", line, id)
			}
			line += strings.Count(rest[:end], "\n")
			clean.WriteString(`"heredoc"`)
			i = k + end - 1
			continue
		}
		clean.WriteByte(c)
		switch c {
		case '"':
			stack = append(stack, 's')
		case '{', '[', '(':
			if c == '{' && len(stack) == 0 {
				bodyAt, headLine = clean.Len(), line
			}
			stack = append(stack, c)
		case '}', ']', ')':
			if c == '}' && top() == 'i' {
				stack = stack[:len(stack)-1]
				continue
			}
			if top() != closer[c] {
				return nil, fmt.Errorf("line %d: %q does not close %q", line, c, top())
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 && c == '}' {
				s := clean.String()
				out = append(out, hclBlock{
					Header: strings.Join(strings.Fields(s[start:bodyAt-1]), " "),
					Body:   s[bodyAt : len(s)-1],
					Line:   headLine,
				})
				start = len(s)
			}
		}
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("end of file: %d brackets or strings not closed", len(stack))
	}
	return out, nil
}
