package magen

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden generates every testdata/golden/*.magen and compares the
// output with the .golden file beside it. Run with -update to rewrite them.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "golden", "*.magen"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			files, err := Load(in)
			if err != nil {
				t.Fatalf("Load: %s", errorLines(err))
			}
			got, err := Generate(files[0], Options{Package: packageFor(files[0])})
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(in, ".magen") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run go test -update to accept):\n%s", golden, firstDiff(string(want), string(got)))
			}
		})
	}
}

// packageFor gives files without a package statement a package name.
func packageFor(f *File) string {
	if f.GoPackage() == "" {
		return "seed"
	}
	return ""
}

// firstDiff shows the first line where two texts differ.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + itoa(uint32(i+1)) + ":\nwant: " + wl + "\ngot:  " + gl
		}
	}
	return "(no line differs)"
}

// TestCommittedBindings regenerates the packages the runtime's end-to-end
// tests use (mage/internal/gentest) from mage/testdata/magen and checks
// that the committed files are byte for byte what magen makes now. If it
// fails, run go generate ./mage/internal/gentest/...
func TestCommittedBindings(t *testing.T) {
	src := filepath.Join("..", "mage", "testdata", "magen")
	gen := filepath.Join("..", "mage", "internal", "gentest")
	for _, c := range []struct{ pkg, dir string }{
		{"", "everything"}, // everything.magen and observer.magen declare their package
		{"seed", "seed"},
	} {
		outs, err := filepath.Glob(filepath.Join(gen, c.dir, "*.magen.go"))
		if err != nil || len(outs) == 0 {
			t.Fatalf("no generated files in %s", c.dir)
		}
		for _, out := range outs {
			in := filepath.Join(src, strings.TrimSuffix(filepath.Base(out), ".go"))
			files, err := Load(in)
			if err != nil {
				t.Fatalf("Load: %s", errorLines(err))
			}
			got, err := Generate(files[0], Options{Package: c.pkg})
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s is stale (run go generate ./mage/internal/gentest/...):\n%s", out, firstDiff(string(want), string(got)))
			}
		}
	}
}

func TestGenerateOutputShape(t *testing.T) {
	files, err := Load(filepath.Join("testdata", "golden", "types.magen"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Generate(files[0], Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if !strings.HasPrefix(s, Header+"\n") {
		t.Errorf("output does not start with the header")
	}
	for _, want := range []string{"package types\n", `"context"`, `"os"`, `"github.com/mage-ipc/mage/mage"`} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %s", want)
		}
	}
	// Imports: only the standard library and the runtime.
	imports := s[strings.Index(s, "import ("):]
	imports = imports[:strings.Index(imports, ")")]
	for _, line := range strings.Split(imports, "\n")[1:] {
		line = strings.TrimSpace(line)
		if line != "" && line != `"context"` && line != `"os"` && line != `"github.com/mage-ipc/mage/mage"` {
			t.Errorf("unexpected import %s", line)
		}
	}
	// -package wins over the package statement.
	out, err = Generate(files[0], Options{Package: "other"})
	if err != nil || !strings.Contains(string(out), "package other\n") {
		t.Errorf("Options.Package ignored: %v", err)
	}
}

func TestGenerateErrors(t *testing.T) {
	f := loadOne(t, "interface Foo {}")
	if _, err := Generate(f, Options{}); err != ErrNoPackage {
		t.Errorf("no package: %v", err)
	}
	if _, err := Generate(f, Options{Package: "not-go"}); err == nil {
		t.Errorf("bad package name accepted")
	}
	// A file without interfaces makes a file without imports.
	out, err := Generate(loadOne(t, "package empty;"), Options{})
	if err != nil || strings.Contains(string(out), "import") {
		t.Errorf("empty file: %v\n%s", err, out)
	}
}
