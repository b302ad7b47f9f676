package magen

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestErrors checks the position and text of every error the parser and
// checker report. Each case loads a.magen (plus any other files given).
func TestErrors(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		extra map[string]string
		want  []string
	}{
		// Lexical.
		{"illegal character", "interface Foo { M@1(int a$); }", nil, []string{
			"a.magen:1:26: illegal character U+0024 '$'",
		}},
		{"non-ASCII", "interface Föo {}", nil, []string{
			"a.magen:1:12: illegal character U+00F6 'ö'",
		}},
		{"invalid UTF-8", "interface Foo {} \xff", nil, []string{
			"a.magen:1:18: illegal byte 0xff (files must be UTF-8)",
		}},
		{"comment not UTF-8", "// caf\xe9\ninterface Foo {}", nil, []string{
			"a.magen:1:1: comment is not valid UTF-8 (files must be UTF-8)",
		}},
		{"block comment", "/* old\n style */ interface Foo {}", nil, []string{
			"a.magen:1:1: block comments are not supported; use // comments",
		}},
		{"unterminated string", "import \"b.magen;\ninterface Foo {}", nil, []string{
			"a.magen:1:8: string literal not terminated",
		}},
		{"bad escape", `import "b\q.magen";`, nil, []string{
			`a.magen:1:8: invalid string literal "b\q.magen"`,
		}},

		// Top level.
		{"stray word", "interfac Foo {}", nil, []string{
			"a.magen:1:1: expected 'interface', 'import' or 'package', found interfac",
		}},
		{"missing interface name", "interface {}", nil, []string{
			"a.magen:1:11: expected interface name after 'interface', found '{'",
		}},
		{"missing brace", "interface Foo M@1();", nil, []string{
			"a.magen:1:15: expected '{' after interface Foo, found M",
		}},
		{"unclosed interface at EOF", "interface Foo {\n  M@1();\n", nil, []string{
			"a.magen:3:1: expected '}' to close interface Foo (opened at 1:15), found end of file",
		}},
		{"unclosed interface before the next", "interface Foo {\n  M@1();\ninterface Bar {}", nil, []string{
			"a.magen:3:1: expected '}' to close interface Foo (opened at 1:15), found interface",
		}},
		{"package twice", "package a;\npackage b;", nil, []string{
			"a.magen:2:1: duplicate package statement (the first is at a.magen:1:1)",
		}},
		{"package late", "interface Foo {}\npackage a;", nil, []string{
			"a.magen:2:1: the package statement must come before imports and interfaces",
		}},
		{"package without name", "package ;", nil, []string{
			"a.magen:1:9: expected package name after 'package', found ';'",
		}},
		{"package with trailing dot", "package a.;", nil, []string{
			"a.magen:1:11: expected identifier after '.' in package name, found ';'",
		}},
		{"package missing semicolon", "package a\ninterface Foo {}", nil, []string{
			"a.magen:1:10: expected ';' after package a, found interface",
		}},
		{"import late", "interface Foo {}\nimport \"b.magen\";", map[string]string{"b.magen": ""}, []string{
			"a.magen:2:1: imports must come before interfaces",
		}},
		{"import without quotes", "import b.magen;", nil, []string{
			"a.magen:1:8: expected file name in double quotes after 'import', found b",
		}},
		{"empty import", `import "";`, nil, []string{
			"a.magen:1:8: empty import path",
		}},
		{"import missing semicolon", "import \"b.magen\"\ninterface Foo {}", map[string]string{"b.magen": ""}, []string{
			`a.magen:1:17: expected ';' after import "b.magen", found interface`,
		}},

		// Methods.
		{"missing method semicolon", "interface Foo {\n  A@1()\n  B@2();\n}", nil, []string{
			"a.magen:2:8: expected ';' after method A, found B",
		}},
		{"missing semicolon before brace", "interface Foo { A@1() }", nil, []string{
			"a.magen:1:22: expected ';' after method A, found '}'",
		}},
		{"method name not an identifier", "interface Foo { 1(); }", nil, []string{
			"a.magen:1:17: expected method name or '}', found number 1",
		}},
		{"missing paren", "interface Foo { A int a; }", nil, []string{
			"a.magen:1:19: expected '(' after method name A, found int",
		}},
		{"ordinal missing", "interface Foo { A@(); }", nil, []string{
			"a.magen:1:19: expected ordinal number after '@', found '('",
		}},
		{"ordinal too large", "interface Foo { A@4294967296(); }", nil, []string{
			"a.magen:1:19: ordinal 4294967296 is out of range (0 to 4294967295)",
		}},
		{"ordinal not decimal", "interface Foo { A@0x10();\n B@7b(); }", nil, []string{
			"a.magen:1:19: ordinal 0x10 is not a decimal number",
			"a.magen:2:4: ordinal 7b is not a decimal number",
		}},
		{"negative ordinal", "interface Foo { A@-1(); }", nil, []string{
			"a.magen:1:19: illegal character U+002D '-'",
		}},
		// Versions.
		{"unknown attribute", "interface Foo { [Since=1] A@1(); }", nil, []string{
			"a.magen:1:18: unknown attribute Since (the only attribute is MinVersion)",
		}},
		{"attribute without value", "interface Foo { [MinVersion] A@1(); }", nil, []string{
			"a.magen:1:28: expected '=' after attribute MinVersion, found ']'",
		}},
		{"attribute not closed", "interface Foo { A@1([MinVersion=1 int a); }", nil, []string{
			"a.magen:1:35: expected ']' after attribute MinVersion, found int",
		}},
		{"attribute twice", "interface Foo { [MinVersion=1, MinVersion=2] A@1(); }", nil, []string{
			"a.magen:1:32: attribute MinVersion given twice",
		}},
		{"version zero", "interface Foo { A@1([MinVersion=0] int a); }", nil, []string{
			"a.magen:1:33: MinVersion 0 is the first version, which needs no attribute; versions added later count from 1",
		}},
		{"version too large", "interface Foo { A@1([MinVersion=65536] int a); }", nil, []string{
			"a.magen:1:33: MinVersion 65536 is out of range (1 to 65535)",
		}},
		{"version not decimal", "interface Foo { [MinVersion=0x1] A@1(); }", nil, []string{
			"a.magen:1:29: MinVersion 0x1 is not a decimal number",
		}},
		{"versioned parameter not trailing", "interface Foo { A@1(int a, [MinVersion=1] int b, int c); }", nil, []string{
			"a.magen:1:50: parameter c of method A has no [MinVersion] but follows parameter b of [MinVersion=1] (at a.magen:1:29): versioned parameters must come last",
		}},
		{"versioned result not trailing", "interface Foo { A@1() => ([MinVersion=2] int a, bool b); }", nil, []string{
			"a.magen:1:49: result b of method A has no [MinVersion] but follows result a of [MinVersion=2] (at a.magen:1:28): versioned results must come last",
		}},
		{"decreasing versions", "interface Foo { A@1([MinVersion=2] int a, [MinVersion=1] int b); }", nil, []string{
			"a.magen:1:44: parameter b of method A has [MinVersion=1], below the 2 of parameter a before it: versions must not decrease",
		}},
		{"parameter older than its method", "interface Foo { [MinVersion=2] A@1(int a, [MinVersion=1] int b); }", nil, []string{
			"a.magen:1:44: parameter b has [MinVersion=1], below the [MinVersion=2] of its method A",
		}},
		{"reserved ordinal", "interface Foo { A@4294967040(); }", nil, []string{
			"a.magen:1:19: method A has ordinal 4294967040, in the range 4294967040 and up that mage/bindings keeps for control messages; give it an explicit ordinal below it with @N",
		}},
		{"extra semicolon", "interface Foo { A@1();; }", nil, []string{
			"a.magen:1:23: expected method name or '}', found ';'",
		}},
		{"ordinal without method name", "interface Foo { @1(); }", nil, []string{
			"a.magen:1:17: expected method name or '}', found '@'",
		}},
		{"two replies", "interface Foo { A@1() => (int a) => (int b); }", nil, []string{
			"a.magen:1:33: expected ';' after method A, found '=>'",
		}},
		{"stray closing brace", "interface Foo {}\n}", nil, []string{
			"a.magen:2:1: expected 'interface', 'import' or 'package', found '}'",
		}},
		{"end of file in parameters", "interface Foo { A@1(int a", nil, []string{
			"a.magen:1:26: expected ',' or ')' after parameter a, found end of file",
			"a.magen:1:26: expected '}' to close interface Foo (opened at 1:15), found end of file",
		}},
		{"end of file after interface", "interface Foo {}\ninterface", nil, []string{
			"a.magen:2:10: expected interface name after 'interface', found end of file",
		}},
		{"end of file after package", "package", nil, []string{
			"a.magen:1:8: expected package name after 'package', found end of file",
		}},
		{"package name not an identifier", "package 1a;", nil, []string{
			"a.magen:1:9: expected package name after 'package', found number 1a",
		}},
		{"missing parameter name", "interface Foo { A@1(int); }", nil, []string{
			"a.magen:1:24: expected parameter name after type int, found ')'",
		}},
		{"missing comma", "interface Foo { A@1(int a int b); }", nil, []string{
			"a.magen:1:27: expected ',' or ')' after parameter a, found int",
		}},
		{"missing type", "interface Foo { A@1(, int a); }", nil, []string{
			"a.magen:1:21: expected parameter type, found ','",
		}},
		{"missing result type", "interface Foo { A@1() => (, int a); }", nil, []string{
			"a.magen:1:27: expected result type, found ','",
		}},
		{"missing comma between results", "interface Foo { A@1() => (int a int b); }", nil, []string{
			"a.magen:1:33: expected ',' or ')' after result a, found int",
		}},
		{"type with a parameter it does not take", "interface Foo { A@1(handle<int> a); }", nil, []string{
			"a.magen:1:27: expected parameter name after type handle, found '<'",
		}},
		{"reply without paren", "interface Foo { A@1() => int; }", nil, []string{
			"a.magen:1:26: expected '(' after '=>', found int",
		}},
		{"missing result name", "interface Foo { A@1() => (int); }", nil, []string{
			"a.magen:1:30: expected result name after type int, found ')'",
		}},
		{"array without element", "interface Foo { A@1(array a); }", nil, []string{
			"a.magen:1:27: expected '<' after array, found a",
		}},
		{"array unclosed", "interface Foo { A@1(array<int a); }", nil, []string{
			"a.magen:1:31: expected '>' to close array<int, found a",
		}},
		{"arrays nested too deep", "interface Foo { A@1(" + strings.Repeat("array<", 17) + "int" + strings.Repeat(">", 17) + " a); }", nil, []string{
			"a.magen:1:117: arrays nested more than 16 deep",
		}},
		{"array of nothing", "interface Foo { A@1(array<> a); }", nil, []string{
			"a.magen:1:27: expected element type in array<...>, found '>'",
		}},
		{"pending without name", "interface Foo { A@1(pending_remote<> a); }", nil, []string{
			"a.magen:1:36: expected interface name in pending_remote<...>, found '>'",
		}},
		{"pending without angle", "interface Foo { A@1(pending_remote Foo f); }", nil, []string{
			"a.magen:1:36: expected '<' after pending_remote, found Foo",
		}},
		{"pending of a type", "interface Foo { A@1(pending_receiver<array<int>> a);\n B@2(pending_remote<string> s); }", nil, []string{
			"a.magen:1:38: expected interface name in pending_receiver<...>, found type array",
			"a.magen:2:21: expected interface name in pending_remote<...>, found type string",
		}},
		{"pending unclosed", "interface Foo { A@1(pending_receiver<Foo a); }", nil, []string{
			"a.magen:1:42: expected '>' to close pending_receiver<Foo, found a",
		}},
		{"several errors, one per method", "interface Foo {\n  A@1(int);\n  B@2(bool b);\n  C@(;\n  D@4(string s)\n}", nil, []string{
			"a.magen:2:10: expected parameter name after type int, found ')'",
			"a.magen:4:5: expected ordinal number after '@', found '('",
			"a.magen:5:16: expected ';' after method D, found '}'",
		}},
		{"errors in two files", `import "b.magen"; interface Foo { A@1(int); }`, map[string]string{"b.magen": "interface Bar { B@1(bool); }"}, []string{
			"a.magen:1:42: expected parameter name after type int, found ')'",
			"b.magen:1:25: expected parameter name after type bool, found ')'",
		}},

		// Meaning.
		{"unknown type", "interface Foo { A@1(strin s); }", nil, []string{
			"a.magen:1:21: unknown type strin",
		}},
		{"unknown type, wrong case", "interface Foo { A@1(String s, messagepipe p); }", nil, []string{
			"a.magen:1:21: unknown type String (did you mean string?)",
			"a.magen:1:31: unknown type messagepipe (did you mean MessagePipe?)",
		}},
		{"unknown type, Go name", "interface Foo { A@1(int32 a, float64 b, byte c); }", nil, []string{
			"a.magen:1:21: unknown type int32 (did you mean int?)",
			"a.magen:1:30: unknown type float64 (did you mean double?)",
			"a.magen:1:41: unknown type byte (did you mean char?)",
		}},
		{"unknown generic type", "interface Foo { A@1(Array<int> a);\n B@2(list<int> b); }", nil, []string{
			"a.magen:1:21: unknown type Array<...> (did you mean array<...>?)",
			"a.magen:2:6: unknown type list<...>",
		}},
		{"unknown type, Go order", "interface Foo { A@1(url string); }", nil, []string{
			"a.magen:1:21: unknown type url (write the type first: string url)",
		}},
		{"interface as a type", "interface Foo { A@1(Foo f); }", nil, []string{
			"a.magen:1:21: unknown type Foo; pass an interface as pending_remote<Foo> or pending_receiver<Foo>",
		}},
		{"unknown type in array", "interface Foo { A@1(array<array<unsigned>> a); }", nil, []string{
			"a.magen:1:33: unknown type unsigned",
		}},
		{"undefined interface", "interface Foo { A@1(pending_remote<Bar> b); }", nil, []string{
			"a.magen:1:21: undefined interface Bar in pending_remote<Bar>",
		}},
		{"interface only imported indirectly", `import "b.magen"; interface Foo { A@1(pending_receiver<C> c); }`,
			map[string]string{"b.magen": `import "c.magen";`, "c.magen": "interface C {}"}, []string{
				"a.magen:1:39: undefined interface C in pending_receiver<C> (it is declared in c.magen, which this file does not import directly)",
			}},
		{"missing import", `import "nope.magen"; interface Foo {}`, nil, []string{
			"a.magen:1:1: cannot read imported file nope.magen: file does not exist",
		}},
		{"import into another package", `package a; import "b.magen";`, map[string]string{"b.magen": "package b;"}, []string{
			"a.magen:1:12: b.magen declares package b but this file declares package a: imported files share the importing file's Go package",
		}},
		{"package element without letter", "package a._b;", nil, []string{
			"a.magen:1:1: package name a._b: each element must begin with a letter",
		}},
		{"interface redeclared", "interface Foo {}\ninterface Foo {}", nil, []string{
			"a.magen:2:1: interface Foo redeclared (the first is at a.magen:1:1)",
		}},
		{"interface redeclared across files", `import "b.magen"; interface Foo {}`, map[string]string{"b.magen": "interface Foo {}"}, []string{
			"b.magen:1:1: interface Foo redeclared (the first is at a.magen:1:19)",
		}},
		{"generated names collide", "interface Foo {}\ninterface FooRemote {}", nil, []string{
			"a.magen:2:1: interface FooRemote conflicts with interface Foo at a.magen:1:1: both generate the Go name FooRemote",
		}},
		{"generated helper names collide", "interface A { B_C(); }\ninterface A_B { C(); }", nil, []string{
			"a.magen:2:1: interface A_B conflicts with interface A at a.magen:1:1: both generate the Go name _A_B_C_ordinal",
		}},
		{"lower-case interface", "interface foo {}", nil, []string{
			"a.magen:1:1: interface name foo must begin with an upper-case letter (it becomes an exported Go name)",
		}},
		{"lower-case method", "interface Foo { bar@1(); _baz@2(); }", nil, []string{
			"a.magen:1:17: method name bar must begin with an upper-case letter (it becomes an exported Go name)",
			"a.magen:1:26: method name _baz must begin with an upper-case letter (it becomes an exported Go name)",
		}},
		{"reserved method", "interface Foo { Remote@1(); }", nil, []string{
			"a.magen:1:17: method name Remote is reserved: FooRemote embeds *bindings.Remote under that name",
		}},
		{"method redeclared", "interface Foo { A@1(); A@2(int x); }", nil, []string{
			"a.magen:1:24: method Foo.A redeclared (the first is at a.magen:1:17)",
		}},
		{"duplicate parameter", "interface Foo { A@1(int x, bool x) => (int y, int y); }", nil, []string{
			"a.magen:1:28: duplicate parameter x in method A (the first is at a.magen:1:21)",
			"a.magen:1:47: duplicate result y in method A (the first is at a.magen:1:40)",
		}},
		{"parameter with underscore", "interface Foo { A@1(int _x) => (int _y); }", nil, []string{
			"a.magen:1:21: parameter name _x must begin with a letter",
			"a.magen:1:33: result name _y must begin with a letter",
		}},
		{"duplicate ordinal", "interface Foo { A@1(); B@1(); }", nil, []string{
			"a.magen:1:26: method B has ordinal 1, already used by method A at a.magen:1:17",
		}},
		{"derived ordinal collides with explicit", "interface Foo { Fetch(); Go@" + itoa(fetch) + "(); }", nil, []string{
			"a.magen:1:17: the derived ordinal of method Fetch (" + itoa(fetch) + ") is already used by method Go at a.magen:1:26; give one of them an explicit ordinal with @N",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"a.magen": tt.src}
			for k, v := range tt.extra {
				files[k] = v
			}
			_, err := memLoader(files).Load("a.magen")
			if err == nil {
				t.Fatalf("no error; want\n%s", strings.Join(tt.want, "\n"))
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error %T is not an ErrorList: %v", err, err)
			}
			if got := errorLines(err); got != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestDerivedCollision finds two method names whose FNV-1a hashes collide
// and checks the collision is reported.
func TestDerivedCollision(t *testing.T) {
	seen := map[uint32]string{}
	var a, b string
	for i := 0; a == ""; i++ {
		name := "M" + itoa(uint32(i))
		h := DeriveOrdinal(name)
		if prev, ok := seen[h]; ok {
			a, b = prev, name
		}
		seen[h] = name
	}
	_, err := memLoader(map[string]string{"a.magen": "interface Foo { " + a + "(); " + b + "(); }"}).Load("a.magen")
	want := "the derived ordinal of method " + b + " (" + itoa(DeriveOrdinal(b)) + ") is already used by method " + a
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Load = %v, want an error containing %q", err, want)
	}
	// @N on one of them resolves it.
	if _, err := memLoader(map[string]string{"a.magen": "interface Foo { " + a + "(); " + b + "@1(); }"}).Load("a.magen"); err != nil {
		t.Fatal(err)
	}
}

func itoa(n uint32) string {
	var buf [10]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(buf[i:])
		}
	}
}

func TestMissingRootFile(t *testing.T) {
	_, err := memLoader(nil).Load("gone.magen")
	if got := errorLines(err); got != "gone.magen: cannot read file: file does not exist" {
		t.Fatalf("got %q", got)
	}
}

func TestErrorList(t *testing.T) {
	var l ErrorList
	if l.Err() != nil {
		t.Fatal("empty list is an error")
	}
	l.Add(Position{Filename: "b.magen", Line: 1, Column: 1}, "third")
	l.Add(Position{Filename: "a.magen", Line: 2, Column: 1}, "second")
	l.Add(Position{Filename: "a.magen", Line: 1, Column: 5}, "first")
	l.Add(Position{Filename: "a.magen", Line: 1, Column: 5}, "first")
	l.Add(Position{}, "no position")
	l.RemoveDuplicates()
	if len(l) != 4 {
		t.Fatalf("RemoveDuplicates left %d", len(l))
	}
	if got := l.Error(); got != "no position (and 3 more errors)" {
		t.Errorf("Error() = %q", got)
	}
	var buf bytes.Buffer
	PrintError(&buf, l.Err())
	want := "no position\na.magen:1:5: first\na.magen:2:1: second\nb.magen:1:1: third\n"
	if buf.String() != want {
		t.Errorf("PrintError:\n%s\nwant:\n%s", buf.String(), want)
	}
	var e *Error
	if !errors.As(l.Err(), &e) || e.Msg != "no position" {
		t.Errorf("errors.As(*Error) = %v", e)
	}
	buf.Reset()
	PrintError(&buf, errors.New("magen: plain"))
	if buf.String() != "magen: plain\n" {
		t.Errorf("PrintError(plain) = %q", buf.String())
	}
	if s := (Position{Line: 3, Column: 4}).String(); s != "3:4" {
		t.Errorf("Position without file = %q", s)
	}
	if s := (Position{}).String(); s != "-" {
		t.Errorf("zero Position = %q", s)
	}
}
