package main

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"go.uber.org/goleak"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/demo"
	"github.com/mage-ipc/mage/cmd/mage-run/internal/testnode"
)

// TestMain doubles as mage-run itself in two ways. The demo re-executes
// its own executable, which under test is this test binary, with the role
// in the environment: that check comes first, before testscript looks at
// the binary's name. And the scripts in testdata/scripts run this binary
// as the "mage-run" command, through testscript.Main.
func TestMain(m *testing.M) {
	if _, ok := os.LookupEnv(demo.EnvRole); ok {
		os.Exit(run(os.Args, os.Stdout, os.Stderr))
	}
	// A child built with -race sleeps a second before exiting, for late
	// reports; the demo's children report their races without it.
	if err := os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")); err != nil {
		panic(err)
	}
	testscript.Main(leakCheckedM{m}, map[string]func(){
		"mage-run": func() { os.Exit(run(os.Args, os.Stdout, os.Stderr)) },
		"testnode": func() { os.Exit(testnode.Main(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// leakCheckedM runs the tests and then fails the run if goroutines were
// left behind, as goleak.VerifyTestMain does; testscript.Main calls
// os.Exit itself, so it needs the check folded into Run.
type leakCheckedM struct{ m *testing.M }

func (l leakCheckedM) Run() int {
	code := l.m.Run()
	if code != 0 {
		return code
	}
	if err := goleak.Find(); err != nil {
		fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
		return 1
	}
	return 0
}

// lockedBuffer is a bytes.Buffer safe for the logger's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// noSignals is a notifyFunc that never delivers a signal.
func noSignals(chan<- os.Signal) func() { return func() {} }

// runCLI runs mage-run in this process with args and no signals.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut lockedBuffer
	code = runWith(append([]string{"mage-run"}, args...), &out, &errOut, noSignals)
	return code, out.String(), errOut.String()
}

// wantLines fails unless every pattern matches a whole line of text.
func wantLines(t *testing.T, text string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(`(?m)^` + p + `$`).MatchString(text) {
			t.Errorf("no line matches %q in:\n%s", p, text)
		}
	}
}

// lineIndex returns the index of the first line of text matching pattern,
// or fails.
func lineIndex(t *testing.T, text, pattern string) int {
	t.Helper()
	re := regexp.MustCompile(pattern)
	for i, line := range strings.Split(text, "\n") {
		if re.MatchString(line) {
			return i
		}
	}
	t.Fatalf("no line matches %q in:\n%s", pattern, text)
	return -1
}

func TestDemoSucceeds(t *testing.T) {
	code, stdout, stderr := runCLI(t, "demo", "--jobs", "5", "--rate", "0", "--view", "plain")
	if code != exitOK {
		t.Fatalf("exit status %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	wantLines(t, stdout,
		`\S+ parent: running \(pid \d+\)`,
		`\S+ service: running \(pid \d+\)`,
		`\S+ worker#3: running \(pid \d+\)`,
		`\S+ parent: finished: exited \(exit status 0\)`,
		`PROCESS +RESULT +RESTARTS +MSGS IN +MSGS OUT +LAST EXIT +READY +CPU TIME +MAX RSS`,
		// Every process reports its message counts as it closes: the
		// parent sent 3 Launch, 3 AddClient, 3 Run and an Answered, and got
		// their 7 replies; each worker its Run and 5 Squares' replies.
		`parent +finished +0 +7 +10 .*`,
		`  service +(finished|stopped) +0 +19 +16 .*`,
		`  worker#1 +(finished|stopped) +0 +6 +6 .*`,
		`  worker#3 +(finished|stopped) +0 +6 +6 .*`,
	)
	// The parent's own log lines, JSON on its stderr, re-emitted by
	// mage-run under the instance's name with their keys.
	for i := 1; i <= 3; i++ {
		wantLines(t, stderr, fmt.Sprintf(`.*\[INFO\]  mage-run\.parent: worker finished: module=parent jobs=5 right=5 worker="worker#%d"`, i))
	}
	wantLines(t, stderr, `.*mage-run\.parent: service answered: module=parent squares=15 workers=3`)
	// The calls flowing: workers and the service log theirs as they go.
	wantLines(t, stderr,
		`.*mage-run\.worker#2: calls so far: module=worker last="Square\(\d+\) = \d+" right=\d+ sent=\d+ wrong=0`,
		`.*mage-run\.service: squares answered: module=service total=\d+ workers=\d`,
	)
}

// TestDemoExplainsItself checks that the plain view starts with what
// the demo shows: its roles, as their descriptions in the spec say, the
// calls, restarts, and how it ends.
func TestDemoExplainsItself(t *testing.T) {
	code, stdout, stderr := runCLI(t, "demo", "--workers", "1", "--jobs", "2", "--rate", "0", "--view", "plain")
	if code != exitOK {
		t.Fatalf("exit status %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	about := []string{
		`mage-run demo: this binary in three roles, a tree of a parent, a service and 1 worker\.`,
		`  parent   launches 1 worker on demand and hands each a Calculator pipe to the service`,
		`  service  answers Calculator\.Square for every worker, on the pipes the parent handed it`,
		`  worker   calls Square \(with a reply\) as fast as the replies come and checks every answer`,
		`Calls: the parent reaches the service over the pipe the spec declares .*`,
		`Restarts: mage-run restarts a parent or service that fails .*`,
		`It ends by itself once every worker has had 2 jobs answered\.`,
		`Ctrl-C stops it in order, workers first; a second Ctrl-C kills every process\.`,
	}
	wantLines(t, stdout, about...)
	// Said once, before the tree's first event.
	if first, starting := lineIndex(t, stdout, about[0]), lineIndex(t, stdout, `\S+ parent: starting`); first != 0 || starting < len(about) {
		t.Errorf("the explanation is not at the top (line %d, parent starting at %d):\n%s", first, starting, stdout)
	}
	if n := strings.Count(stdout, "mage-run demo: this binary"); n != 1 {
		t.Errorf("the explanation is printed %d times", n)
	}

	// The descriptions are the spec's, which the view shows too.
	code, spec, _ := runCLI(t, "demo", "--print-spec", "--rate", "5")
	if code != exitOK {
		t.Fatalf("--print-spec: exit status %d", code)
	}
	wantLines(t, spec,
		`  description  = "launches 3 workers on demand and hands each a Calculator pipe to the service"`,
		`    description  = "answers Calculator\.Square for every worker, on the pipes the parent handed it"`,
		`    description  = "calls Square \(with a reply\) up to 5 times a second and checks every answer"`,
	)
	// Other views do not print it: JSON lines stay JSON.
	code, stdout, _ = runCLI(t, "demo", "--workers", "1", "--jobs", "1", "--view", "json")
	if code != exitOK || strings.Contains(stdout, "mage-run demo: this binary") {
		t.Errorf("json view: status %d, output:\n%s", code, stdout)
	}
}

func TestDemoFailingWorker(t *testing.T) {
	code, stdout, stderr := runCLI(t, "demo", "--jobs", "3", "--rate", "0", "--workers", "2", "--lie-to", "worker#2", "--view", "plain")
	if code != 1 {
		t.Fatalf("exit status %d, want the parent's 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	wantLines(t, stdout, `parent +failed +0 +.*exited \(exit status 1\) .*`)
	wantLines(t, stderr,
		`.*mage-run\.parent: worker got wrong answers: module=parent right=0 sent=3 worker="worker#2" wrong=3`,
		`mage-run: parent failed: exited \(exit status 1\)`,
	)
}

// TestDemoInterrupted delivers SIGINT once the third worker runs: the tree
// stops in order, children before parents, and mage-run exits 0.
func TestDemoInterrupted(t *testing.T) {
	var sigs chan<- os.Signal
	notify := func(ch chan<- os.Signal) func() {
		sigs = ch
		return func() {}
	}
	// Once the service is up too: under load, it may still be starting
	// when the last worker runs, and a service killed mid-start fails the
	// parent's calls.
	out := &triggerWriter{triggers: []string{"worker#3: ready", "service: ready"}, fire: func() { sigs <- syscall.SIGINT }}
	var errOut lockedBuffer
	code := runWith([]string{"mage-run", "demo", "--duration", "0", "--view", "plain"}, out, &errOut, notify)
	stdout := out.String()
	if code != exitOK {
		t.Fatalf("exit status %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, errOut.String())
	}
	parentStopping := lineIndex(t, stdout, `parent: stopping`)
	for _, child := range []string{"service", "worker#1", "worker#2", "worker#3"} {
		if i := lineIndex(t, stdout, child+`: stopped`); i > parentStopping {
			t.Errorf("%s stopped after the parent began to stop:\n%s", child, stdout)
		}
	}
	wantLines(t, stdout, `parent +stopped +0 .*`)
	// Each worker, stopped, still told the parent what it had done.
	for i := 1; i <= 3; i++ {
		wantLines(t, errOut.String(), fmt.Sprintf(`.*mage-run\.parent: worker finished: module=parent jobs=\d+ right=\d+ worker="worker#%d"`, i))
	}
}

// triggerWriter calls fire, once, when what was written contains every
// one of triggers.
type triggerWriter struct {
	lockedBuffer
	triggers []string
	fire     func()
	once     sync.Once
}

func (w *triggerWriter) Write(p []byte) (int, error) {
	n, err := w.lockedBuffer.Write(p)
	all := w.String()
	for _, trigger := range w.triggers {
		if !strings.Contains(all, trigger) {
			return n, err
		}
	}
	w.once.Do(w.fire)
	return n, err
}

func TestDemoPrintSpec(t *testing.T) {
	code, stdout, stderr := runCLI(t, "demo", "--print-spec", "--workers", "5")
	if code != exitOK {
		t.Fatalf("exit status %d\nstderr:\n%s", code, stderr)
	}
	wantLines(t, stdout, `process "parent" \{`, `    on_demand    = true`, `.*MAGE_RUN_DEMO_WORKERS = "5".*`)
}

func TestDemoUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--workers", "0"},
		{"--jobs", "-1"},
		{"--bogus"},
		{"extra"},
		{"--log-level", "loud"},
		{"--log-format", "xml"},
		{"--view", "fancy"},
	} {
		code, stdout, stderr := runCLI(t, append([]string{"demo"}, args...)...)
		if code != exitUsage {
			t.Errorf("demo %q: exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, exitUsage, stdout, stderr)
		}
		if strings.Contains(stdout, "running") {
			t.Errorf("demo %q started processes:\n%s", args, stdout)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	if code, _, _ := runCLI(t, "nosuch"); code != exitUsage {
		t.Errorf("exit status %d, want %d", code, exitUsage)
	}
}

// TestRealSignalsRegistered runs the demo through run, with the real
// signal set-up, to check that it is undone without leaking.
func TestRealSignalsRegistered(t *testing.T) {
	var out, errOut lockedBuffer
	if code := run([]string{"mage-run", "demo", "--workers", "1", "--jobs", "1", "--view", "plain"}, &out, &errOut); code != exitOK {
		t.Fatalf("exit status %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
}
