package tree

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/spec"
	"github.com/mage-ipc/mage/launcher"
	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/supervisor"
)

// testSpec parses src, where TESTNODE stands for this test binary playing
// testnode.
func testSpec(t *testing.T, src string) *spec.Spec {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src = strings.ReplaceAll(src, "TESTNODE", strconv.Quote(exe))
	s, diags := spec.Parse("t.hcl", []byte(src))
	if diags.HasErrors() {
		t.Fatalf("spec: %s", diags.Error())
	}
	return s
}

// recorder keeps the events of a tree, in order.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) observe(ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

// lines renders the events as "instance state[ outcome][: detail]".
func (r *recorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.events {
		line := ev.Instance + " " + ev.State.String()
		if ev.Outcome != OutcomeNone {
			line += " " + ev.Outcome.String()
		}
		if ev.Detail != "" {
			line += ": " + ev.Detail
		}
		out = append(out, line)
	}
	return out
}

// index returns the index of the first line that starts with prefix, or
// fails.
func index(t *testing.T, lines []string, prefix string) int {
	t.Helper()
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return i
		}
	}
	t.Fatalf("no event %q in:\n%s", prefix, strings.Join(lines, "\n"))
	return -1
}

// startTree starts s on a node of its own, with the test node's
// environment, and closes the node when the test ends.
func startTree(t *testing.T, s *spec.Spec) (*Tree, *recorder) {
	t.Helper()
	node := mage.NewNode(mage.NodeOptions{})
	t.Cleanup(func() { node.Close() })
	rec := &recorder{}
	tr := Start(Options{Spec: s, Node: node, Env: []string{envTestNode + "=1"}, Observe: rec.observe})
	t.Cleanup(func() {
		tr.Kill()
		<-tr.Done()
	})
	return tr, rec
}

func TestRestartPolicyGivesUp(t *testing.T) {
	s := testSpec(t, `process "crasher" {
  command = [TESTNODE, "crash", "3"]
  restart {
    policy      = "on-failure"
    backoff     = "1ms"
    jitter      = 0
    max_backoff = "3ms"
    limit       = 3
  }
}`)
	tr, rec := startTree(t, s)
	res := tr.Wait()
	lines := rec.lines()
	for i, delay := range []string{"1ms", "2ms", "3ms"} {
		index(t, lines, fmt.Sprintf("crasher backoff: exited (exit status 3); restart %d in %s", i+1, delay))
	}
	index(t, lines, "crasher ended failed: exited (exit status 3); gave up after 3 restarts")
	if len(res.Failed) != 1 || res.Failed[0].Instance != "crasher" || res.Failed[0].Restarts != 3 || res.Failed[0].LastExit.Code != 3 {
		t.Errorf("result %+v", res)
	}
}

func TestRestartAlwaysAfterSuccess(t *testing.T) {
	s := testSpec(t, `process "once" {
  command = [TESTNODE, "crash", "0"]
  restart {
    policy  = "always"
    backoff = "1ms"
    jitter  = 0
    limit   = 2
  }
}`)
	tr, rec := startTree(t, s)
	res := tr.Wait()
	index(t, rec.lines(), "once backoff: exited (exit status 0); restart 2 in 2ms")
	index(t, rec.lines(), "once ended finished: exited (exit status 0)")
	if len(res.Failed) != 0 {
		t.Errorf("failures: %+v", res.Failed)
	}
}

func TestStartFailureCountsAsFailedRun(t *testing.T) {
	s := testSpec(t, `process "missing" {
  command = ["/nonexistent/program"]
  restart {
    backoff = "1ms"
    jitter      = 0
    limit   = 1
  }
}`)
	tr, rec := startTree(t, s)
	res := tr.Wait()
	index(t, rec.lines(), "missing backoff: start failed: ")
	if len(res.Failed) != 1 || res.Failed[0].LastExit.Cause != launcher.CauseStartFailed {
		t.Fatalf("result %+v", res)
	}
}

// TestStopOrder stops a running tree: children before parents, and a
// process that is after a sibling before that sibling.
func TestStopOrder(t *testing.T) {
	s := testSpec(t, `process "root" {
  command = [TESTNODE, "wait"]
  process "mid" {
    command = [TESTNODE, "wait"]
    process "leaf" { command = [TESTNODE, "wait"] }
  }
}
process "early" { command = [TESTNODE, "wait"] }
process "late" {
  command = [TESTNODE, "wait"]
  after   = ["early"]
}`)
	tr, rec := startTree(t, s)
	<-tr.Ready()
	lines := rec.lines()
	if index(t, lines, "late starting") < index(t, lines, "early running") {
		t.Errorf("late started before early ran:\n%s", strings.Join(lines, "\n"))
	}
	if index(t, lines, "leaf starting") < index(t, lines, "mid running") {
		t.Errorf("leaf started before mid ran:\n%s", strings.Join(lines, "\n"))
	}
	tr.Stop()
	res := tr.Wait()
	lines = rec.lines()
	before := func(a, b string) {
		t.Helper()
		if index(t, lines, a) > index(t, lines, b) {
			t.Errorf("%q came after %q:\n%s", a, b, strings.Join(lines, "\n"))
		}
	}
	before("leaf ended stopped", "mid stopping")
	before("mid ended stopped", "root stopping")
	before("late ended stopped", "early stopping")
	for _, r := range res.Rows {
		if r.Outcome != OutcomeStopped || r.LastExit == nil || r.LastExit.Code != 0 {
			t.Errorf("%s: %v %+v", r.Instance, r.Outcome, r.LastExit)
		}
	}
	if len(res.Failed) != 0 {
		t.Errorf("failures %+v", res.Failed)
	}
}

// TestTeardown ends a parent for good: its children are stopped, and a
// child not yet started never is.
func TestTeardown(t *testing.T) {
	s := testSpec(t, `process "parent" {
  command = [TESTNODE, "crash", "0"]
  process "child" { command = [TESTNODE, "wait"] }
}`)
	tr, rec := startTree(t, s)
	res := tr.Wait()
	lines := rec.lines()
	index(t, lines, "parent ended finished")
	// The parent may end before or after its child got going: either the
	// child was stopped or it never started.
	for _, r := range res.Rows {
		if r.Instance == "child" && r.Outcome != OutcomeStopped && r.Outcome != OutcomeNotStarted {
			t.Errorf("child ended %v", r.Outcome)
		}
	}
}

func TestKill(t *testing.T) {
	s := testSpec(t, `process "a" {
  command = [TESTNODE, "wait"]
  process "b" { command = [TESTNODE, "wait"] }
}`)
	tr, _ := startTree(t, s)
	<-tr.Ready()
	tr.Kill()
	res := tr.Wait()
	for _, r := range res.Rows {
		if r.Outcome != OutcomeStopped || r.LastExit.Cause != launcher.CauseKilled {
			t.Errorf("%s: %v %+v", r.Instance, r.Outcome, r.LastExit)
		}
	}
}

func TestInstanceNames(t *testing.T) {
	s := testSpec(t, `process "browser" {
  command = ["b"]
  count   = 2
  process "renderer" { command = ["r"] }
}
process "net" { command = ["n"] }`)
	tr := &Tree{opts: Options{Spec: s}, links: make(map[linkKey]*link)}
	for _, b := range s.Processes {
		tr.roots = append(tr.roots, tr.newInstances(b, nil)...)
	}
	var names []string
	for _, in := range tr.all {
		names = append(names, in.name)
	}
	if got := strings.Join(names, " "); got != "browser#1 browser#1/renderer browser#2 browser#2/renderer net" {
		t.Errorf("names %q", got)
	}
}

func TestRestartDelay(t *testing.T) {
	in := &instance{block: &spec.Process{Restart: spec.Restart{
		Policy: spec.RestartAlways, Backoff: 100 * time.Millisecond, MaxBackoff: time.Second, Limit: 6,
	}}}
	tr := &Tree{}
	var got []string
	for in.streak = 0; ; in.streak++ {
		d, ok := tr.restartDelay(in, launcher.Exit{})
		if !ok {
			break
		}
		got = append(got, d.String())
	}
	if s := strings.Join(got, " "); s != "100ms 200ms 400ms 800ms 1s 1s" {
		t.Errorf("delays %s", s)
	}
	in.block.Restart.Policy = spec.RestartOnFailure
	in.streak = 0
	if _, ok := tr.restartDelay(in, launcher.Exit{Code: 0}); ok {
		t.Errorf("on-failure restarts a clean exit")
	}
	if _, ok := tr.restartDelay(in, launcher.Exit{Code: 1}); !ok {
		t.Errorf("on-failure does not restart a failure")
	}
}

// TestJitter checks that a jittered delay stays within its bounds, and
// spreads over them.
func TestJitter(t *testing.T) {
	const d = time.Second
	for _, tc := range []struct {
		jitter, u float64
		want      time.Duration
	}{
		{0, 0.7, d},
		{0.2, 0, d},
		{0.2, 1, 800 * time.Millisecond},
		{0.2, 0.5, 900 * time.Millisecond},
		{1, 1, 0},
	} {
		if got := jittered(d, tc.jitter, tc.u); got != tc.want {
			t.Errorf("jittered(%v, %v, %v) = %v, want %v", d, tc.jitter, tc.u, got, tc.want)
		}
	}
	in := &instance{block: &spec.Process{Restart: spec.Restart{
		Policy: spec.RestartAlways, Backoff: 100 * time.Millisecond, MaxBackoff: time.Second, Jitter: 0.5,
	}}}
	seen := make(map[time.Duration]bool)
	for range 200 {
		got, _ := (&Tree{}).restartDelay(in, launcher.Exit{})
		if got < 50*time.Millisecond || got > 100*time.Millisecond {
			t.Fatalf("delay %v outside [50ms, 100ms]", got)
		}
		seen[got] = true
	}
	if len(seen) < 10 {
		t.Errorf("200 jittered delays took only %d values", len(seen))
	}
}

// TestAttachmentNamesAgree checks the spec reader's copies of the
// supervisor's attachment names.
func TestAttachmentNamesAgree(t *testing.T) {
	if spec.ReservedAttachment != supervisor.Attachment || spec.ParentAttachment != supervisor.ParentAttachment {
		t.Errorf("spec says %q and %q, supervisor says %q and %q",
			spec.ReservedAttachment, spec.ParentAttachment, supervisor.Attachment, supervisor.ParentAttachment)
	}
}
