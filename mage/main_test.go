package mage_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage"
)

// childRoleEnv names the role a re-executed test binary plays as a child
// process in the cross-process tests.
const childRoleEnv = "MAGE_TEST_CHILD_ROLE"

func TestMain(m *testing.M) {
	if role := os.Getenv(childRoleEnv); role != "" {
		os.Exit(runChild(role))
	}
	goleak.VerifyTestMain(m)
}

// runChild is the main of a child process: it connects to the parent, its
// broker, over fd 3, takes the pipe attached as "p", and plays role on it.
func runChild(role string) int {
	conn, err := sockets.Conn(os.NewFile(3, "parent"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := mage.Connect(ctx, conn, mage.ConnectOptions{AsBroker: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: connect:", err)
		return 3
	}
	p, ok := c.Pipe("p")
	if !ok {
		fmt.Fprintln(os.Stderr, "child: no pipe p")
		return 3
	}
	play, ok := roles[role]
	if !ok {
		fmt.Fprintln(os.Stderr, "child: unknown role", role)
		return 3
	}
	err = play(ctx, p)
	// Close flushes what the role wrote before the process exits.
	_ = mage.DefaultNode().Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", role+":", err)
		return 1
	}
	return 0
}

// roles are what a peer node does with the pipe it was given. Each runs in a
// child process or, for the in-process harness, on a second node.
var roles = map[string]func(ctx context.Context, p mage.MessagePipe) error{
	"echo":       echo,
	"send-close": sendThenClose,
	"hang":       hang,
}

// echo writes every message it reads back on the same pipe, pipes and
// handles included, until the peer closes.
func echo(ctx context.Context, p mage.MessagePipe) error {
	for {
		m, err := next(ctx, p)
		if errors.Is(err, mage.ErrPeerClosed) {
			return p.Close()
		}
		if err != nil {
			return err
		}
		if err := p.WriteMessage(m); err != nil {
			return err
		}
	}
}

// sendThenClose writes 1000 numbered messages and closes its end at once.
func sendThenClose(ctx context.Context, p mage.MessagePipe) error {
	for i := range 1000 {
		if err := p.WriteMessage(&mage.Message{Payload: []byte(fmt.Sprint(i))}); err != nil {
			return err
		}
	}
	return p.Close()
}

// hang reports that it is up and then waits to be killed.
func hang(ctx context.Context, p mage.MessagePipe) error {
	if err := p.WriteMessage(&mage.Message{Payload: []byte("up")}); err != nil {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

// next waits for the next message on p, or for ctx.
func next(ctx context.Context, p mage.MessagePipe) (*mage.Message, error) {
	for {
		m, err := p.ReadMessage()
		if !errors.Is(err, mage.ErrNoMessage) {
			return m, err
		}
		select {
		case <-p.Ready():
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting on %v: %w", p, ctx.Err())
		}
	}
}

// peer is the other side of a scenario: a child process or a second node.
type peer struct {
	// conn is the parent node's connection to the peer.
	conn *mage.Connection
	// kill ends the peer abruptly (SIGKILL for a process).
	kill func()
	// wait waits for the peer to finish and returns its error.
	wait func() error
}

// harness starts a peer playing role, attaching pipe as "p".
type harness func(t testing.TB, parent *mage.Node, role string, p mage.MessagePipe) *peer

// harnesses run every scenario in one process (two nodes joined by a
// socketpair) and across two processes.
var harnesses = map[string]harness{
	"in-process":    inProcessPeer,
	"cross-process": childProcessPeer,
}

func forEachHarness(t *testing.T, f func(t *testing.T, start harness)) {
	for name, h := range harnesses {
		t.Run(name, func(t *testing.T) { f(t, h) })
	}
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func inProcessPeer(t testing.TB, parent *mage.Node, role string, p mage.MessagePipe) *peer {
	t.Helper()
	ca, cb, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	child := mage.NewNode(mage.NodeOptions{})
	ctx, cancel := context.WithCancel(testContext(t))
	done := make(chan error, 1)
	go func() {
		// Like a child process, the node goes when its role ends.
		defer child.Close()
		c, err := child.Connect(ctx, cb, mage.ConnectOptions{AsBroker: true})
		if err != nil {
			done <- err
			return
		}
		cp, _ := c.Pipe("p")
		done <- roles[role](ctx, cp)
	}()
	conn, err := parent.Connect(ctx, ca, mage.ConnectOptions{Attach: map[string]mage.MessagePipe{"p": p}})
	if err != nil {
		cancel()
		<-done
		child.Close()
		t.Fatal(err)
	}
	var waitErr error
	waited := false
	wait := func() error {
		if !waited {
			waited = true
			waitErr = <-done
		}
		return waitErr
	}
	pr := &peer{
		conn: conn,
		kill: func() { child.Close(); cancel() },
		wait: wait,
	}
	t.Cleanup(func() {
		cancel()
		_ = wait()
		child.Close()
	})
	return pr
}

func childProcessPeer(t testing.TB, parent *mage.Node, role string, p mage.MessagePipe) *peer {
	t.Helper()
	mine, theirs, err := sockets.Pair()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childRoleEnv+"="+role, "GORACE=atexit_sleep_ms=0")
	cmd.ExtraFiles = []*os.File{theirs}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	conn, err := sockets.Conn(mine)
	if err != nil {
		t.Fatal(err)
	}
	c, err := parent.Connect(testContext(t), conn, mage.ConnectOptions{Attach: map[string]mage.MessagePipe{"p": p}})
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("connect: %v (child stderr: %s)", err, stderr.String())
	}
	var waitErr error
	waited := false
	wait := func() error {
		if !waited {
			waited = true
			if err := cmd.Wait(); err != nil {
				waitErr = fmt.Errorf("%w: %s", err, stderr.String())
			}
		}
		return waitErr
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = wait()
	})
	return &peer{conn: c, kill: func() { _ = cmd.Process.Kill() }, wait: wait}
}
