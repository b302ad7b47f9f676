package launcher

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestParseHCLogJSON(t *testing.T) {
	for _, tc := range []struct {
		line  string
		ok    bool
		level hclog.Level
		msg   string
		args  string
	}{
		{line: `{"@level":"error","@message":"boom","@timestamp":"x","@caller":"y","b":1,"a":"s"}`, ok: true, level: hclog.Error, msg: "boom", args: "[a s b 1]"},
		{line: `{"@level":"debug","@message":"m","@module":"w.sub"}`, ok: true, level: hclog.Debug, msg: "m", args: "[module w.sub]"},
		{line: `{"@message":"no level"}`, ok: true, level: hclog.Info, msg: "no level", args: "[]"},
		{line: `{"@level":"off","@message":"odd level"}`, ok: true, level: hclog.Info, msg: "odd level", args: "[]"},
		{line: `{"@level":"info"}`},
		{line: `{"@message":3}`},
		{line: `{"@message":"m"} trailing`},
		{line: `{"@message":"m"`},
		{line: `plain`},
		{line: ``},
	} {
		level, msg, args, ok := parseHCLogJSON([]byte(tc.line))
		if ok != tc.ok {
			t.Errorf("%s: ok = %v", tc.line, ok)
			continue
		}
		if ok && (level != tc.level || msg != tc.msg || fmt.Sprint(args) != tc.args) {
			t.Errorf("%s: got %v %q %v, want %v %q %s", tc.line, level, msg, args, tc.level, tc.msg, tc.args)
		}
	}
}

// emit keeps a bounded tail, splits nothing it should not, and logs pieces
// of an over-long line as plain lines.
func TestStderrEmitAndTail(t *testing.T) {
	var out strings.Builder
	s := &stderrCapture{log: hclog.New(&hclog.LoggerOptions{Output: &out, JSONFormat: true})}
	for i := range stderrTailLines + 3 {
		s.emit([]byte(fmt.Sprintf("line %d\r\n", i)), true)
	}
	s.emit([]byte("\n"), true)
	s.emit([]byte(`{"@message":"cut"`), false)
	s.emit([]byte(strings.Repeat("x", 2*stderrTailWidth)), true)
	tail := s.lastLines()
	if len(tail) != stderrTailLines || tail[0] != "line 5" || tail[len(tail)-2] != `{"@message":"cut"` || len(tail[len(tail)-1]) != stderrTailWidth {
		t.Errorf("tail = %q", tail)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != stderrTailLines+5 {
		t.Fatalf("%d log lines, want %d", len(lines), stderrTailLines+5)
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(lines[stderrTailLines+3]), &e); err != nil || e["line"] != `{"@message":"cut"` {
		t.Errorf("a piece of a line was not logged as plain: %v %v", e, err)
	}
}
