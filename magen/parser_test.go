package magen

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// memLoader loads from an in-memory file system.
func memLoader(files map[string]string) *Loader {
	return &Loader{ReadFile: func(name string) ([]byte, error) {
		src, ok := files[filepath.ToSlash(filepath.Clean(name))]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		return []byte(src), nil
	}}
}

// dump prints a loaded file compactly, with resolved ordinals.
func dump(f *File) string {
	var b strings.Builder
	if f.Package != nil {
		fmt.Fprintf(&b, "package %s; ", f.Package.Name)
	}
	for _, imp := range f.Imports {
		fmt.Fprintf(&b, "import %q; ", imp.Path)
	}
	for _, iface := range f.Interfaces {
		fmt.Fprintf(&b, "interface %s {", iface.Name)
		for _, m := range iface.Methods {
			b.WriteString(" ")
			if m.MinVersion != 0 {
				fmt.Fprintf(&b, "[MinVersion=%d] ", m.MinVersion)
			}
			fmt.Fprintf(&b, "%s@%d(%s)", m.Name, m.Ordinal, dumpParams(m.Params))
			if m.HasReply {
				fmt.Fprintf(&b, " => (%s)", dumpParams(m.Results))
			}
			b.WriteString(";")
		}
		b.WriteString(" } ")
	}
	return strings.TrimSpace(b.String())
}

func dumpParams(ps []*Param) string {
	var parts []string
	for _, p := range ps {
		attr := ""
		if p.MinVersion != 0 {
			attr = fmt.Sprintf("[MinVersion=%d] ", p.MinVersion)
		}
		parts = append(parts, attr+p.Type.String()+" "+p.Name)
	}
	return strings.Join(parts, ", ")
}

// loadOne loads src as a.magen. It may import b.magen, which declares
// interface Bar.
func loadOne(t *testing.T, src string) *File {
	t.Helper()
	files, err := memLoader(map[string]string{"a.magen": src, "b.magen": "interface Bar {}"}).Load("a.magen")
	if err != nil {
		t.Fatalf("Load:\n%s\nsource:\n%s", errorLines(err), src)
	}
	return files[0]
}

func errorLines(err error) string {
	var list ErrorList
	if !errors.As(err, &list) {
		return err.Error()
	}
	lines := make([]string, len(list))
	for i, e := range list {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

var fetch = DeriveOrdinal("Fetch")

// TestParseConstructs covers every construct of the language.
func TestParseConstructs(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"empty file", "", ""},
		{"only comments", "// nothing here\n// at all", ""},
		{"empty interface", "interface Foo {}", "interface Foo { }"},
		{"semicolon after interface", "interface Foo {};", "interface Foo { }"},
		{"seed types", "interface Foo { M(bool a, int b, long c, double d, char e, string f, MessagePipe g); }",
			fmt.Sprintf("interface Foo { M@%d(bool a, int b, long c, double d, char e, string f, MessagePipe g); }", DeriveOrdinal("M"))},
		{"new types", "interface Foo { M@1(bytes a, handle b, array<int> c, array<array<array<string>>> d); }",
			"interface Foo { M@1(bytes a, handle b, array<int> c, array<array<array<string>>> d); }"},
		{"arrays nested as deep as allowed", "interface Foo { M@1(" + strings.Repeat("array<", 16) + "int" + strings.Repeat(">", 16) + " a); }",
			"interface Foo { M@1(" + strings.Repeat("array<", 16) + "int" + strings.Repeat(">", 16) + " a); }"},
		{"typed pipes", "interface Foo { M@1(pending_remote<Foo> a, pending_receiver<Bar> b, array<pending_remote<Bar>> c); } interface Bar {}",
			"interface Foo { M@1(pending_remote<Foo> a, pending_receiver<Bar> b, array<pending_remote<Bar>> c); } interface Bar { }"},
		{"reply", "interface Foo { Add@1(int a, int b) => (int sum); }", "interface Foo { Add@1(int a, int b) => (int sum); }"},
		{"empty reply", "interface Foo { Sync@1() => (); }", "interface Foo { Sync@1() => (); }"},
		{"several results", "interface Foo { M@1() => (int a, string b); }", "interface Foo { M@1() => (int a, string b); }"},
		{"no params", "interface Foo { Fetch(); }", fmt.Sprintf("interface Foo { Fetch@%d(); }", fetch)},
		{"trailing comma", "interface Foo { M@1(int a, int b,) => (int c,); }", "interface Foo { M@1(int a, int b) => (int c); }"},
		{"explicit ordinals", "interface Foo { A@0(); B@4294967039(); C @ 7 (); }", "interface Foo { A@0(); B@4294967039(); C@7(); }"},
		{"package", "package calc;", "package calc;"},
		{"dotted package", "package mage.test.calc;", "package mage.test.calc;"},
		{"several interfaces", "interface A {} interface B {} interface C { M@1(); }", "interface A { } interface B { } interface C { M@1(); }"},
		{"comments everywhere", "// head\npackage p; // tail\n// doc\ninterface A // after the name\n{ // open\n  M@1( // params\n    int a // after a parameter\n  ) // before the semicolon\n  ; // after it\n} // close\n// end",
			"package p; interface A { M@1(int a); }"},
		{"comment between every token", "interface// c\nFoo// c\n{// c\nM// c\n@// c\n1// c\n(// c\nint// c\na// c\n)// c\n=>// c\n(// c\nbool// c\nok// c\n)// c\n;// c\n}",
			"interface Foo { M@1(int a) => (bool ok); }"},
		{"seed method lines with comments", "interface ParentProcess {\n  NavigateToURL(string url, int delay); // navigates\n  OpenFile(string name, bool truncate);// no space\n}",
			fmt.Sprintf("interface ParentProcess { NavigateToURL@%d(string url, int delay); OpenFile@%d(string name, bool truncate); }",
				DeriveOrdinal("NavigateToURL"), DeriveOrdinal("OpenFile"))},
		{"comment trailing a method keeps it", "interface Foo {\n  Fetch(); // fetches\n  Go@2(); // goes\n}",
			fmt.Sprintf("interface Foo { Fetch@%d(); Go@2(); }", fetch)},
		{"comment inside a method", "interface Foo {\n  M@1(int a, // first\n    int b // second\n  ); }", "interface Foo { M@1(int a, int b); }"},
		{"comment at end of file without newline", "interface Foo {} // end", "interface Foo { }"},
		{"keywords as parameter names", "interface Foo { M@1(int interface, string package, bool import, int int); }",
			"interface Foo { M@1(int interface, string package, bool import, int int); }"},
		{"CRLF and tabs", "interface Foo {\r\n\tM@1(int a);\r\n}\r\n", "interface Foo { M@1(int a); }"},
		{"byte order mark", "\xEF\xBB\xBFinterface Foo {}", "interface Foo { }"},
		{"leading zeros in an ordinal", "interface Foo { M@007(); }", "interface Foo { M@7(); }"},
		{"same name for a parameter and a result", "interface Foo { Echo@1(string s) => (string s); }", "interface Foo { Echo@1(string s) => (string s); }"},
		{"names that shadow embedded Remote methods", "interface Foo { Close@1(); Err@2() => (); }", "interface Foo { Close@1(); Err@2() => (); }"},
		{"versioned method and parameters", "interface Foo {\n  Add@1(int a, int b, [MinVersion=1] int c) => (int sum, [MinVersion=2] bool exact);\n  [MinVersion=1] Sub@2(int a, int b) => (int d);\n  [ MinVersion = 3 , ] Mul@3([MinVersion=3] int a);\n}",
			"interface Foo { Add@1(int a, int b, [MinVersion=1] int c) => (int sum, [MinVersion=2] bool exact); [MinVersion=1] Sub@2(int a, int b) => (int d); [MinVersion=3] Mul@3([MinVersion=3] int a); }"},
		{"interface used before it is declared", "interface A { M@1(pending_receiver<B> b); } interface B {}", "interface A { M@1(pending_receiver<B> b); } interface B { }"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dump(loadOne(t, tt.src)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestImports(t *testing.T) {
	files := map[string]string{
		"dir/a.magen":        `package p; import "b.magen"; import "sub/c.magen"; interface A { M@1(pending_remote<B> b, pending_receiver<C> c); }`,
		"dir/b.magen":        `package p; interface B { N@1(pending_remote<A> a); } import "a.magen";`,
		"dir/sub/c.magen":    `import "../b.magen"; interface C { M@1(pending_remote<B> b); }`,
		"dir/cycle/x.magen":  `import "y.magen"; import "./y.magen"; interface X { M@1(pending_remote<Y> y); }`,
		"dir/cycle/y.magen":  `import "x.magen"; interface Y { M@1(pending_remote<X> x); }`,
		"dir/nopkg/n.magen":  `import "../b.magen"; interface N {}`,
		"dir/shared/s.magen": `interface S {}`,
	}
	ld := memLoader(files)
	// b.magen puts its import after the interface: an error, reported
	// below; load the others first.
	delete(files, "dir/b.magen")
	files["dir/b.magen"] = `package p; import "a.magen"; interface B { N@1(pending_remote<A> a); }`
	got, err := ld.Load("dir/a.magen", "dir/cycle/x.magen", "dir/nopkg/n.magen")
	if err != nil {
		t.Fatalf("Load: %s", errorLines(err))
	}
	a := got[0]
	if a.Imports[0].File == nil || a.Imports[0].File.Name != filepath.Join("dir", "b.magen") {
		t.Errorf("import of b resolved to %+v", a.Imports[0].File)
	}
	if a.Imports[1].File.Name != filepath.Join("dir", "sub", "c.magen") {
		t.Errorf("import of sub/c resolved to %s", a.Imports[1].File.Name)
	}
	m := a.Interfaces[0].Methods[0]
	if m.Params[0].Type.Interface == nil || m.Params[0].Type.Interface.Name != "B" {
		t.Errorf("pending_remote<B> not resolved")
	}
	if m.Params[1].Type.Interface.File.Name != filepath.Join("dir", "sub", "c.magen") {
		t.Errorf("pending_receiver<C> resolved into %s", m.Params[1].Type.Interface.File.Name)
	}
	// Both spellings of y.magen are one file.
	x := got[1]
	if x.Imports[0].File != x.Imports[1].File {
		t.Errorf("y.magen loaded twice")
	}
}

// TestOrdinalsAndFingerprints pins the derivation: changing it breaks the
// wire between builds.
func TestOrdinalsAndFingerprints(t *testing.T) {
	// FNV-1a 32 test vectors.
	for name, want := range map[string]uint32{"": 0x811c9dc5, "a": 0xe40c292c, "foobar": 0xbf9cf968} {
		if got := DeriveOrdinal(name); got != want {
			t.Errorf("DeriveOrdinal(%q) = %#x, want %#x", name, got, want)
		}
	}
	f := loadOne(t, "package net;\ninterface NetworkProcess {\n  FetchURL(string url);\n  Get@7(array<int> a, pending_remote<NetworkProcess> p) => (handle h);\n}")
	iface := f.Interfaces[0]
	wantText := fmt.Sprintf("interface net.NetworkProcess\n7 Get(array<int>,pending_remote<net.NetworkProcess>)=>(handle)\n%d FetchURL(string)\n", DeriveOrdinal("FetchURL"))
	if DeriveOrdinal("FetchURL") < 7 {
		t.Fatal("test assumes FetchURL's ordinal sorts after 7")
	}
	if got := iface.CanonicalText(); got != wantText {
		t.Errorf("CanonicalText:\n%s\nwant:\n%s", got, wantText)
	}
	if iface.Fingerprint != 0x21caf11c {
		t.Errorf("Fingerprint = %#08x; if the derivation changed on purpose, update the pin", iface.Fingerprint)
	}

	// What does and does not change a fingerprint.
	base := "interface I { A@1(int a) => (string s); B@2(); }"
	same := []string{
		"interface I { B@2(); A@1(int renamed) => (string other); } // reordered, renamed params",
		"// a comment\ninterface I {\n  // doc\n  A@1(int a) => (string s);\n  B@2();\n}",
	}
	different := []string{
		"interface J { A@1(int a) => (string s); B@2(); }",
		"package p; interface I { A@1(int a) => (string s); B@2(); }",
		"interface I { A@1(long a) => (string s); B@2(); }",
		"interface I { A@1(int a) => (bytes s); B@2(); }",
		"interface I { A@1(int a); B@2(); }",
		"interface I { A@1(int a) => (string s); B@3(); }",
		"interface I { A@1(int a) => (string s); C@2(); }",
		"interface I { A@1(int a) => (string s); B@2(); C@3(); }",
		"interface I { A@1(int a) => (string s); B@2() => (); }",
	}
	// The versioned part of an interface does not count: every version of
	// it has the fingerprint of its first.
	same = append(same,
		"interface I { A@1(int a, [MinVersion=1] int b) => (string s, [MinVersion=2] bool c); B@2(); [MinVersion=1] C@3(long x) => (); }",
		"interface I { A@1(int a, [MinVersion=1] string b) => (string s); B@2([MinVersion=4] array<handle> h); }",
	)
	different = append(different, "interface I { A@1(int a, int b) => (string s); B@2(); }")
	fp := loadOne(t, base).Interfaces[0].Fingerprint
	for _, src := range same {
		if got := loadOne(t, src).Interfaces[0].Fingerprint; got != fp {
			t.Errorf("fingerprint changed for %q", src)
		}
	}
	for _, src := range different {
		if got := loadOne(t, src).Interfaces[0].Fingerprint; got == fp {
			t.Errorf("fingerprint did not change for %q", src)
		}
	}
}

// TestInterfaceVersion: an interface's version is the highest MinVersion
// in it, and the doc comment above a versioned method's attribute is the
// method's.
func TestInterfaceVersion(t *testing.T) {
	for src, want := range map[string]uint32{
		"interface I { A@1(); }":                                                 0,
		"interface I { A@1(int a, [MinVersion=3] int b); }":                      3,
		"interface I { A@1() => ([MinVersion=2] int r); [MinVersion=1] B@2(); }": 2,
		"interface I { [MinVersion=5] B@2(); }":                                  5,
	} {
		if got := loadOne(t, src).Interfaces[0].Version(); got != want {
			t.Errorf("Version of %q = %d, want %d", src, got, want)
		}
	}
	m := loadOne(t, "interface I {\n  // Sub subtracts.\n  [MinVersion=1] Sub@1();\n}").Interfaces[0].Methods[0]
	if len(m.Doc) != 1 || m.Doc[0] != " Sub subtracts." {
		t.Errorf("doc of a versioned method = %q", m.Doc)
	}
}

func TestDocComments(t *testing.T) {
	f := loadOne(t, `// file comment, not a doc

// Foo does things.
// Two lines.
interface Foo {
  // Bar is documented.
  Bar@1(); // trailing, not a doc
  Baz@2();

  // detached

  Qux@3();
  // directly above, after a trailing comment
  Quux@4();
}`)
	iface := f.Interfaces[0]
	if got := strings.Join(iface.Doc, "|"); got != " Foo does things.| Two lines." {
		t.Errorf("interface doc %q", got)
	}
	want := map[string]string{"Bar": " Bar is documented.", "Baz": "", "Qux": "", "Quux": " directly above, after a trailing comment"}
	for _, m := range iface.Methods {
		if got := strings.Join(m.Doc, "|"); got != want[m.Name] {
			t.Errorf("doc of %s = %q, want %q", m.Name, got, want[m.Name])
		}
	}
}

func TestPositions(t *testing.T) {
	f, err := ParseFile("p.magen", []byte("package x;\n\ninterface Foo {\n\tBar@12(array<int> a) => (bool ok);\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	iface := f.Interfaces[0]
	m := iface.Methods[0]
	for what, got := range map[string]Position{
		"package":   f.Package.Pos,
		"interface": iface.Pos,
		"method":    m.Pos,
		"ordinal":   m.OrdinalPos,
		"param":     m.Params[0].Pos,
		"elem":      m.Params[0].Type.Elem.Pos,
		"result":    m.Results[0].Pos,
	} {
		want := map[string]string{
			"package": "p.magen:1:1", "interface": "p.magen:3:1", "method": "p.magen:4:2", "ordinal": "p.magen:4:6",
			"param": "p.magen:4:9", "elem": "p.magen:4:15", "result": "p.magen:4:27",
		}[what]
		if got.String() != want {
			t.Errorf("%s at %s, want %s", what, got, want)
		}
	}
}
