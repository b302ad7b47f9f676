package magen

import (
	"bytes"
	"flag"
	"go/format"
	goparser "go/parser"
	gotoken "go/token"
	"os"
	"path/filepath"
	"strconv"
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
			checkShape(t, got)
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

// checkShape checks what every generated file must be: the header on the
// first line, gofmt-clean Go, importing only the standard library and the
// runtime.
func checkShape(t *testing.T, src []byte) {
	t.Helper()
	if !bytes.HasPrefix(src, []byte(Header+"\n")) {
		t.Errorf("output does not begin with %q", Header)
	}
	if formatted, err := format.Source(src); err != nil || !bytes.Equal(formatted, src) {
		t.Errorf("output is not gofmt-clean (%v)", err)
	}
	f, err := goparser.ParseFile(gotoken.NewFileSet(), "out.go", src, goparser.ImportsOnly)
	if err != nil {
		t.Fatalf("output does not parse: %v", err)
	}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if path != RuntimeImport && path != BindingsImport && strings.Contains(path, ".") {
			t.Errorf("output imports %s, which is neither the standard library, the runtime nor the bindings", path)
		}
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

// TestCommittedBindings regenerates the committed bindings (the packages
// the runtime's end-to-end tests use, mage/internal/gentest, from
// mage/testdata/magen, the example's, the supervisor's and mage-run's) and
// checks that the committed files are byte for byte what magen makes now,
// with the command line their header records, which must be the package's
// //go:generate line. If it fails, run
// go generate ./mage/internal/gentest/... ./examples/... ./supervisor ./cmd/mage-run/...
func TestCommittedBindings(t *testing.T) {
	testdata := filepath.Join("..", "mage", "testdata", "magen")
	gentest := filepath.Join("..", "mage", "internal", "gentest")
	for _, c := range []struct{ pkg, gen, src string }{
		// everything.magen and observer.magen declare their package.
		{"", filepath.Join(gentest, "everything"), testdata},
		{"seed", filepath.Join(gentest, "seed"), testdata},
		{"calcv0", filepath.Join(gentest, "calcv0"), filepath.Join(testdata, "v0")},
		{"calcv1", filepath.Join(gentest, "calcv1"), filepath.Join(testdata, "v1")},
		{"", filepath.Join("..", "examples", "netproc", "netprocmagen"), filepath.Join("..", "examples", "netproc", "netprocmagen")},
		{"", filepath.Join("..", "supervisor"), filepath.Join("..", "supervisor")},
		{"", filepath.Join("..", "cmd", "mage-run", "internal", "demo"), filepath.Join("..", "cmd", "mage-run", "internal", "demo")},
		{"", filepath.Join("..", "cmd", "mage-run", "internal", "testnode"), filepath.Join("..", "cmd", "mage-run", "internal", "testnode")},
		{"", filepath.Join("..", "cmd", "mage-run", "internal", "control"), filepath.Join("..", "cmd", "mage-run", "internal", "control")},
	} {
		outs, err := filepath.Glob(filepath.Join(c.gen, "*.magen.go"))
		if err != nil || len(outs) == 0 {
			t.Fatalf("no generated files in %s", c.gen)
		}
		directive := goGenerateCommand(t, c.gen)
		for _, out := range outs {
			want, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			command := recordedCommand(string(want))
			if command != directive {
				t.Errorf("%s records the command %q, but its package generates with %q", out, command, directive)
			}
			in := filepath.Join(c.src, strings.TrimSuffix(filepath.Base(out), ".go"))
			files, err := Load(in)
			if err != nil {
				t.Fatalf("Load: %s", errorLines(err))
			}
			got, err := Generate(files[0], Options{Package: c.pkg, Command: command})
			if err != nil {
				t.Fatal(err)
			}
			checkShape(t, got)
			if !bytes.Equal(got, want) {
				t.Errorf("%s is stale (run go generate ./mage/internal/gentest/... ./examples/... ./supervisor ./cmd/mage-run/...):\n%s", out, firstDiff(string(want), string(got)))
			}
		}
	}
}

// goGenerateCommand returns the magen command line of the one
// "//go:generate go tool magen ..." line in dir's Go files, as magen
// records it ("magen ARGS").
func goGenerateCommand(t *testing.T, dir string) string {
	t.Helper()
	const prefix = "//go:generate go tool magen "
	srcs, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, src := range srcs {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, prefix) {
				found = append(found, "magen "+strings.TrimPrefix(line, prefix))
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s has %d lines starting %q, want 1", dir, len(found), prefix)
	}
	return found[0]
}

// recordedCommand returns the command line a generated file's header
// records, or "".
func recordedCommand(src string) string {
	for _, line := range strings.Split(src, "\n") {
		if line == "" {
			break // the end of the header
		}
		if c, ok := strings.CutPrefix(line, "// command: "); ok {
			return c
		}
	}
	return ""
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
	for _, want := range []string{"package types\n", `"context"`, `"os"`, `"github.com/mage-ipc/mage/mage"`,
		`"github.com/mage-ipc/mage/mage/bindings"`, "\nconst _ = bindings.SupportPackageIsVersion1\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %s", want)
		}
	}
	// Imports: only the standard library, the runtime and the bindings.
	imports := s[strings.Index(s, "import ("):]
	imports = imports[:strings.Index(imports, ")")]
	for _, line := range strings.Split(imports, "\n")[1:] {
		line = strings.TrimSpace(line)
		if line != "" && line != `"context"` && line != `"os"` && line != `"github.com/mage-ipc/mage/mage"` &&
			line != `"github.com/mage-ipc/mage/mage/bindings"` {
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
	for _, bad := range []string{"not-go", "type", "_", "1a"} {
		if _, err := Generate(f, Options{Package: bad}); err == nil {
			t.Errorf("bad package name %q accepted", bad)
		}
	}
	// A package statement whose last element is a Go keyword.
	if _, err := Generate(loadOne(t, "package my.type; interface Foo {}"), Options{}); err == nil || err.Error() != `magen: "type" is not a valid Go package name` {
		t.Errorf("package my.type: %v", err)
	}
	// A file without interfaces makes a file without imports.
	out, err := Generate(loadOne(t, "package empty;"), Options{})
	if err != nil || strings.Contains(string(out), "import") {
		t.Errorf("empty file: %v\n%s", err, out)
	}
}

// TestGoNames pins how IDL parameter names become Go names: anything the
// generated code or Go itself gives a meaning to gets '_' appended until
// it is free.
func TestGoNames(t *testing.T) {
	f := loadOne(t, `import "b.magen";
interface Foo {
  M@1(int type, int len, int ctx, int r, int r0, int r12, int rx, int FooRemote, int NewBarPendingRemote, int x, int x_)
    => (int x, int err, int type, int Bar);
}`)
	m := f.Interfaces[0].Methods[0]
	pkg := packageNames(f)
	taken := map[string]bool{}
	params := strings.Join(goNames(m.Params, pkg, taken), " ")
	results := strings.Join(goNames(m.Results, pkg, taken), " ")
	if want := "type_ len_ ctx_ r_ r0_ r12_ rx FooRemote_ NewBarPendingRemote_ x x_"; params != want {
		t.Errorf("parameters: %s\nwant:       %s", params, want)
	}
	if want := "x__ err_ type__ Bar_"; results != want {
		t.Errorf("results: %s\nwant:    %s", results, want)
	}
}

// TestGenerateHeader pins the header: the marker, the versions, the
// command line when given, the source.
func TestGenerateHeader(t *testing.T) {
	f := loadOne(t, "package calc; interface Calc { Add(int a) => (int b); }")
	out, err := Generate(f, Options{Command: "magen -out . calc.magen", Version: "v1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	want := Header + "\n// versions:\n// \tmagen    v1.2.3\n// \tbindings SupportPackageIsVersion1\n" +
		"// command: magen -out . calc.magen\n// source: "
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("header:\n%s\nwant it to start:\n%s", out[:200], want)
	}
	out, err = Generate(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s := string(out); !strings.Contains(s, "// \tmagen    (devel)\n") || strings.Contains(s, "// command:") {
		t.Errorf("header without options:\n%s", s[:200])
	}
	if !strings.Contains(string(out), "\nconst _ = bindings."+BindingsVersionGuard+"\n") {
		t.Errorf("no version guard in:\n%s", out)
	}
}
