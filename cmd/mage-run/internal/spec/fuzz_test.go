package spec

import (
	"strings"
	"testing"
)

// FuzzParse checks that no input makes Parse or the rendering of its
// diagnostics panic, and that Parse returns a spec exactly when it
// reports no error.
func FuzzParse(f *testing.F) {
	f.Add(fullExample)
	f.Add(twoProcs + "pipe {\n  from = \"a.x\"\n  to   = \"b.y\"\n}\n")
	f.Add("process \"a\" {\n  command = [\"x\"]\n  restart { policy = \"always\"\n limit = 0 }\n}\n")
	f.Add("process \"a\" {\n  command = [\n}\n")
	f.Add("process \"a\" {\n  command = [\"x\"]\n  after = [\"b\"]\n  process \"c\" {\n    command = [\"y\"]\n    on_demand = true\n  }\n}\nprocess \"b\" {\n  command = [\"z\"]\n  after = [\"a\"]\n}\npipe {\n  from = \"c.x\"\n  to = \"b.y\"\n}\n")
	f.Fuzz(func(t *testing.T, src string) {
		s, diags := Parse("f.hcl", []byte(src))
		if (s == nil) != diags.HasErrors() {
			t.Fatalf("spec %v with diagnostics %v", s, diags)
		}
		var b strings.Builder
		WriteDiagnostics(&b, diags, []byte(src))
		if s != nil {
			s.Walk(func(p *Process) {
				if len(p.Command) == 0 || p.Count < 1 {
					t.Fatalf("invalid process accepted: %+v", p)
				}
			})
		}
	})
}
