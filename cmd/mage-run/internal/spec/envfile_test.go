package spec

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseEnvFile(t *testing.T) {
	src := "# c\n\nA=1\nexport B = two words  # note\nC=\"x\\ty\\\"z\\\\\\$\" # c\nD='$raw \\n'\nE=\nF=a#b\n"
	got, err := parseEnvFile("t.env", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "B": "two words", "C": "x\ty\"z\\$", "D": `$raw \n`, "E": "", "F": "a#b"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseEnvFileErrors(t *testing.T) {
	for _, tc := range []struct {
		src  string
		line int
		msg  string
	}{
		{"A=1\nnope\n", 2, `"nope" is not KEY=VALUE`},
		{"1A=1\n", 1, `"1A" is not a variable name: want letters, digits and '_', not starting with a digit`},
		{"\n\nA=\"open\n", 3, `value of A: no closing "`},
		{"A='open\n", 1, `value of A: no closing '`},
		{`A="x\q"`, 1, `value of A: unknown escape \q: want \n, \t, \", \\ or \$`},
		{`A="x" y`, 1, `value of A: "y" after the closing quote`},
	} {
		_, err := parseEnvFile("t.env", []byte(tc.src))
		var ee *EnvFileError
		if !errors.As(err, &ee) {
			t.Errorf("%q: error %v, want an *EnvFileError", tc.src, err)
			continue
		}
		if ee.Line != tc.line || ee.Msg != tc.msg || ee.File != "t.env" {
			t.Errorf("%q: got %s:%d: %s, want line %d: %s", tc.src, ee.File, ee.Line, ee.Msg, tc.line, tc.msg)
		}
	}
}
