package gentest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
	"github.com/mage-ipc/mage/mage/internal/gentest/everything"
	"github.com/mage-ipc/mage/mage/internal/gentest/seed"
)

// childRoleEnv names the role a re-executed test binary plays as a child
// process in the cross-process tests.
const childRoleEnv = "MAGEN_GENTEST_CHILD_ROLE"

// runChild is the main of a child process: it connects to the parent over
// fd 3, takes the pipe attached as "p", and plays role on it.
func runChild(role string) int {
	play, ok := childRoles[role]
	if !ok {
		fmt.Fprintln(os.Stderr, "child: unknown role", role)
		return 3
	}
	conn, err := sockets.Conn(os.NewFile(3, "parent"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := mage.Connect(ctx, conn, mage.ConnectOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: connect:", err)
		return 3
	}
	p, ok := c.Pipe("p")
	if !ok {
		fmt.Fprintln(os.Stderr, "child: no pipe p")
		return 3
	}
	err = play(ctx, p)
	// Closing the node flushes what the role sent before the process ends.
	_ = mage.DefaultNode().Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "child: %s: %v\n", role, err)
		return 1
	}
	return 0
}

// childRoles are what a child does with the pipe it is given.
var childRoles = map[string]func(ctx context.Context, p mage.MessagePipe) error{
	// carrier serves Carrier until the parent lets go of it.
	"carrier": func(ctx context.Context, p mage.MessagePipe) error {
		impl := newCarrier()
		defer impl.Close()
		return serveUntilDisconnect(ctx, everything.BindCarrier(p, impl))
	},
	// scalars-hang serves Scalars whose Nothing never returns, so that the
	// parent can kill the child in the middle of a call.
	"scalars-hang": func(ctx context.Context, p mage.MessagePipe) error {
		impl := newScalars()
		impl.block = make(chan struct{})
		return serveUntilDisconnect(ctx, everything.BindScalars(p, impl))
	},
	// bad-sender sends the parent's Scalars receiver a request whose
	// payload is one byte short, then waits for the parent to hang up.
	"bad-sender": func(ctx context.Context, p mage.MessagePipe) error {
		set := uint32(0)
		for _, m := range everything.ScalarsDescriptor.Methods {
			if m.Name == "Set" {
				set = m.Ordinal
			}
		}
		bad := &mage.Message{Interface: everything.ScalarsFingerprint, Method: set, Payload: make([]byte, 21)}
		if err := p.WriteMessage(bad); err != nil {
			return err
		}
		for {
			_, err := p.ReadMessage()
			if errors.Is(err, mage.ErrPeerClosed) {
				return nil
			}
			if err != nil && !errors.Is(err, mage.ErrNoMessage) {
				return err
			}
			select {
			case <-p.Ready():
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	},
	// seed-child plays the seed README's child: it calls ParentProcess on
	// p, then serves NetworkProcess on a pipe it hands the parent with
	// BindChildProcessRemote; each FetchURL is reported back as a
	// NavigateToURL.
	"seed-child": func(ctx context.Context, p mage.MessagePipe) error {
		parent := seed.NewParentProcessRemote(p)
		defer parent.Close()
		if err := parent.NavigateToURL("https://example.com/from-child", 5); err != nil {
			return err
		}
		if err := parent.OpenFile("notes.txt", true); err != nil {
			return err
		}
		mine, theirs := mage.CreatePipe()
		rcv := seed.BindNetworkProcess(mine, fetchFunc(func(url string) {
			_ = parent.NavigateToURL("fetched "+url, 0)
		}))
		if err := parent.BindChildProcessRemote(theirs); err != nil {
			return err
		}
		return serveUntilDisconnect(ctx, rcv)
	},
}

// serveUntilDisconnect waits for a receiver to stop because its peer went.
func serveUntilDisconnect(ctx context.Context, rcv *bindings.Receiver) error {
	defer rcv.Close()
	select {
	case <-rcv.Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := rcv.Err(); !errors.Is(err, bindings.ErrDisconnected) {
		return fmt.Errorf("receiver stopped with %w", err)
	}
	return nil
}

// child is a running child process.
type child struct {
	conn *mage.Connection
	cmd  *exec.Cmd
	wait func() error
}

// startChild runs this test binary as a child playing role, connected to
// node, with p attached as "p".
func startChild(t *testing.T, node *mage.Node, role string, p mage.MessagePipe) *child {
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
	var waitErr error
	waited := false
	wait := func() error {
		if !waited {
			waited = true
			if err := cmd.Wait(); err != nil {
				waitErr = fmt.Errorf("%w (child stderr: %s)", err, stderr.String())
			}
		}
		return waitErr
	}
	conn, err := sockets.Conn(mine)
	if err != nil {
		t.Fatal(err)
	}
	c, err := node.Connect(testContext(t), conn, mage.ConnectOptions{Attach: map[string]mage.MessagePipe{"p": p}})
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("connect: %v; %v", err, wait())
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = wait()
		_ = c.Close()
	})
	return &child{conn: c, cmd: cmd, wait: wait}
}
