package tree

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/spec"
)

// Structured lines on stdout keep their level, as on stderr; an
// over-long line is logged as it is.
func TestLineLoggerStructured(t *testing.T) {
	var out bytes.Buffer
	w := newLineLogger(hclog.New(&hclog.LoggerOptions{Output: &out, DisableTime: true, Level: hclog.Trace}), "stdout")
	huge := `{"level":"ERROR","msg":"` + strings.Repeat("x", maxLine) + `"}`
	for _, line := range []string{
		`{"time":"t","level":"WARN","msg":"slog json","k":1}`,
		`time=t level=DEBUG msg="slog text" a=b`,
		`{"@level":"error","@message":"hclog json"}`,
		huge,
	} {
		if _, err := w.Write([]byte(line + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{`[WARN]  slog json: k=1`, `[DEBUG] slog text: a=b`, `[ERROR] hclog json`}
	if len(got) != 4 || strings.Join(got[:3], "\n") != strings.Join(want, "\n") {
		t.Fatalf("logged:\n%.300s", out.String())
	}
	for _, piece := range got[3:] {
		if !strings.HasPrefix(piece, "[INFO]  stdout: line=") {
			t.Errorf("an over-long line was parsed: %.80s", piece)
		}
	}
}

func TestInstanceNamesOfSpec(t *testing.T) {
	src := `
process "web" {
  command = ["w"]
  count   = 2
  process "tab" {
    command = ["t"]
  }
  process "lazy" {
    command   = ["l"]
    on_demand = true
  }
}
process "db" { command = ["d"] }
`
	s, diags := spec.ParseWith("t.hcl", []byte(src), spec.Options{Dir: "/srv"})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	got := strings.Join(InstanceNames(s), " ")
	if want := "web#1 web#1/tab web#2 web#2/tab db"; got != want {
		t.Errorf("InstanceNames = %s, want %s", got, want)
	}
}
