package launcher_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/launcher"
	"github.com/mage-ipc/mage/mage"
)

func TestRoundTrip(t *testing.T) {
	var calls atomic.Int32
	exits := make(chan launcher.Exit, 2)
	c := startChild(t, "echo", launcher.Options{
		Name: "echo",
		OnExit: func(e launcher.Exit) {
			calls.Add(1)
			exits <- e
		},
	}, exitEnv+"=5")
	if c.Pid() <= 0 || c.Name() != "echo" {
		t.Errorf("Pid() = %d, Name() = %q", c.Pid(), c.Name())
	}
	if c.Connection() == nil || c.Connection().Peer() == (mage.NodeName{}) {
		t.Errorf("Connection() = %v, want a connection to the child's node", c.Connection())
	}
	p := ctl(t, c)
	mustSend(t, p, "ping")
	if got := mustRead(t, p); got != "echo:ping" {
		t.Fatalf("reply = %q, want echo:ping", got)
	}
	_ = p.Close()
	exit := waitDone(t, c)
	if exit.Code != 5 || exit.Signal != 0 || exit.Cause != launcher.CauseExited || exit.Err != nil {
		t.Errorf("exit = %+v, want status 5, exited on its own", exit)
	}
	if exit.Success() {
		t.Error("Success() = true for status 5")
	}
	select {
	case e := <-exits:
		if e != exit {
			t.Errorf("OnExit got %+v, Wait %+v", e, exit)
		}
	case <-testContext(t).Done():
		t.Fatal("OnExit was not called")
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("OnExit called %d times", n)
	}
	if again := c.Wait(); again != exit {
		t.Errorf("second Wait = %+v, first %+v", again, exit)
	}
}

// A pipe attached to a caller-made invitation is usable before the child
// exists; what was written to it arrives once the child accepted.
func TestInvitationMadeByCaller(t *testing.T) {
	inv := invitation.New(nil)
	p, err := inv.Attach("ctl")
	if err != nil {
		t.Fatal(err)
	}
	mustSend(t, p, "early")
	c := startChild(t, "echo", launcher.Options{Invitation: inv})
	if got, _ := c.Pipe("ctl"); got != p {
		t.Errorf("Pipe(ctl) is not the invitation's pipe")
	}
	if got := mustRead(t, p); got != "echo:early" {
		t.Fatalf("reply = %q, want echo:early", got)
	}
	_ = p.Close()
	if exit := waitDone(t, c); !exit.Success() {
		t.Errorf("exit = %v", exit)
	}
}

func TestSixtyFourChildren(t *testing.T) {
	const n = 64
	ctx := testContext(t)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = roundTrip(ctx, i) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("child %d: %v", i, err)
		}
	}
}

// roundTrip starts an echo child, exchanges one message, and checks its
// exit. It reports errors rather than failing the test, for use from
// goroutines.
func roundTrip(ctx context.Context, i int) error {
	c, err := launcher.Start(ctx, childCmd("echo"), launcher.Options{Pipes: []string{"ctl"}, Name: "echo-" + strconv.Itoa(i)})
	if err != nil {
		return err
	}
	defer c.Wait()
	defer c.Kill()
	p, _ := c.Pipe("ctl")
	want := fmt.Sprintf("hello %d", i)
	if err := send(p, want); err != nil {
		return err
	}
	m, err := readMessage(ctx, p)
	if err != nil {
		return err
	}
	if got := string(m.Payload); got != "echo:"+want {
		return fmt.Errorf("reply %q, want %q", got, "echo:"+want)
	}
	_ = p.Close()
	select {
	case <-c.Done():
	case <-ctx.Done():
		return errors.New("not reaped in time")
	}
	if exit := c.Wait(); !exit.Success() {
		return fmt.Errorf("exit %v", exit)
	}
	return nil
}

func TestKilledMidStream(t *testing.T) {
	c := startChild(t, "stream", launcher.Options{})
	p := ctl(t, c)
	for i := range 10 {
		if got := mustRead(t, p); got != strconv.Itoa(i) {
			t.Fatalf("message %d = %q", i, got)
		}
	}
	// Killed by someone other than the launcher. The child is not reaped
	// before it dies, so its pid is still its own here.
	if err := syscall.Kill(c.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	n := 10
	for {
		m, err := readMessage(ctx, p)
		if err != nil {
			if !errors.Is(err, mage.ErrPeerClosed) {
				t.Fatalf("after %d messages: %v, want peer closed", n, err)
			}
			break
		}
		if got := string(m.Payload); got != strconv.Itoa(n) {
			t.Fatalf("message %d = %q", n, got)
		}
		n++
	}
	exit := waitDone(t, c)
	if exit.Signal != syscall.SIGKILL || exit.Cause != launcher.CauseExited || exit.Code != -1 {
		t.Errorf("exit = %+v, want SIGKILL not caused by the launcher", exit)
	}
}

func TestNeverAccepts(t *testing.T) {
	exits := make(chan launcher.Exit, 1)
	_, err := launcher.Start(testContext(t), childCmd("noaccept"), launcher.Options{
		Pipes:         []string{"ctl"},
		AcceptTimeout: 300 * time.Millisecond,
		OnExit:        func(e launcher.Exit) { exits <- e },
	})
	if !errors.Is(err, launcher.ErrAcceptTimeout) {
		t.Fatalf("Start = %v, want ErrAcceptTimeout", err)
	}
	var se *launcher.StartError
	if !errors.As(err, &se) || se.Exit == nil || se.Pid == 0 {
		t.Fatalf("Start error %#v carries no exit", err)
	}
	if se.Exit.Signal != syscall.SIGKILL || se.Exit.Cause != launcher.CauseStartFailed || !errors.Is(se.Exit.Err, launcher.ErrAcceptTimeout) {
		t.Errorf("exit = %+v, want killed for the timeout", *se.Exit)
	}
	if !strings.Contains(err.Error(), "did not accept") || !strings.Contains(err.Error(), "SIGKILL") {
		t.Errorf("error %q does not say what happened", err)
	}
	select {
	case e := <-exits:
		t.Errorf("OnExit called for a failed start: %v", e)
	default:
	}
}

func TestExitsBeforeAccepting(t *testing.T) {
	_, err := launcher.Start(testContext(t), childCmd("exitearly"), launcher.Options{Pipes: []string{"ctl"}, CaptureStderr: true})
	if !errors.Is(err, launcher.ErrExitedBeforeAccept) {
		t.Fatalf("Start = %v, want ErrExitedBeforeAccept", err)
	}
	var se *launcher.StartError
	if !errors.As(err, &se) || se.Exit == nil {
		t.Fatalf("Start error %#v carries no exit", err)
	}
	if se.Exit.Code != 3 || se.Exit.Cause != launcher.CauseExited {
		t.Errorf("exit = %+v, want status 3", *se.Exit)
	}
	if len(se.Stderr) != 1 || se.Stderr[0] != "child: cannot open config: no such file" {
		t.Errorf("stderr tail = %q", se.Stderr)
	}
	for _, want := range []string{"exited before accepting", "exit status 3", "cannot open config"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestStartCancelled(t *testing.T) {
	ctx, cancel := context.WithTimeout(testContext(t), 300*time.Millisecond)
	defer cancel()
	_, err := launcher.Start(ctx, childCmd("noaccept"), launcher.Options{AcceptTimeout: time.Minute})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, launcher.ErrAcceptTimeout) {
		t.Fatalf("Start = %v, want the context's error", err)
	}
	var se *launcher.StartError
	if !errors.As(err, &se) || se.Exit == nil || se.Exit.Cause != launcher.CauseStartFailed {
		t.Fatalf("Start error %#v: want a child killed for the failed start", err)
	}

	done, cancelDone := context.WithCancel(testContext(t))
	cancelDone()
	cmd := childCmd("echo")
	_, err = launcher.Start(done, cmd, launcher.Options{})
	if !errors.Is(err, context.Canceled) || cmd.Process != nil {
		t.Fatalf("Start with a done context = %v, process %v: want no process", err, cmd.Process)
	}
}

func TestStartInvalid(t *testing.T) {
	ctx := testContext(t)
	if _, err := launcher.Start(ctx, nil, launcher.Options{}); !errors.Is(err, launcher.ErrInvalid) {
		t.Errorf("nil cmd: %v", err)
	}
	cmd := childCmd("echo")
	cmd.Stderr = new(strings.Builder)
	if _, err := launcher.Start(ctx, cmd, launcher.Options{CaptureStderr: true}); !errors.Is(err, launcher.ErrInvalid) {
		t.Errorf("CaptureStderr with cmd.Stderr set: %v", err)
	}
	cmd = childCmd("echo")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: 1}
	if _, err := launcher.Start(ctx, cmd, launcher.Options{}); !errors.Is(err, launcher.ErrInvalid) {
		t.Errorf("Pgid set: %v", err)
	}
	if _, err := launcher.Start(ctx, childCmd("echo"), launcher.Options{Pipes: []string{"a b"}}); err == nil {
		t.Errorf("bad pipe name: no error")
	}
	_, err := launcher.Start(ctx, exec.Command("/nonexistent/launcher-test-binary"), launcher.Options{Pipes: []string{"ctl"}, CaptureStderr: true})
	var se *launcher.StartError
	if !errors.As(err, &se) || se.Pid != 0 || se.Exit != nil || se.Name != "launcher-test-binary" {
		t.Errorf("missing binary: %#v", err)
	}
}

func TestStopPolite(t *testing.T) {
	c := startChild(t, "term", launcher.Options{})
	p := ctl(t, c)
	if got := mustRead(t, p); got != "ready" {
		t.Fatalf("got %q", got)
	}
	// The grace is far longer than the test's bound: the test passes only
	// if the child exits on SIGTERM.
	if err := c.Stop(time.Hour); err != nil {
		t.Errorf("Stop: %v", err)
	}
	exit := c.Wait()
	if exit.Cause != launcher.CauseStopped || exit.Signal != 0 || exit.Code != 0 || exit.Reason != "stopped" {
		t.Errorf("exit = %+v, want a polite stop", exit)
	}
	if err := c.Stop(time.Hour); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestStopKeepingConnection stops a child that answers SIGTERM with a last
// message: with KeepConnectionOnStop the message arrives.
func TestStopKeepingConnection(t *testing.T) {
	c := startChild(t, "termsay", launcher.Options{KeepConnectionOnStop: true})
	p := ctl(t, c)
	if got := mustRead(t, p); got != "ready" {
		t.Fatalf("got %q", got)
	}
	if err := c.Stop(time.Hour); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if got := mustRead(t, p); got != "goodbye" {
		t.Errorf("last message %q, want goodbye", got)
	}
	if exit := c.Wait(); exit.Cause != launcher.CauseStopped || exit.Code != 0 || exit.Signal != 0 {
		t.Errorf("exit = %+v, want a polite stop", exit)
	}
}

// TestStopChildThatLeftItsGroup stops a child that moved to another
// process group: the launcher signals its group only while the child
// leads it (so that the child gets one stop signal, not two), and the
// child on its own once it has left.
func TestStopChildThatLeftItsGroup(t *testing.T) {
	c := startChild(t, "leavegroup", launcher.Options{})
	if got := mustRead(t, ctl(t, c)); got != "ready" {
		t.Fatalf("got %q", got)
	}
	if err := c.Stop(time.Hour); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if exit := c.Wait(); exit.Cause != launcher.CauseStopped || exit.Code != 0 || exit.Signal != 0 {
		t.Errorf("exit = %+v, want a polite stop", exit)
	}
}

func TestStopIgnoringTerm(t *testing.T) {
	c := startChild(t, "termignore", launcher.Options{})
	if got := mustRead(t, ctl(t, c)); got != "ready" {
		t.Fatalf("got %q", got)
	}
	if err := c.Stop(100 * time.Millisecond); err != nil {
		t.Errorf("Stop: %v", err)
	}
	exit := c.Wait()
	if exit.Cause != launcher.CauseStopped || exit.Signal != syscall.SIGKILL || !strings.Contains(exit.Reason, "grace") {
		t.Errorf("exit = %+v, want killed after the grace period", exit)
	}
}

func TestKillIdempotent(t *testing.T) {
	c := startChild(t, "acceptblock", launcher.Options{})
	for range 3 {
		if err := c.Kill(); err != nil {
			t.Fatalf("Kill: %v", err)
		}
	}
	exit := waitDone(t, c)
	if exit.Cause != launcher.CauseKilled || exit.Signal != syscall.SIGKILL || exit.Reason != "killed" {
		t.Errorf("exit = %+v", exit)
	}
	if err := c.Kill(); err != nil {
		t.Errorf("Kill after exit: %v", err)
	}
	if err := c.Stop(time.Hour); err != nil {
		t.Errorf("Stop after exit: %v", err)
	}
	if again := c.Wait(); again != exit {
		t.Errorf("exit changed to %+v", again)
	}
}

// hclogEntry is one line of the parent's JSON log.
type hclogEntry map[string]any

func parseLog(t *testing.T, s string) []hclogEntry {
	t.Helper()
	var out []hclogEntry
	for line := range strings.SplitSeq(strings.TrimSpace(s), "\n") {
		var e hclogEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

func findEntry(entries []hclogEntry, msg string) hclogEntry {
	for _, e := range entries {
		if e["@message"] == msg {
			return e
		}
	}
	return nil
}

func TestCaptureStderr(t *testing.T) {
	var buf syncBuffer
	log := hclog.New(&hclog.LoggerOptions{Name: "parent", Output: &buf, JSONFormat: true, Level: hclog.Trace})
	c := startChild(t, "stderr", launcher.Options{Name: "kid", Logger: log, CaptureStderr: true})
	_ = ctl(t, c).Close()
	if exit := waitDone(t, c); !exit.Success() {
		t.Fatalf("exit = %v", exit)
	}
	// Wait returns after the stderr reader finished: every line is logged.
	entries := parseLog(t, buf.String())

	warn := findEntry(entries, "disk almost full")
	if warn == nil {
		t.Fatalf("no entry for the child's hclog line in:\n%s", buf.String())
	}
	want := hclogEntry{"@level": "warn", "@module": "parent.kid", "module": "worker", "free_mb": float64(12), "volume": "/data"}
	for k, v := range want {
		if warn[k] != v {
			t.Errorf("hclog line: %s = %v, want %v (entry %v)", k, warn[k], v, warn)
		}
	}

	var plain []string
	for _, e := range entries {
		if e["@message"] == "stderr" {
			if e["@level"] != "info" || e["@module"] != "parent.kid" {
				t.Errorf("plain line entry %v", e)
			}
			plain = append(plain, e["line"].(string))
		}
	}
	if want := []string{"plain old line", `{"not":"hclog"}`}; fmt.Sprint(plain) != fmt.Sprint(want) {
		t.Errorf("plain lines = %q, want %q", plain, want)
	}

	for _, msg := range []string{"child started", "child accepted its invitation", "child exited"} {
		e := findEntry(entries, msg)
		if e == nil || e["pid"] != float64(c.Pid()) {
			t.Errorf("log entry %q = %v, want one with the pid", msg, e)
		}
	}
}

func TestBadMessageKills(t *testing.T) {
	var buf syncBuffer
	log := hclog.New(&hclog.LoggerOptions{Output: &buf, JSONFormat: true})
	c := startChild(t, "bad", launcher.Options{Logger: log})
	p := ctl(t, c)
	m, err := readMessage(testContext(t), p)
	if err != nil {
		t.Fatal(err)
	}
	if m.Source() != c.Connection().Peer() {
		t.Fatalf("message from %v, child's node is %v", m.Source(), c.Connection().Peer())
	}
	bad := errors.New("test: garbage in payload")
	p.ReportBadMessage(m, bad)
	exit := waitDone(t, c)
	if exit.Cause != launcher.CauseBadMessage || exit.Signal != syscall.SIGKILL || !errors.Is(exit.Err, bad) {
		t.Errorf("exit = %+v, want killed for the bad message", exit)
	}
	if !strings.Contains(exit.Reason, "bad message") || !strings.Contains(exit.Reason, "garbage in payload") {
		t.Errorf("reason %q does not say why", exit.Reason)
	}
	if findEntry(parseLog(t, buf.String()), "bad message from child") == nil {
		t.Errorf("bad message not logged:\n%s", buf.String())
	}
}

func TestBadMessageIgnored(t *testing.T) {
	var buf syncBuffer
	log := hclog.New(&hclog.LoggerOptions{Output: &buf, JSONFormat: true})
	c := startChild(t, "bad", launcher.Options{Logger: log, BadMessage: launcher.IgnoreBadMessage})
	p := ctl(t, c)
	m, err := readMessage(testContext(t), p)
	if err != nil {
		t.Fatal(err)
	}
	p.ReportBadMessage(m, errors.New("test: garbage"))
	// The handler runs inside ReportBadMessage: it has logged by now, and
	// would have killed by now.
	if findEntry(parseLog(t, buf.String()), "bad message from child") == nil {
		t.Errorf("bad message not logged:\n%s", buf.String())
	}
	select {
	case <-c.Done():
		t.Fatalf("child ended: %v", c.Wait())
	default:
	}
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	if exit := waitDone(t, c); exit.Cause != launcher.CauseKilled {
		t.Errorf("exit = %+v, want killed by Kill", exit)
	}
}

// A bad message from another node is not this child's business.
func TestBadMessageFromElsewhere(t *testing.T) {
	c := startChild(t, "acceptblock", launcher.Options{})
	a, b := mage.CreatePipe()
	mustSend(t, a, "local")
	m, err := readMessage(testContext(t), b)
	if err != nil {
		t.Fatal(err)
	}
	b.ReportBadMessage(m, errors.New("test: local garbage"))
	_ = a.Close()
	// Had the handler claimed the child, the claim would already be made:
	// it runs inside ReportBadMessage.
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	if exit := waitDone(t, c); exit.Cause != launcher.CauseKilled {
		t.Errorf("exit = %+v, want killed by Kill", exit)
	}
}

// A bad message from a node the child registered with the broker (its own
// child) is charged to the child: the launcher on the broker kills it.
func TestBadMessageFromRegisteredGrandchildKillsChild(t *testing.T) {
	root := mage.NewNode(mage.NodeOptions{Limits: mage.Limits{MaxPayload: 1024}})
	defer root.Close()
	c := startChild(t, "middlebad", launcher.Options{Node: root})
	exit := waitDone(t, c)
	var bad *mage.BadMessageError
	if exit.Cause != launcher.CauseBadMessage || !errors.As(exit.Err, &bad) {
		t.Fatalf("exit = %+v, want the child killed for a bad message", exit)
	}
	child := c.Connection().Peer()
	if bad.Responsible != child || bad.Node == child {
		t.Fatalf("report about %s charged to %s, want one about the grandchild charged to the child %s", bad.Node, bad.Responsible, child)
	}
}
