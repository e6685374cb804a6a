// Package fbconf reads the sections of a Fluent Bit configuration file, in
// the classic format or in YAML, the way Fluent Bit does for what matters to
// an input plugin: sections and their key/value properties, @INCLUDE and
// includes:, @SET and env: variables, and ${VAR} substitution from those
// variables and the environment.
//
// It is what lets cloudtrail-check read the very [INPUT] settings Fluent Bit
// will run with, and lets tests check the example files under conf/.
package fbconf

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Prop is one key/value property of a section.
type Prop struct {
	Key, Value string
}

// Section is one section: [INPUT] in the classic format, an entry of
// pipeline.inputs in YAML.
type Section struct {
	Kind  string // lower case: service, input, filter, output, plugins, ...
	Props []Prop // in file order, values with ${VAR} substituted
	File  string
	Line  int
}

// Get returns a property's value, "" when absent. Keys are case-insensitive,
// as in Fluent Bit.
func (s *Section) Get(key string) string {
	v, _ := s.Lookup(key)
	return v
}

// Lookup returns a property's value and whether it is set. The last one
// wins when a key is repeated.
func (s *Section) Lookup(key string) (string, bool) {
	v, ok := "", false
	for _, p := range s.Props {
		if strings.EqualFold(p.Key, key) {
			v, ok = p.Value, true
		}
	}
	return v, ok
}

// Set replaces (or adds) a property.
func (s *Section) Set(key, value string) {
	for i, p := range s.Props {
		if strings.EqualFold(p.Key, key) {
			s.Props[i].Value = value
			return
		}
	}
	s.Props = append(s.Props, Prop{key, value})
}

// Where names the section's place, file:line.
func (s *Section) Where() string { return fmt.Sprintf("%s:%d", s.File, s.Line) }

// Config is a parsed configuration file with its includes.
type Config struct {
	Sections []*Section
	// Missing lists the ${VAR} references that were neither set nor in
	// the environment; Fluent Bit substitutes them with "".
	Missing []string
}

// Inputs returns the input sections whose name is plugin, in file order:
// Fluent Bit names them plugin.0, plugin.1, ...
func (c *Config) Inputs(plugin string) []*Section {
	var out []*Section
	for _, s := range c.Sections {
		if s.Kind == "input" && strings.EqualFold(s.Get("name"), plugin) {
			out = append(out, s)
		}
	}
	return out
}

// Load reads a configuration file; the format follows the extension
// (.yaml, .yml: YAML; anything else: classic).
func Load(path string) (*Config, error) {
	p := &loader{vars: map[string]string{}, seen: map[string]bool{}}
	if err := p.file(path, 0); err != nil {
		return nil, err
	}
	return &Config{Sections: p.sections, Missing: p.missing}, nil
}

type loader struct {
	vars     map[string]string
	sections []*Section
	missing  []string
	seen     map[string]bool
}

func isYAML(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".yaml" || ext == ".yml"
}

func (p *loader) file(path string, depth int) error {
	if depth > 10 {
		return fmt.Errorf("%s: includes nested too deeply", path)
	}
	abs, _ := filepath.Abs(path)
	if p.seen[abs] {
		return fmt.Errorf("%s: included twice (an include loop?)", path)
	}
	p.seen[abs] = true
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if isYAML(path) {
		return p.yamlFile(path, b, depth)
	}
	return p.classic(path, b, depth)
}

var varRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_.]*)\}`)

// expand substitutes ${VAR} from @SET / env: variables, then the process
// environment.
func (p *loader) expand(s string) string {
	return varRE.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		if v, ok := p.vars[name]; ok {
			return v
		}
		if v, ok := os.LookupEnv(name); ok {
			return v
		}
		for _, x := range p.missing {
			if x == name {
				return ""
			}
		}
		p.missing = append(p.missing, name)
		return ""
	})
}

// include resolves an include pattern relative to the including file, as
// Fluent Bit does, and loads every match in order.
func (p *loader) include(from, pattern string, depth int) error {
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(from), pattern)
	}
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return fmt.Errorf("%s: include %q: %v", from, pattern, err)
	}
	if len(matches) == 0 && !strings.ContainsAny(pattern, "*?[") {
		return fmt.Errorf("%s: include %q: no such file", from, pattern)
	}
	for _, m := range matches {
		if err := p.file(m, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (p *loader) classic(path string, b []byte, depth int) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var cur *Section
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(strings.TrimSuffix(sc.Text(), "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		switch {
		case strings.HasPrefix(line, "@INCLUDE"):
			cur = nil
			if err := p.include(path, strings.TrimSpace(strings.TrimPrefix(line, "@INCLUDE")), depth); err != nil {
				return err
			}
			continue
		case strings.HasPrefix(line, "@SET"):
			k, v, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "@SET")), "=")
			if !ok {
				return fmt.Errorf("%s:%d: @SET needs KEY=VALUE", path, n)
			}
			p.vars[strings.TrimSpace(k)] = strings.TrimSpace(v)
			continue
		case strings.HasPrefix(line, "["):
			if !strings.HasSuffix(line, "]") {
				return fmt.Errorf("%s:%d: section header %q not closed", path, n, line)
			}
			cur = &Section{Kind: strings.ToLower(strings.TrimSpace(line[1 : len(line)-1])), File: path, Line: n}
			p.sections = append(p.sections, cur)
			continue
		}
		if cur == nil {
			return fmt.Errorf("%s:%d: %q outside any section", path, n, line)
		}
		k, v := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			k, v = line[:i], line[i+1:]
		}
		cur.Props = append(cur.Props, Prop{k, p.expand(strings.TrimSpace(v))})
	}
	return sc.Err()
}

func (p *loader) yamlFile(path string, b []byte, depth int) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: the top level must be a mapping (service, pipeline, ...)", path, root.Line)
	}
	// env: first, so that every ${VAR} of the file can use it.
	if env := mapGet(root, "env"); env != nil {
		for i := 0; i+1 < len(env.Content); i += 2 {
			p.vars[env.Content[i].Value] = p.expand(env.Content[i+1].Value)
		}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := strings.ToLower(root.Content[i].Value), root.Content[i+1]
		switch key {
		case "includes":
			for _, inc := range val.Content {
				if err := p.include(path, p.expand(inc.Value), depth); err != nil {
					return err
				}
			}
		case "service":
			p.sections = append(p.sections, p.yamlSection("service", path, val))
		case "plugins":
			s := &Section{Kind: "plugins", File: path, Line: val.Line}
			for _, e := range val.Content {
				s.Props = append(s.Props, Prop{"path", p.expand(e.Value)})
			}
			p.sections = append(p.sections, s)
		case "pipeline":
			for j := 0; j+1 < len(val.Content); j += 2 {
				kind := strings.TrimSuffix(strings.ToLower(val.Content[j].Value), "s")
				list := val.Content[j+1]
				if list.Kind != yaml.SequenceNode {
					return fmt.Errorf("%s:%d: pipeline.%s must be a list", path, list.Line, val.Content[j].Value)
				}
				for _, e := range list.Content {
					if e.Kind != yaml.MappingNode {
						return fmt.Errorf("%s:%d: each entry of pipeline.%s must be a mapping", path, e.Line, val.Content[j].Value)
					}
					p.sections = append(p.sections, p.yamlSection(kind, path, e))
				}
			}
		}
	}
	return nil
}

func (p *loader) yamlSection(kind, path string, m *yaml.Node) *Section {
	s := &Section{Kind: kind, File: path, Line: m.Line}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i].Value, m.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			continue // processors: and other nested settings
		}
		s.Props = append(s.Props, Prop{k, p.expand(v.Value)})
	}
	return s
}

func mapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if strings.EqualFold(m.Content[i].Value, key) {
			return m.Content[i+1]
		}
	}
	return nil
}

// InputKeys are the properties Fluent Bit itself reads from every [INPUT]
// section (fluent-bit -J, "global_options", plus name and processors).
var InputKeys = []string{
	"name", "alias", "tag", "log_level", "log_suppress_interval", "routable", "mem_buf_limit",
	"storage.type", "storage.pause_on_chunks_overlimit", "threaded", "thread.ring_buffer.capacity",
	"thread.ring_buffer.window", "rate_window", "rate_gate", "rate_gate.max_bytes", "rate_gate.max_records",
	"rate_gate.backpressure", "rate_gate.resume_ratio", "processors",
}

// IsInputKey reports whether Fluent Bit itself reads key from an [INPUT]
// (case-insensitive).
func IsInputKey(key string) bool {
	for _, k := range InputKeys {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

// Select picks one of the inputs: "" (the only one), an index ("1", the
// N-th, as in plugin.N), a Fluent Bit instance name ("cloudtrail.1") or an
// alias.
func Select(inputs []*Section, plugin, which string) (*Section, int, error) {
	if len(inputs) == 0 {
		return nil, -1, fmt.Errorf("no %s input in the file", plugin)
	}
	list := func() string {
		var b strings.Builder
		for i, s := range inputs {
			fmt.Fprintf(&b, "\n  %d: %s.%d", i, plugin, i)
			if a := s.Get("alias"); a != "" {
				fmt.Fprintf(&b, " (alias %s)", a)
			}
			fmt.Fprintf(&b, " at %s, queue_url %s", s.Where(), s.Get("queue_url"))
		}
		return b.String()
	}
	if which == "" {
		if len(inputs) > 1 {
			return nil, -1, fmt.Errorf("%d %s inputs in the file: choose one with -input:%s", len(inputs), plugin, list())
		}
		return inputs[0], 0, nil
	}
	idx := strings.TrimPrefix(which, plugin+".")
	if n, err := strconv.Atoi(idx); err == nil {
		if n < 0 || n >= len(inputs) {
			return nil, -1, fmt.Errorf("-input %s: out of range:%s", which, list())
		}
		return inputs[n], n, nil
	}
	for i, s := range inputs {
		if s.Get("alias") == which {
			return s, i, nil
		}
	}
	return nil, -1, fmt.Errorf("-input %s: no such input (use an index, %s.N or an alias):%s", which, plugin, list())
}
