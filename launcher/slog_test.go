package launcher

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestParseSlogLevel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want hclog.Level
		ok   bool
	}{
		{"DEBUG", hclog.Debug, true},
		{"INFO", hclog.Info, true},
		{"WARN", hclog.Warn, true},
		{"ERROR", hclog.Error, true},
		{"DEBUG-4", hclog.Trace, true},
		{"DEBUG+2", hclog.Debug, true},
		{"INFO+2", hclog.Info, true},
		{"INFO+4", hclog.Warn, true},
		{"INFO-1", hclog.Debug, true},
		{"WARN+3", hclog.Warn, true},
		{"ERROR+8", hclog.Error, true},
		{"warning", hclog.Warn, true},
		{"info", hclog.Info, true},
		{"trace", hclog.Trace, true},
		{"fatal", hclog.Error, true},
		{"NOTICE", 0, false},
		{"INFO+x", 0, false},
		{"INFO+99999999999999999999", 0, false},
		{"INFO+1000", 0, false},
		{"+2", 0, false},
		{"", 0, false},
	} {
		got, ok := parseSlogLevel(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseSlogLevel(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// Lines written by log/slog's own handlers, with a level of each kind,
// an offset, groups and odd values, parse to what was logged.
func TestParseSlogFromRealHandlers(t *testing.T) {
	var jsonOut, textOut strings.Builder
	opts := &slog.HandlerOptions{Level: slog.LevelDebug - 4}
	for _, h := range []slog.Handler{slog.NewJSONHandler(&jsonOut, opts), slog.NewTextHandler(&textOut, opts)} {
		l := slog.New(h)
		l.Error("disk full", "path", "/var/x y", "free", 0)
		l.Log(context.Background(), slog.LevelInfo+2, "odd level", "quote", `say "hi"`)
		l.Log(context.Background(), slog.LevelDebug-4, "very low")
		l.WithGroup("req").Warn("slow", "ms", 1500, "ok", true)
	}
	want := []struct {
		level hclog.Level
		msg   string
		json  string
		text  string
	}{
		{hclog.Error, "disk full", "[path /var/x y free 0]", "[path /var/x y free 0]"},
		{hclog.Info, "odd level", `[quote say "hi"]`, `[quote say "hi"]`},
		{hclog.Trace, "very low", "[]", "[]"},
		{hclog.Warn, "slow", "[req map[ms:1500 ok:true]]", "[req.ms 1500 req.ok true]"},
	}
	for kind, out := range map[string]string{"json": jsonOut.String(), "text": textOut.String()} {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(want) {
			t.Fatalf("%s: %d lines: %q", kind, len(lines), out)
		}
		for i, line := range lines {
			parse, wantArgs := parseSlogJSON, want[i].json
			if kind == "text" {
				parse, wantArgs = parseSlogText, want[i].text
			}
			level, msg, args, ok := parse([]byte(line))
			if !ok || level != want[i].level || msg != want[i].msg || fmt.Sprint(args) != wantArgs {
				t.Errorf("%s %s: got %v %v %q %v, want %v %q %s", kind, line, ok, level, msg, args, want[i].level, want[i].msg, wantArgs)
			}
			// Each kind is recognised by its own parser only.
			if other := parseStructuredOther(kind, line); other {
				t.Errorf("%s line %s parsed as the other kind", kind, line)
			}
		}
	}
}

func parseStructuredOther(kind, line string) bool {
	if kind == "json" {
		_, _, _, ok := parseSlogText([]byte(line))
		return ok
	}
	_, _, _, ok := parseSlogJSON([]byte(line))
	return ok
}

func TestParseSlogMalformed(t *testing.T) {
	many := func(sep string, n int) string {
		var b strings.Builder
		for i := range n {
			if sep == "json" {
				fmt.Fprintf(&b, `,"k%d":%d`, i, i)
			} else {
				fmt.Fprintf(&b, " k%d=%d", i, i)
			}
		}
		return b.String()
	}
	jsonLines := []string{
		`{"level":"INFO"}`,                    // no msg
		`{"msg":"m"}`,                         // no level
		`{"level":"LOUD","msg":"m"}`,          // unknown level
		`{"level":3,"msg":"m"}`,               // level not a string
		`{"level":"INFO","msg":["m"]}`,        // msg not a string
		`{"level":"INFO","msg":"m"} and more`, // trailing text
		`{"level":"INFO","msg":"m"}{}`,        // two objects
		`{"level":"INFO","msg":"m"`,           // cut
		`{"level":"INFO","msg":"m",}`,         // bad JSON
		`["level","INFO"]`,                    // not an object
		`{"level":"INFO","msg":"m"` + many("json", maxStructuredFields) + `}`, // too many keys
		``,
	}
	for _, line := range jsonLines {
		if _, _, _, ok := parseSlogJSON([]byte(line)); ok {
			t.Errorf("parseSlogJSON accepted %.80q", line)
		}
	}
	textLines := []string{
		`level=INFO`,                     // no msg
		`time=x msg=m`,                   // no level
		`msg=m level=INFO`,               // not how slog begins
		`level=LOUD msg=m`,               // unknown level
		`level=INFO msg="unterminated`,   // open quote
		`level=INFO msg="a"b`,            // text after a quote
		`level=INFO msg=m stray`,         // a word with no =
		`level=INFO msg=m =v`,            // empty key
		`level=INFO msg=m "k"=v`,         // quoted key
		`level=INFO msg="bad \q escape"`, // bad escape
		`level=INFO msg=m` + many("text", maxStructuredFields), // too many keys
		`time=`,
	}
	for _, line := range textLines {
		if _, _, _, ok := parseSlogText([]byte(line)); ok {
			t.Errorf("parseSlogText accepted %.80q", line)
		}
	}
	// Just within the bound is fine.
	line := `level=INFO msg=m` + many("text", maxStructuredFields-2)
	if _, _, args, ok := parseSlogText([]byte(line)); !ok || len(args) != 2*(maxStructuredFields-2) {
		t.Errorf("parseSlogText refused %d keys: %v", maxStructuredFields, ok)
	}
}

// Through emit: slog lines keep their level, message and keys; a line too
// long to be read whole is logged in plain pieces, never parsed.
func TestStderrEmitSlog(t *testing.T) {
	var out strings.Builder
	s := &stderrCapture{log: hclog.New(&hclog.LoggerOptions{Output: &out, JSONFormat: true, Level: hclog.Trace})}
	s.emit([]byte(`{"time":"2026-01-01T00:00:00Z","level":"WARN+1","msg":"json line","n":12345678901234567890,"g":{"a":"b"}}`+"\n"), true)
	s.emit([]byte(`time=2026-01-01T00:00:00Z level=ERROR msg="text line" err="no such file"`+"\n"), true)
	huge := `{"level":"ERROR","msg":"huge","pad":"` + strings.Repeat("x", 2*maxStderrLine) + `"}`
	s.emit([]byte(huge[:maxStderrLine]), false)
	s.emit([]byte(huge[maxStderrLine:]+"\n"), true)

	var entries []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%v: %.200s", err, line)
		}
		entries = append(entries, e)
	}
	if len(entries) != 4 {
		t.Fatalf("%d entries, want 4", len(entries))
	}
	if e := entries[0]; e["@level"] != "warn" || e["@message"] != "json line" || fmt.Sprint(e["n"]) != "1.2345678901234567e+19" || fmt.Sprint(e["g"]) != "map[a:b]" || e["time"] != nil {
		t.Errorf("slog JSON line re-emitted as %v", e)
	}
	if !strings.Contains(out.String(), `"n":12345678901234567890`) {
		t.Errorf("a number lost digits on the way through: %s", out.String())
	}
	if e := entries[1]; e["@level"] != "error" || e["@message"] != "text line" || e["err"] != "no such file" || e["time"] != nil {
		t.Errorf("slog text line re-emitted as %v", e)
	}
	for _, e := range entries[2:] {
		if e["@level"] != "info" || e["@message"] != "stderr" {
			t.Errorf("a piece of an over-long line was not logged plain: %.200v", e)
		}
	}
}

// With StderrLineOnly, a line goes to StderrLine and is not logged.
func TestStderrLineOnly(t *testing.T) {
	var out strings.Builder
	var seen []string
	s := &stderrCapture{
		log:      hclog.New(&hclog.LoggerOptions{Output: &out}),
		onLine:   func(b []byte) { seen = append(seen, string(b)) },
		lineOnly: true,
	}
	s.emit([]byte(`{"level":"ERROR","msg":"x"}`+"\n"), true)
	s.emit([]byte("plain\n"), true)
	if out.Len() != 0 || fmt.Sprint(seen) != `[{"level":"ERROR","msg":"x"} plain]` {
		t.Errorf("logged %q, handed on %q", out.String(), seen)
	}
}

// Whatever a child writes, parsing it neither panics nor returns more
// keys than the bound, and keys come with values.
func FuzzParseLogLine(f *testing.F) {
	for _, seed := range []string{
		`{"time":"t","level":"INFO+2","msg":"m","k":{"g":[1,2]}}`,
		`time=t level=WARN msg="a \"b\"" k=v`,
		`{"@level":"error","@message":"m","a":1}`,
		`level=INFO msg=`,
		`{"level":"DEBUG-99999","msg":"m"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		level, _, args, ok := ParseLogLine(line)
		if !ok {
			return
		}
		if len(args)%2 != 0 || len(args) > 2*(maxStructuredFields+1) {
			t.Errorf("%d args", len(args))
		}
		if level < hclog.Trace || level > hclog.Error {
			t.Errorf("level %v", level)
		}
	})
}
