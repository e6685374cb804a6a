// Package arm64 checks that the plugin cross-compiles for linux/arm64
// (Graviton nodes) and exports every symbol Fluent Bit looks up.
package arm64

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
)

// TestCrossCompiledPlugin runs make build GOARCH=arm64 into a temporary
// directory and reads the .so: an AArch64 ELF shared object exporting every
// FLBPlugin* function the amd64 build's source defines.
func TestCrossCompiledPlugin(t *testing.T) {
	if _, err := exec.LookPath("aarch64-linux-gnu-gcc"); err != nil {
		t.Skip("SKIPPED: no aarch64-linux-gnu-gcc (apt-get install gcc-aarch64-linux-gnu; .ci/run installs it)")
	}
	if testing.Short() {
		t.Skip("SKIPPED in -short: cross-compiles the plugin (about a minute)")
	}
	build := t.TempDir()
	cmd := exec.Command("make", "build", "GOARCH=arm64", "BUILD="+build)
	cmd.Dir = emu.Root()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make build GOARCH=arm64: %v\n%s", err, out)
	}
	// libdeflate (plugin/inflate) is linked in when the arm64 library is
	// there (.ci/run installs it through multiarch); without it the build
	// is the slower Go reader and must say so.
	fallback := strings.Contains(string(out), "WARNING: no libdeflate")
	if _, err := os.Stat("/usr/lib/aarch64-linux-gnu/libdeflate.a"); err == nil && fallback {
		t.Errorf("libdeflate for arm64 is installed but the build fell back to Go's reader:\n%s", out)
	} else if fallback {
		t.Logf("built without libdeflate (no arm64 libdeflate.a): %s", out)
	}
	f, err := elf.Open(filepath.Join(build, "linux-arm64", "in_cloudtrail.so"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.Type != elf.ET_DYN {
		t.Fatalf("machine %v type %v, want EM_AARCH64 ET_DYN", f.Machine, f.Type)
	}
	// Linked statically: the Fluent Bit host needs no libdeflate.
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range libs {
		if strings.Contains(l, "deflate") {
			t.Errorf("the arm64 .so needs %s at run time", l)
		}
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, s := range syms {
		if s.Section != elf.SHN_UNDEF && elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			exported[s.Name] = true
		}
	}
	src, err := filepath.Glob(filepath.Join(emu.Root(), "plugin", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, p := range src {
		out, _ := exec.Command("grep", "-ho", "^//export FLBPlugin[A-Za-z]*", p).Output()
		for _, l := range strings.Fields(string(out)) {
			if name, ok := strings.CutPrefix(l, "FLBPlugin"); ok {
				want++
				if !exported["FLBPlugin"+name] {
					t.Errorf("FLBPlugin%s is not exported by the arm64 .so", name)
				}
			}
		}
	}
	if want < 10 {
		t.Fatalf("found only %d //export FLBPlugin* lines in plugin/", want)
	}
	t.Logf("arm64 .so exports all %d FLBPlugin* functions", want)
}
