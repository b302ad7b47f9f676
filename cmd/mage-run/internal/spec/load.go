package spec

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Load reads and parses the spec file at path. A spec with problems gives
// an *Error listing all of them; an unreadable file gives the error from
// reading it, wrapped.
func Load(path string) (*Spec, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	s, diags := Parse(path, src)
	if diags.HasErrors() {
		return nil, &Error{Diagnostics: diags, src: src}
	}
	return s, nil
}

// Error is a spec's list of problems. Its text has one entry per
// diagnostic: "file:line:col: message", then the source line with a caret
// under the column.
type Error struct {
	Diagnostics hcl.Diagnostics
	src         []byte
}

func (e *Error) Error() string {
	var b strings.Builder
	WriteDiagnostics(&b, e.Diagnostics, e.src)
	return strings.TrimSuffix(b.String(), "\n")
}

// WriteDiagnostics writes diags as Error does; src is the text they refer
// to, and may be nil.
func WriteDiagnostics(w io.Writer, diags hcl.Diagnostics, src []byte) {
	for _, d := range diags {
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		if d.Severity == hcl.DiagWarning {
			msg = "warning: " + msg
		}
		if d.Subject == nil {
			fmt.Fprintf(w, "%s\n", msg)
			continue
		}
		s := d.Subject.Start
		fmt.Fprintf(w, "%s:%d:%d: %s\n", d.Subject.Filename, s.Line, s.Column, msg)
		if line, caret, ok := sourceLine(src, s.Byte); ok {
			fmt.Fprintf(w, "\t%s\n\t%s^\n", line, caret)
		}
	}
}

// sourceLine returns the line holding byte offset off, and the blanks
// (tabs kept) that put a caret under that byte.
func sourceLine(src []byte, off int) (line, caret string, ok bool) {
	if off < 0 || off > len(src) {
		return "", "", false
	}
	start := strings.LastIndexByte(string(src[:off]), '\n') + 1
	end := len(src)
	if i := strings.IndexByte(string(src[off:]), '\n'); i >= 0 {
		end = off + i
	}
	line = strings.TrimRight(string(src[start:end]), "\r")
	if strings.TrimSpace(line) == "" {
		return "", "", false
	}
	caret = strings.Map(func(r rune) rune {
		if r == '\t' {
			return r
		}
		return ' '
	}, string(src[start:off]))
	return line, caret, true
}
