package main

import (
	"strings"
	"testing"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/tree"
)

func TestConsole(t *testing.T) {
	var out strings.Builder
	c := newConsole(&out, false, []string{"db", "web#1"})
	c.Line("db", tree.Stdout, []byte("ready\r"))
	// mage-run's log: whole lines, a line in two writes, two in one.
	_, _ = c.Write([]byte("[INFO]  one\n"))
	_, _ = c.Write([]byte("[INFO]  tw"))
	_, _ = c.Write([]byte("o\n[WARN]  three\n"))
	// A longer name, launched later, widens the prefixes from then on.
	c.Line("parent#1/tab#12", tree.Stderr, []byte("hi"))
	c.Line("db", tree.Stderr, []byte(""))
	want := "" +
		"db       | ready\n" +
		"mage-run | [INFO]  one\n" +
		"mage-run | [INFO]  two\n" +
		"mage-run | [WARN]  three\n" +
		"parent#1/tab#12 | hi\n" +
		"db              | \n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}

	// A structured line is shown as mage-run's own, over as many lines
	// as its values need, each prefixed.
	out.Reset()
	c.Line("db", tree.Stderr, []byte(`{"level":"ERROR","msg":"boom","trace":"a\nb","n":1}`))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) < 2 || lines[0] != "db              | [ERROR] boom:" || lines[len(lines)-1] != "db              |    n=1" {
		t.Errorf("structured line shown as %q", out.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "db              | ") {
			t.Errorf("line %q has no prefix", l)
		}
	}

	// An unended log line is not kept without bound.
	out.Reset()
	_, _ = c.Write([]byte(strings.Repeat("x", 70<<10)))
	if n := strings.Count(out.String(), "\n"); n != 1 || len(c.partial) != 0 {
		t.Errorf("%d lines out, %d bytes kept", n, len(c.partial))
	}
}

func TestConsoleColor(t *testing.T) {
	var out strings.Builder
	c := newConsole(&out, true, nil)
	c.Line("web", tree.Stdout, []byte("\x1b[31mred"))
	want := "\x1b[" + colorOf("web") + "mweb      |\x1b[0m \x1b[31mred\x1b[0m\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	// Names spread over the palette: a few distinct ones get more than
	// one colour.
	seen := map[string]bool{}
	for _, n := range []string{"web", "db", "cache", "worker#1", "worker#2", "api"} {
		seen[colorOf(n)] = true
	}
	if len(seen) < 2 {
		t.Errorf("six names, %d colours", len(seen))
	}
	for mode, want := range map[string]bool{"always": true, "never": false, "auto": false} {
		// out is not a terminal, so auto means none.
		if got := useColor(mode, &out); got != want {
			t.Errorf("useColor(%s) = %v", mode, got)
		}
	}
}
