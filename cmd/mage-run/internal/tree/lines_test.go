package tree

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// TestLineLogger writes lines in pieces: each whole line is logged once,
// and a last line without a newline is logged by flush.
func TestLineLogger(t *testing.T) {
	var out bytes.Buffer
	w := newLineLogger(hclog.New(&hclog.LoggerOptions{Output: &out, DisableTime: true}), "stdout")
	for _, piece := range []string{"fir", "st\nsec", "ond\r\nthi", "rd"} {
		if _, err := w.Write([]byte(piece)); err != nil {
			t.Fatal(err)
		}
	}
	w.flush()
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{`[INFO]  stdout: line=first`, `[INFO]  stdout: line=second`, `[INFO]  stdout: line=third`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("logged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
