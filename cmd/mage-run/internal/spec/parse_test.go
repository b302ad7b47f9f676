package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// diagLines renders diagnostics as "line:col: message", one a line.
func diagLines(diags hcl.Diagnostics) []string {
	var lines []string
	for _, d := range diags {
		var b strings.Builder
		WriteDiagnostics(&b, hcl.Diagnostics{d}, nil)
		line, _, _ := strings.Cut(b.String(), "\n")
		lines = append(lines, strings.TrimPrefix(line, "t.hcl:"))
	}
	return lines
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want string // a regexp for the only diagnostic, from its line:col
	}{
		{"unknown attribute",
			"process \"a\" {\n  command = [\"x\"]\n  bogus = 1\n}\n",
			`3:3: Unsupported argument: An argument named "bogus" is not expected here\.`},
		{"unknown block",
			"process \"a\" { command = [\"x\"] }\nservice \"b\" {}\n",
			`2:1: Unsupported block type: Blocks of type "service" are not expected here\.`},
		{"unknown restart attribute",
			"process \"a\" {\n  command = [\"x\"]\n  restart {\n    tries = 3\n  }\n}\n",
			`4:5: Unsupported argument: An argument named "tries" .*`},
		{"syntax error",
			"process \"a\" {\n  command = [\"x\"\n}\n",
			`3:1: Missing item separator: .*`},
		{"missing command",
			"process \"a\" {\n  dir = \"/tmp\"\n}\n",
			`1:1: process "a" has no command`},
		{"empty command",
			"process \"a\" {\n  command = []\n}\n",
			`2:13: command of process "a" is empty: it needs at least the program`},
		{"empty program",
			"process \"a\" {\n  command = [\"\", \"-v\"]\n}\n",
			`2:13: command of process "a" names an empty program`},
		{"command not a list",
			"process \"a\" {\n  command = 7\n}\n",
			`2:13: command: list of string required, but have number`},
		{"variable in a value",
			"process \"a\" {\n  command = [var.prog]\n}\n",
			`2:14: Unknown variable: There is no variable named "var"\.`},
		{"duplicate process",
			"process \"a\" { command = [\"x\"] }\nprocess \"b\" {\n  command = [\"y\"]\n  process \"a\" { command = [\"z\"] }\n}\n",
			`4:11: duplicate process name "a": first declared at line 1 \(names are unique across the whole spec\)`},
		{"bad process name",
			"process \"a.b\" { command = [\"x\"] }\n",
			`1:9: process name "a\.b" must start with a letter or '_' .*`},
		{"bad duration",
			"process \"a\" {\n  command      = [\"x\"]\n  stop_timeout = \"5 seconds\"\n}\n",
			`3:18: stop_timeout: "5 seconds" is not a positive duration such as "500ms", "5s" or "1m30s"`},
		{"negative duration",
			"process \"a\" {\n  command = [\"x\"]\n  restart {\n    backoff = \"-1s\"\n  }\n}\n",
			`4:15: backoff: "-1s" is not a positive duration .*`},
		{"count zero",
			"process \"a\" {\n  command = [\"x\"]\n  count   = 0\n}\n",
			`3:13: count must be at least 1, not 0`},
		{"count fraction",
			"process \"a\" {\n  command = [\"x\"]\n  count   = 1.5\n}\n",
			`3:13: count: value must be a whole number.*`},
		{"unknown policy",
			"process \"a\" {\n  command = [\"x\"]\n  restart {\n    policy = \"sometimes\"\n  }\n}\n",
			`4:14: unknown restart policy "sometimes": want never, on-failure or always`},
		{"negative limit",
			"process \"a\" {\n  command = [\"x\"]\n  restart {\n    limit = -1\n  }\n}\n",
			`4:13: restart limit must not be negative \(0 means no limit\), not -1`},
		{"backoff over max",
			"process \"a\" {\n  command = [\"x\"]\n  restart {\n    backoff     = \"20s\"\n    max_backoff = \"10s\"\n  }\n}\n",
			`4:19: backoff 20s is longer than max_backoff 10s`},
		{"two restart blocks",
			"process \"a\" {\n  command = [\"x\"]\n  restart {}\n  restart {}\n}\n",
			`4:3: process "a" has a second restart block; the first is at line 3`},
		{"endpoint without dot",
			twoProcs + "pipe {\n  from = \"a\"\n  to   = \"b.x\"\n}\n",
			`4:10: pipe endpoint "a" must be of the form process\.attachment`},
		{"endpoint without attachment",
			twoProcs + "pipe {\n  from = \"a.x\"\n  to   = \"b.\"\n}\n",
			`5:10: pipe endpoint "b\." must be of the form process\.attachment`},
		{"missing endpoint",
			twoProcs + "pipe {\n  from = \"a.x\"\n}\n",
			`3:1: pipe has no "to" endpoint`},
		{"missing process",
			twoProcs + "pipe {\n  from = \"a.x\"\n  to   = \"c.x\"\n}\n",
			`5:10: pipe endpoint "c\.x" names no process: there is no process "c"`},
		{"bad attachment name",
			twoProcs + "pipe {\n  from = \"a.x y\"\n  to   = \"b.x\"\n}\n",
			`4:10: pipe endpoint "a\.x y": attachment name must be 1 to 64 bytes of printable ASCII, without spaces`},
		{"attachment name too long",
			twoProcs + "pipe {\n  from = \"a." + strings.Repeat("x", 65) + "\"\n  to   = \"b.x\"\n}\n",
			`4:10: pipe endpoint "a\.x+": attachment name must be 1 to 64 bytes .*`},
		{"attachment used twice",
			twoProcs + "process \"c\" { command = [\"z\"] }\npipe {\n  from = \"a.x\"\n  to   = \"b.x\"\n}\npipe {\n  from = \"c.x\"\n  to   = \"a.x\"\n}\n",
			`10:10: attachment "x" of process "a" is already used by the pipe at line 4`},
		{"pipe to itself",
			twoProcs + "pipe {\n  from = \"a.x\"\n  to   = \"a.y\"\n}\n",
			`3:1: pipe joins process "a" to itself: a pipe joins two different processes`},
		{"pipe between two replicated processes",
			"process \"a\" {\n  command = [\"x\"]\n  count   = 2\n}\nprocess \"b\" {\n  command = [\"y\"]\n  count   = 3\n}\npipe {\n  from = \"a.x\"\n  to   = \"b.x\"\n}\n",
			`9:1: pipe joins process "a" \(count = 2\) and process "b" \(count = 3\), which may both have many instances .*`},
		{"pipe between a child of a replica and an on-demand process",
			"process \"a\" {\n  command = [\"x\"]\n  count   = 2\n  process \"c\" { command = [\"z\"] }\n}\nprocess \"b\" {\n  command = [\"y\"]\n  process \"d\" {\n    command   = [\"w\"]\n    on_demand = true\n  }\n}\npipe {\n  from = \"c.x\"\n  to   = \"d.x\"\n}\n",
			`13:1: pipe joins process "c" \(inside "a", count = 2\) and process "d" \(on_demand\), which may both .*`},
		{"reserved attachment",
			twoProcs + "pipe {\n  from = \"a.mage-run\"\n  to   = \"b.x\"\n}\n",
			`4:10: pipe endpoint "a\.mage-run": attachment "mage-run" is reserved for mage-run's supervisor interface`},
		{"parent attachment of an on-demand process",
			"process \"a\" {\n  command = [\"x\"]\n  process \"b\" {\n    command   = [\"y\"]\n    on_demand = true\n  }\n}\npipe {\n  from = \"a.b\"\n  to   = \"b.parent\"\n}\n",
			`10:10: pipe endpoint "b\.parent": attachment "parent" of an on_demand process is its pipe to the process that launched it`},
		{"on-demand at the top level",
			"process \"a\" {\n  command   = [\"x\"]\n  on_demand = true\n}\n",
			`3:15: process "a" is on_demand but not nested: only its parent process can launch it`},
		{"on-demand with count",
			"process \"a\" {\n  command = [\"x\"]\n  process \"b\" {\n    command   = [\"y\"]\n    count     = 2\n    on_demand = true\n  }\n}\n",
			`6:17: process "b" is on_demand and has count = 2: its parent launches instances one at a time`},
		{"on-demand with restart",
			"process \"a\" {\n  command = [\"x\"]\n  process \"b\" {\n    command   = [\"y\"]\n    on_demand = true\n    restart {}\n  }\n}\n",
			`6:5: process "b" is on_demand and has a restart block: mage-run never restarts an on-demand process; its parent launches a new one`},
		{"description not a string",
			"process \"a\" {\n  command     = [\"x\"]\n  description = [\"web\"]\n}\n",
			`3:17: description: string required.*`},
		{"description of two lines",
			"process \"a\" {\n  command     = [\"x\"]\n  description = \"serves\\npages\"\n}\n",
			`3:17: description of process "a" holds the control character '\\n': it must be one line of text`},
		{"description with an escape sequence",
			"process \"a\" {\n  command     = [\"x\"]\n  description = \"\\u001b[2Jcleared\"\n}\n",
			`3:17: description of process "a" holds the control character '\\x1b': it must be one line of text`},
		{"after itself",
			"process \"a\" {\n  command = [\"x\"]\n  after   = [\"a\"]\n}\n",
			`3:13: process "a" is after itself`},
		{"after nothing",
			"process \"a\" {\n  command = [\"x\"]\n  after   = [\"z\"]\n}\n",
			`3:13: process "a" is after "z", but there is no process "z"`},
		{"after a non-sibling",
			"process \"a\" {\n  command = [\"x\"]\n  process \"b\" {\n    command = [\"y\"]\n    after   = [\"a\"]\n  }\n}\n",
			`5:15: process "b" is after "a", which is not its sibling: after names processes in the same block`},
		{"after twice",
			twoProcs + "process \"c\" {\n  command = [\"z\"]\n  after   = [\"a\", \"a\"]\n}\n",
			`5:13: process "c" is after "a" twice`},
		{"after cycle",
			"process \"a\" {\n  command = [\"x\"]\n  after   = [\"c\"]\n}\nprocess \"b\" {\n  command = [\"y\"]\n  after   = [\"a\"]\n}\nprocess \"c\" {\n  command = [\"z\"]\n  after   = [\"b\"]\n}\n",
			`3:13: processes wait for each other to start: a is after c is after b is after a`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, diags := Parse("t.hcl", []byte(tc.src))
			if s != nil {
				t.Errorf("Parse returned a spec along with errors")
			}
			got := diagLines(diags)
			if len(got) != 1 || !regexp.MustCompile(`^`+tc.want+`$`).MatchString(got[0]) {
				t.Errorf("diagnostics:\n%s\nwant one matching:\n%s", strings.Join(got, "\n"), tc.want)
			}
		})
	}
}

const twoProcs = "process \"a\" { command = [\"x\"] }\nprocess \"b\" { command = [\"y\"] }\n"

func TestParseDescription(t *testing.T) {
	s, diags := Parse("t.hcl", []byte(`process "web" {
  command     = ["x"]
  description = "  serves the pages: ${upper("http")}  "
  process "cache" { command = ["y"] }
}
`))
	if diags.HasErrors() {
		t.Fatalf("diagnostics: %s", diags)
	}
	if got, want := s.Processes[0].Description, "serves the pages: HTTP"; got != want {
		t.Errorf("description %q, want %q (trimmed, its expression evaluated)", got, want)
	}
	if got := s.Processes[0].Children[0].Description; got != "" {
		t.Errorf("a process without a description has %q", got)
	}
}

// TestParseReportsEverything checks that problems in different blocks are
// all reported, in file order.
func TestParseReportsEverything(t *testing.T) {
	src := `pipe {
  from = "nosuch.x"
  to   = "a.x"
}
process "a" {
  count = 0
}
process "a" {
  command = ["x"]
  restart { policy = "often" }
}
`
	_, diags := Parse("t.hcl", []byte(src))
	got := strings.Join(diagLines(diags), "\n")
	want := `2:10: pipe endpoint "nosuch.x" names no process: there is no process "nosuch"
5:1: process "a" has no command
6:11: count must be at least 1, not 0
8:9: duplicate process name "a": first declared at line 5 (names are unique across the whole spec)
10:22: unknown restart policy "often": want never, on-failure or always`
	if got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
}

const fullExample = `# A browser with a renderer below it, and a network service beside it.
process "browser" {
  command      = ["./browser", "--flag"]
  env          = { LOG = "debug" }
  dir          = "/srv/browser"
  stop_timeout = "2s"
  restart {
    policy      = "on-failure"
    backoff     = "200ms"
    max_backoff = "5s"
    limit       = 4
  }
  process "renderer" {
    command = ["./renderer"]
    count   = 2
    restart { policy = "always" }
  }
  process "gpu" {
    command = ["./gpu"]
    after   = ["renderer"]
  }
  process "tab" {
    command   = ["./tab"]
    on_demand = true
  }
}
process "network" {
  command = ["./network"]
  restart {
    backoff = "30s"
  }
}
pipe {
  from = "browser.net"
  to   = "network.requests"
}
pipe {
  from = "gpu.net"
  to   = "network.gpu.requests"
}
`

func TestParseFullExample(t *testing.T) {
	s, diags := ParseWith("full.hcl", []byte(fullExample), Options{Dir: fullExampleDir})
	if diags.HasErrors() {
		t.Fatalf("diagnostics: %s", diags)
	}
	rng := func(line, col1, col2 int) hcl.Range {
		return hcl.Range{Filename: "full.hcl", Start: pos(fullExample, line, col1), End: pos(fullExample, line, col2)}
	}
	browser := &Process{
		Name:        "browser",
		Command:     []string{"./browser", "--flag"},
		Env:         map[string]string{"LOG": "debug"},
		Dir:         "/srv/browser",
		Count:       1,
		StopTimeout: 2 * time.Second,
		Restart:     Restart{Policy: RestartOnFailure, Backoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second, Limit: 4},
		DeclRange:   rng(2, 1, 18),
	}
	renderer := &Process{
		Name:        "renderer",
		Command:     []string{"./renderer"},
		Count:       2,
		StopTimeout: DefaultStopTimeout,
		Restart:     Restart{Policy: RestartAlways, Backoff: DefaultBackoff, MaxBackoff: DefaultMaxBackoff, Limit: DefaultRestartLimit},
		Parent:      browser,
		DeclRange:   rng(13, 3, 21),
	}
	gpu := &Process{
		Name:        "gpu",
		Command:     []string{"./gpu"},
		Count:       1,
		StopTimeout: DefaultStopTimeout,
		After:       []string{"renderer"},
		AfterRange:  rng(20, 15, 27),
		Parent:      browser,
		DeclRange:   rng(18, 3, 16),
	}
	tab := &Process{
		Name:        "tab",
		Command:     []string{"./tab"},
		Count:       1,
		OnDemand:    true,
		StopTimeout: DefaultStopTimeout,
		Parent:      browser,
		DeclRange:   rng(22, 3, 16),
	}
	browser.Children = []*Process{renderer, gpu, tab}
	network := &Process{
		Name:        "network",
		Command:     []string{"./network"},
		Count:       1,
		StopTimeout: DefaultStopTimeout,
		// A first delay above the default cap raises the cap.
		Restart:   Restart{Policy: RestartOnFailure, Backoff: 30 * time.Second, MaxBackoff: 30 * time.Second, Limit: DefaultRestartLimit},
		DeclRange: rng(27, 1, 18),
	}
	want := &Spec{
		Dir:       fullExampleDir,
		Processes: []*Process{browser, network},
		Pipes: []*Pipe{
			{
				From:      Endpoint{"browser", "net"},
				To:        Endpoint{"network", "requests"},
				DeclRange: rng(33, 1, 5),
				FromRange: rng(34, 10, 23),
				ToRange:   rng(35, 10, 28),
			},
			{
				From:      Endpoint{"gpu", "net"},
				To:        Endpoint{"network", "gpu.requests"},
				DeclRange: rng(37, 1, 5),
				FromRange: rng(38, 10, 19),
				ToRange:   rng(39, 10, 32),
			},
		},
	}
	want.Walk(setDefaults)
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got:\n%s\nwant:\n%s", dump(s), dump(want))
	}

	var order []string
	s.Walk(func(p *Process) { order = append(order, p.Name) })
	if got := strings.Join(order, " "); got != "browser renderer gpu tab network" {
		t.Errorf("Walk order %q", got)
	}
	if p := s.Process("gpu"); p == nil || p.Name != "gpu" || s.Process("nosuch") != nil {
		t.Errorf("Process lookup wrong")
	}
}

// pos is the position of a line and column in ASCII text.
func pos(text string, line, col int) hcl.Pos {
	off := 0
	for l := 1; l < line; l++ {
		off += strings.IndexByte(text[off:], '\n') + 1
	}
	return hcl.Pos{Line: line, Column: col, Byte: off + col - 1}
}

// dump prints a spec without following Parent pointers back up.
func dump(s *Spec) string {
	var b strings.Builder
	s.Walk(func(p *Process) {
		parent := ""
		if p.Parent != nil {
			parent = p.Parent.Name
		}
		fmt.Fprintf(&b, "process %s (parent %q) %q env=%v dir=%q count=%d on_demand=%v after=%q %v stop=%v restart=%+v decl=%v %+v\n",
			p.Name, parent, p.Command, p.Env, p.Dir, p.Count, p.OnDemand, p.After, p.AfterRange, p.StopTimeout, p.Restart, p.DeclRange, p.DeclRange.Start)
	})
	for _, p := range s.Pipes {
		fmt.Fprintf(&b, "pipe %s -> %s decl=%+v from=%+v to=%+v\n", p.From, p.To, p.DeclRange, p.FromRange, p.ToRange)
	}
	return b.String()
}

func TestParseDefaults(t *testing.T) {
	s, diags := Parse("t.hcl", []byte("process \"a\" {\n  command = [\"x\"]\n  restart { policy = \"never\" }\n}\nprocess \"b\" { command = [\"y\"] }\n"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	a, b := s.Process("a"), s.Process("b")
	if a.Restart != (Restart{Policy: RestartNever, Backoff: DefaultBackoff, MaxBackoff: DefaultMaxBackoff}) {
		t.Errorf("a's restart %+v", a.Restart)
	}
	if b.Restart != (Restart{}) || b.Count != 1 || b.StopTimeout != DefaultStopTimeout || b.Env != nil || b.Dir != s.Dir ||
		b.StopSignal != syscall.SIGTERM || b.AcceptTimeout != 10*time.Second || !b.Invite {
		t.Errorf("b's defaults %+v", b)
	}
}

func TestRestartPolicyString(t *testing.T) {
	for p, want := range map[RestartPolicy]string{
		RestartNever:     "never",
		RestartOnFailure: "on-failure",
		RestartAlways:    "always",
		RestartPolicy(9): "RestartPolicy(9)",
	} {
		if got := p.String(); got != want {
			t.Errorf("%d: got %q, want %q", int(p), got, want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.hcl")
	bad := filepath.Join(dir, "bad.hcl")
	if err := os.WriteFile(good, []byte(fullExample), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("process \"a\" {\n\tcommand = []\n\tcount = 0\n}\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	if s, err := Load(good); err != nil || len(s.Processes) != 2 {
		t.Errorf("Load(good): %v, %v", s, err)
	}
	_, err := Load(bad)
	var specErr *Error
	if !errors.As(err, &specErr) || len(specErr.Diagnostics) != 2 {
		t.Fatalf("Load(bad): %v", err)
	}
	want := bad + ":2:12: command of process \"a\" is empty: it needs at least the program\n" +
		"\t\tcommand = []\n" +
		"\t\t          ^\n" +
		bad + ":3:10: count must be at least 1, not 0\n" +
		"\t\tcount = 0\n" +
		"\t\t        ^"
	if err.Error() != want {
		t.Errorf("Load(bad) error:\n%s\nwant:\n%s", err, want)
	}
	_, err = Load(filepath.Join(dir, "nosuch.hcl"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "spec: ") {
		t.Errorf("Load(nosuch): %v", err)
	}
}

// TestPipeScopes checks where the two ends of a pipe meet, and which side
// may have many instances there.
func TestPipeScopes(t *testing.T) {
	src := `process "browser" {
  command = ["b"]
  process "renderer" {
    command = ["r"]
    count   = 2
    process "worker" { command = ["w"] }
  }
  process "gpu" { command = ["g"] }
}
process "network" { command = ["n"] }
pipe {
  from = "browser.r"
  to   = "renderer.b"
}
pipe {
  from = "renderer.w"
  to   = "worker.r"
}
pipe {
  from = "worker.net"
  to   = "network.workers"
}
pipe {
  from = "gpu.net"
  to   = "network.gpu"
}
`
	s, diags := Parse("t.hcl", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for i, want := range []struct {
		scope            string
		fromMany, toMany bool
	}{
		{"browser", false, true},   // the browser and each of its renderers
		{"renderer", false, false}, // each renderer and its own worker
		{"", true, false},          // every worker of every renderer and the network
		{"", false, false},         // the gpu and the network
	} {
		p := s.Pipes[i]
		scope := p.Scope(s)
		name := ""
		if scope != nil {
			name = scope.Name
		}
		from, to := s.Process(p.From.Process), s.Process(p.To.Process)
		if name != want.scope || MultiBelow(from, scope) != want.fromMany || MultiBelow(to, scope) != want.toMany {
			t.Errorf("pipe %s - %s: scope %q, many %v %v; want %q, %v %v", p.From, p.To, name,
				MultiBelow(from, scope), MultiBelow(to, scope), want.scope, want.fromMany, want.toMany)
		}
	}
}

// fullExampleDir is the directory the full example is read from.
const fullExampleDir = "/specs"

// setDefaults fills in the settings that every process of the full
// example leaves at their defaults.
func setDefaults(p *Process) {
	p.Invite = true
	p.StopSignal = DefaultStopSignal
	p.AcceptTimeout = DefaultAcceptTimeout
	if p.Restart.Policy != RestartNever {
		p.Restart.ResetAfter, p.Restart.Jitter = DefaultResetAfter, DefaultJitter
	}
	if p.Dir == "" {
		p.Dir = fullExampleDir
	}
	if p.After != nil && p.Conditions == nil {
		p.Conditions = make(map[string]Condition)
		for _, name := range p.After {
			p.Conditions[name] = AfterStarted
		}
	}
}
