package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReleaseVersion(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.3":                               "v1.2.3",
		"v0.4.0-rc.1":                          "v0.4.0-rc.1",
		"":                                     "(devel)",
		"(devel)":                              "(devel)",
		"v0.0.0-20260101120000-0123456789ab":   "(devel)",
		"v1.2.4-0.20260101120000-0123456789ab": "(devel)",
		"v1.2.3+dirty":                         "(devel)",
		"v0.0.0-20260101120000-0123456789ab+dirty": "(devel)",
		"1.2.3": "(devel)",
	} {
		if got := releaseVersion(in); got != want {
			t.Errorf("releaseVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCommandLine(t *testing.T) {
	got := commandLine([]string{"-out", ".", "../a b.magen", "it's.magen", "x.magen"})
	want := `magen -out . '../a b.magen' 'it'\''s.magen' x.magen`
	if got != want {
		t.Errorf("commandLine = %s, want %s", got, want)
	}
}

// TestHeaderRecordsInvocation: the generated file says how magen was run.
func TestHeaderRecordsInvocation(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"calc.magen": "package calc;\ninterface Calc { Add(int a) => (int b); }\n"})
	in := filepath.Join(dir, "calc.magen")
	if code, _, stderr := runMagen(t, "-package", "calc", in); code != 0 {
		t.Fatalf("magen: %d %s", code, stderr)
	}
	data, err := os.ReadFile(in + ".go")
	if err != nil {
		t.Fatal(err)
	}
	want := "// versions:\n// \tmagen    (devel)\n// \tbindings SupportPackageIsVersion1\n// command: " + commandLine([]string{"-package", "calc", in}) + "\n"
	if !strings.Contains(string(data), want) {
		t.Errorf("header:\n%s\nwant it to contain:\n%s", data[:300], want)
	}
}
