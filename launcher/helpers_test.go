package launcher_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/mage-ipc/mage/launcher"
	"github.com/mage-ipc/mage/mage"
)

// testContext bounds a test's waits, so that a bug fails the test instead
// of hanging it.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// childCmd runs this test binary as a child in mode. Under the race
// detector a process that exits with status 0 sleeps a second first
// (GORACE atexit_sleep_ms); the children do not.
func childCmd(mode string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), modeEnv+"="+mode, "GORACE=atexit_sleep_ms=0")
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// startChild starts a child in mode with a pipe "ctl" (unless opts names
// pipes or an invitation), and kills and reaps it when the test ends.
func startChild(t *testing.T, mode string, opts launcher.Options, env ...string) *launcher.Child {
	t.Helper()
	if opts.Pipes == nil && opts.Invitation == nil {
		opts.Pipes = []string{"ctl"}
	}
	c, err := launcher.Start(testContext(t), childCmd(mode, env...), opts)
	if err != nil {
		t.Fatalf("Start(%s): %v", mode, err)
	}
	t.Cleanup(func() {
		_ = c.Kill()
		c.Wait()
	})
	return c
}

func ctl(t *testing.T, c *launcher.Child) mage.MessagePipe {
	t.Helper()
	p, ok := c.Pipe("ctl")
	if !ok {
		t.Fatal(`child has no pipe "ctl"`)
	}
	return p
}

func mustSend(t *testing.T, p mage.MessagePipe, s string) {
	t.Helper()
	if err := send(p, s); err != nil {
		t.Fatalf("WriteMessage(%q): %v", s, err)
	}
}

func mustRead(t *testing.T, p mage.MessagePipe) string {
	t.Helper()
	m, err := readMessage(testContext(t), p)
	if err != nil {
		t.Fatalf("reading a message: %v", err)
	}
	return string(m.Payload)
}

// waitDone waits for the child to be reaped, failing the test if it is not
// within the test's bound.
func waitDone(t *testing.T, c *launcher.Child) launcher.Exit {
	t.Helper()
	select {
	case <-c.Done():
	case <-testContext(t).Done():
		t.Fatalf("child %d was not reaped in time", c.Pid())
	}
	return c.Wait()
}

// syncBuffer is a bytes.Buffer safe for a logger writing from another
// goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
