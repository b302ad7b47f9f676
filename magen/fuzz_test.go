package magen

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary text to the parser and checker. They must never
// panic, every error must carry a position in the file, and whatever loads
// cleanly must generate well-shaped Go (see checkShape).
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.magen"))
	more, _ := filepath.Glob(filepath.Join("..", "mage", "testdata", "magen", "*.magen"))
	for _, name := range append(seeds, more...) {
		if src, err := os.ReadFile(name); err == nil {
			f.Add(string(src))
		}
	}
	f.Add("interface A { M@1(array<pending_remote<A>> a, handle h) => (bytes b); }")
	f.Add("package a.b; import \"x.magen\"; interface A { B(); }")
	f.Add("interface A { B@(; } /* x */ \"unterminated")
	f.Fuzz(func(t *testing.T, src string) {
		files, err := memLoader(map[string]string{"a.magen": src, "x.magen": "interface X {}"}).Load("a.magen")
		if err != nil {
			list, ok := err.(ErrorList)
			if !ok || len(list) == 0 {
				t.Fatalf("error %T %v is not a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.Pos.Filename == "" || !e.Pos.IsValid() || e.Pos.Offset > len(src)+len("interface X {}") {
					t.Fatalf("error without a valid position: %v", e)
				}
			}
			return
		}
		out, err := Generate(files[0], Options{Package: "fuzz"})
		if err != nil {
			t.Fatalf("Generate failed on input that loaded cleanly: %v\ninput: %q", err, src)
		}
		checkShape(t, out)
	})
}
