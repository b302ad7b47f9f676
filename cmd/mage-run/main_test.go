package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

// TestMain doubles as the demo's children: the demo re-executes its own
// executable, which under test is this test binary, with the role in the
// environment.
func TestMain(m *testing.M) {
	if _, ok := os.LookupEnv(envRole); ok {
		os.Exit(run(os.Args, os.Stdout, os.Stderr))
	}
	// A child built with -race sleeps a second before exiting, for late
	// reports; the demo's children report their races without it.
	if err := os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")); err != nil {
		panic(err)
	}
	goleak.VerifyTestMain(m)
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

func runDemo(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut lockedBuffer
	code = runWith(append([]string{"mage-run", "demo"}, args...), &out, &errOut, noSignals)
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

func TestDemoSucceeds(t *testing.T) {
	code, stdout, stderr := runDemo(t)
	if code != exitOK {
		t.Fatalf("exit status %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	wantLines(t, stdout,
		`service: started \(pid \d+\)`,
		`worker 1: 5 jobs answered by the service`,
		`worker 2: 5 jobs answered by the service`,
		`worker 3: 5 jobs answered by the service`,
		`worker 3: exited \(exit status 0\)`,
		`service: answered 15 of 15 jobs from 3 workers`,
		`PROCESS +PID +EXIT +MSGS OUT +MSGS IN +RESULT`,
		`service +\d+ +exited \(exit status 0\) +15 +15 +ok`,
		`worker 1 +\d+ +exited \(exit status 0\) +5 +5 +ok`,
		`worker 2 +\d+ +exited \(exit status 0\) +5 +5 +ok`,
		`worker 3 +\d+ +exited \(exit status 0\) +5 +5 +ok`,
	)
	// The service's own log line, captured from its stderr and re-emitted
	// through the parent's logger under the child's name.
	wantLines(t, stderr, `.*mage-run\.service: serving a worker: worker=2`)
}

func TestDemoFlags(t *testing.T) {
	code, stdout, stderr := runDemo(t, "--workers", "2", "--jobs", "7")
	if code != exitOK {
		t.Fatalf("exit status %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	wantLines(t, stdout,
		`worker 2: 7 jobs answered by the service`,
		`service +\d+ +exited \(exit status 0\) +14 +14 +ok`,
	)
	if strings.Contains(stdout, "worker 3") {
		t.Errorf("a third worker ran:\n%s", stdout)
	}
}

func TestDemoFailingWorker(t *testing.T) {
	code, stdout, stderr := runDemo(t, "--lie-to", "2")
	if code != exitFailed {
		t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFailed, stdout, stderr)
	}
	wantLines(t, stdout,
		`worker 1: 5 jobs answered by the service`,
		`worker 2: 5 of 5 answers from the service were wrong`,
		`worker 2: exited \(exit status 1\)`,
		`worker 1 +\d+ +exited \(exit status 0\) +5 +5 +ok`,
		`worker 2 +\d+ +exited \(exit status 1\) +5 +5 +5 wrong answers`,
	)
	wantLines(t, stderr, `mage-run: the demo failed: worker 2`)
}

// TestDemoInterrupted delivers SIGINT as soon as worker 1 is reported
// started: the demo takes the signal before starting worker 2, stops the
// two processes it has, and exits 128+SIGINT.
func TestDemoInterrupted(t *testing.T) {
	var sigs chan<- os.Signal
	notify := func(ch chan<- os.Signal) func() {
		sigs = ch
		return func() {}
	}
	out := &triggerWriter{trigger: "worker 1: started", fire: func() { sigs <- syscall.SIGINT }}
	var errOut lockedBuffer
	code := runWith([]string{"mage-run", "demo"}, out, &errOut, notify)
	stdout := out.buf.String()
	if code != 128+int(syscall.SIGINT) {
		t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, 128+int(syscall.SIGINT), stdout, errOut.String())
	}
	wantLines(t, stdout,
		`mage-run: interrupt: stopping the tree`,
		`service: stopped \(.*\)`,
		`worker 1: stopped \(.*\)`,
		`worker 1 +\d+ +stopped \(.*\) +- +- +no report`,
	)
	if strings.Contains(stdout, "worker 2") {
		t.Errorf("worker 2 was started after the signal:\n%s", stdout)
	}
	wantLines(t, errOut.String(), `mage-run: stopped by SIGINT`)
}

// triggerWriter calls fire, once, when a line containing trigger is
// written. The demo writes from the goroutine that called run.
type triggerWriter struct {
	buf     bytes.Buffer
	trigger string
	fire    func()
	fired   bool
}

func (w *triggerWriter) Write(p []byte) (int, error) {
	n, err := w.buf.Write(p)
	if !w.fired && strings.Contains(string(p), w.trigger) {
		w.fired = true
		w.fire()
	}
	return n, err
}

func TestDemoUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--workers", "0"},
		{"--jobs", "-1"},
		{"--bogus"},
		{"extra"},
		{"--log-level", "loud"},
	} {
		code, stdout, stderr := runDemo(t, args...)
		if code != exitUsage {
			t.Errorf("demo %q: exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, exitUsage, stdout, stderr)
		}
		if strings.Contains(stdout, "started") {
			t.Errorf("demo %q started processes:\n%s", args, stdout)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut lockedBuffer
	if code := runWith([]string{"mage-run", "nosuch"}, &out, &errOut, noSignals); code != exitUsage {
		t.Errorf("exit status %d, want %d", code, exitUsage)
	}
}

// TestRealSignalsRegistered runs the demo through run, with the real
// signal set-up, to check that it is undone without leaking.
func TestRealSignalsRegistered(t *testing.T) {
	var out, errOut lockedBuffer
	if code := run([]string{"mage-run", "demo", "--workers", "1", "--jobs", "1"}, &out, &errOut); code != exitOK {
		t.Fatalf("exit status %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
}
