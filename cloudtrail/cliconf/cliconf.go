// Package cliconf gives the project's commands (cloudtrail-check,
// cloudtrail-backfill) one way to name the cloudtrail [INPUT] they work for:
// a Fluent Bit configuration file (-c, with -input to pick one of several
// inputs) and -p key=value properties that override it, as fluent-bit -p
// does. Both commands then run with the very settings Fluent Bit will use.
package cliconf

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/fbconf"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/version"
)

// Plugin is the input plugin's name in Fluent Bit configurations.
const Plugin = "cloudtrail"

// Flags are the -c, -input and -p flags of a command.
type Flags struct {
	File    string
	Input   string
	Props   props
	Version bool // -version: print the build's version and exit
}

type props []string

func (p *props) String() string     { return strings.Join(*p, " ") }
func (p *props) Set(v string) error { *p = append(*p, v); return nil }

// Register defines -c, -input and -p on fs.
func Register(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.StringVar(&f.File, "c", "", "Fluent Bit configuration file (classic or YAML) holding the cloudtrail [INPUT]")
	fs.StringVar(&f.Input, "input", "", "which cloudtrail input of the file: index (0, 1, ...), cloudtrail.N, or alias")
	fs.Var(&f.Props, "p", "input property key=value, as fluent-bit -p (repeatable; overrides the file)")
	fs.BoolVar(&f.Version, "version", false, "print the version and exit")
	return f
}

// PrintVersion prints "command version" to w when -version was given and
// reports whether it did: the command then exits 0.
func (f *Flags) PrintVersion(w io.Writer, command string) bool {
	if f.Version {
		fmt.Fprintln(w, command, version.Version)
	}
	return f.Version
}

// Given reports whether a file or a property was given.
func (f *Flags) Given() bool { return f.File != "" || len(f.Props) > 0 }

// Input is the resolved input section.
type Input struct {
	Section *fbconf.Section
	// Where names it for messages: "cloudtrail.1 at FILE:LINE" or "flags".
	Where string
	// Missing lists the ${VAR}s of the file that were not set.
	Missing []string
}

// Load reads the file (when given), picks the input and applies the -p
// properties. Its errors are configuration errors: the commands exit 2.
func (f *Flags) Load() (*Input, error) {
	in := &Input{
		Section: &fbconf.Section{Kind: "input", Props: []fbconf.Prop{{Key: "name", Value: Plugin}}, File: "-p", Line: 0},
		Where:   "flags",
	}
	if f.File != "" {
		fc, err := fbconf.Load(f.File)
		if err != nil {
			return nil, err
		}
		s, idx, err := fbconf.Select(fc.Inputs(Plugin), Plugin, f.Input)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.File, err)
		}
		in.Section, in.Where, in.Missing = s, fmt.Sprintf("%s.%d at %s", Plugin, idx, s.Where()), fc.Missing
	}
	for _, o := range f.Props {
		k, v, ok := strings.Cut(o, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("-p %q: use key=value", o)
		}
		in.Section.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return in, nil
}
