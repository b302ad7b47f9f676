package spec

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestLogBlocks(t *testing.T) {
	src := `
log {
  file        = "logs/{name}.log"
  max_backups = 2
}
process "web" {
  command = ["web"]
  count   = 2
}
process "db" {
  command = ["db"]
  log {
    file        = "/var/log/db.log"
    max_size_mb = 5
    compress    = true
  }
  process "kid" {
    command   = ["kid"]
    on_demand = true
  }
}
`
	s, diags := ParseWith("/srv/t.hcl", []byte(src), Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	web, db, kid := s.Process("web").Log, s.Process("db").Log, s.Process("kid").Log
	if web == nil || web.File != "/srv/logs/{name}.log" || web.MaxSizeMB != DefaultLogMaxSizeMB || web.MaxBackups != 2 || web.MaxAgeDays != 0 || web.Compress {
		t.Errorf("web's log = %+v", web)
	}
	// A process's block overrides the top-level one attribute by
	// attribute.
	if db == nil || db.File != "/var/log/db.log" || db.MaxSizeMB != 5 || db.MaxBackups != 2 || !db.Compress {
		t.Errorf("db's log = %+v", db)
	}
	if kid != web {
		t.Errorf("kid's log = %+v, want the top-level one", kid)
	}
	if got := web.Path("browser#2/tab#1"); got != "/srv/logs/browser#2.tab#1.log" {
		t.Errorf("Path = %q", got)
	}

	// Without blocks, no process logs to a file until --log-dir says so.
	s, diags = ParseWith("/srv/t.hcl", []byte("process \"a\" {\n  command = [\"a\"]\n  log {}\n}\nprocess \"b\" { command = [\"b\"] }\n"), Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if a := s.Process("a").Log; a == nil || a.File != "/srv/{name}.log" || a.MaxSizeMB != DefaultLogMaxSizeMB || a.MaxBackups != DefaultLogMaxBackups || a.MaxAgeDays != 0 || a.Compress {
		t.Errorf("a's default log = %+v", a)
	}
	if s.Process("b").Log != nil {
		t.Errorf("b logs to a file with no log block")
	}
	s.LogToDir("/tmp/l")
	if a, b := s.Process("a").Log, s.Process("b").Log; a.File != "/srv/{name}.log" || b == nil || b.File != filepath.Join("/tmp/l", "{name}.log") || b.MaxSizeMB != DefaultLogMaxSizeMB || b.MaxBackups != DefaultLogMaxBackups {
		t.Errorf("after LogToDir: a %+v, b %+v", a, b)
	}
}

func TestLogBlockErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"size", "process \"a\" {\n  command = [\"a\"]\n  log { max_size_mb = 0 }\n}\n",
			`^3:23: log: max_size_mb must be at least 1 \(megabytes\), not 0$`},
		{"backups", "process \"a\" {\n  command = [\"a\"]\n  log { max_backups = -1 }\n}\n",
			`^3:23: log: max_backups must not be negative`},
		{"age", "log { max_age_days = -2 }\n",
			`^1:22: log: max_age_days must not be negative`},
		{"size type", "log { max_size_mb = \"big\" }\n",
			`^1:22: max_size_mb: a number is required$`},
		{"empty file", "process \"a\" {\n  command = [\"a\"]\n  log { file = \"\" }\n}\n",
			`^3:16: log: file must not be empty$`},
		{"placeholder", "process \"a\" {\n  command = [\"a\"]\n  log { file = \"{process}.log\" }\n}\n",
			`^3:16: log: file "\{process\}\.log": unknown placeholder \{process\}: only \{name\} \(the instance's name\) is replaced$`},
		{"directory", "log { file = \"logs/\" }\n",
			`^1:14: log: file "logs/" names a directory`},
		{"unknown attribute", "log { rotate = true }\n",
			`^1:7: Unsupported argument: An argument named "rotate"`},
		{"second", "process \"a\" {\n  command = [\"a\"]\n  log {}\n  log {}\n}\n",
			`^4:3: process "a" has a second log block; the first is at line 3$`},
		{"second top-level", "log {}\nlog {}\n",
			`^2:1: the spec has a second top-level log block; the first is at line 1$`},
		{"replicas share a file", "process \"a\" {\n  command = [\"a\"]\n  count   = 2\n  log { file = \"a.log\" }\n}\n",
			`^4:16: log: file "/srv/a.log" has no \{name\}, but process "a" has several instances: each needs a file of its own$`},
		{"under a replicated parent", "process \"p\" {\n  command = [\"p\"]\n  count   = 2\n  process \"a\" {\n    command = [\"a\"]\n    log { file = \"a.log\" }\n  }\n}\n",
			`^6:18: log: file "/srv/a.log" has no \{name\}, but process "a" has several instances`},
		{"two processes share a file", "log { file = \"all.log\" }\nprocess \"a\" { command = [\"a\"] }\nprocess \"b\" { command = [\"b\"] }\n",
			`^1:14: log: process "b" writes to /srv/all.log, as does process "a": put \{name\} in the file name, or give each its own file$`},
	} {
		_, diags := ParseWith("t.hcl", []byte(tc.src), Options{Dir: "/srv"})
		lines := diagLines(diags)
		if len(lines) != 1 || !regexp.MustCompile(tc.want).MatchString(lines[0]) {
			t.Errorf("%s: got %q, want one matching %s", tc.name, lines, tc.want)
		}
	}
}

// enabled = false leaves the top-level block out for one process, and
// means nothing at the top level.
func TestLogBlockDisabled(t *testing.T) {
	src := "log {}\nprocess \"a\" { command = [\"a\"] }\nprocess \"b\" {\n  command = [\"b\"]\n  log { enabled = false }\n}\n"
	s, diags := ParseWith("t.hcl", []byte(src), Options{Dir: "/srv"})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if s.Process("a").Log == nil || s.Process("b").Log != nil {
		t.Errorf("a %+v, b %+v", s.Process("a").Log, s.Process("b").Log)
	}
	s.LogToDir("/tmp/l")
	if s.Process("b").Log != nil {
		t.Errorf("LogToDir gave b, which says enabled = false, %+v", s.Process("b").Log)
	}
	_, diags = ParseWith("t.hcl", []byte("log { enabled = false }\n"), Options{Dir: "/srv"})
	if lines := diagLines(diags); len(lines) != 1 || !strings.HasPrefix(lines[0], "1:17: log: enabled = false belongs in a process's log block") {
		t.Errorf("got %q", lines)
	}
}
