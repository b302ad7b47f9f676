package reconnectnode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/testnode"
	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
	"github.com/mage-ipc/mage/supervisor"
)

// callTimeout bounds the program, so that a broken scenario fails instead
// of hanging.
const callTimeout = time.Minute

// crashStatus is the status the server exits with when told to crash.
const crashStatus = 3

// Main runs the role args[0] ("server" or "client") and returns the exit
// status.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "reconnectnode: no role")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	acc, err := invitation.Accept(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "reconnectnode:", err)
		return 1
	}
	defer mage.DefaultNode().Close()
	switch args[0] {
	case "server":
		return server(ctx, acc, stdout, stderr)
	case "client":
		if err := client(ctx, acc, stdout); err != nil {
			fmt.Fprintln(stderr, "reconnectnode: client:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintln(stderr, "reconnectnode: unknown role", args[0])
	return 2
}

// echo serves Echo: Say answers with the text and how many calls this
// process has had; Say("crash") ends the process in the middle of the
// call, with crashStatus.
type echo struct {
	stdout io.Writer
	quit   chan int32

	mu    sync.Mutex
	calls int
}

func (e *echo) Say(_ context.Context, text string) (string, string, error) {
	e.mu.Lock()
	e.calls++
	n := e.calls
	e.mu.Unlock()
	if text == "crash" {
		fmt.Fprintln(e.stdout, "crashing in the middle of a call")
		os.Exit(crashStatus)
	}
	return text, fmt.Sprintf("%s, call %d", os.Getenv(supervisor.EnvInstance), n), nil
}

func (e *echo) Quit(code int32) {
	select {
	case e.quit <- code:
	default:
	}
}

// server serves Echo on the attachment "client" until Quit.
func server(ctx context.Context, acc *invitation.Accepted, stdout, stderr io.Writer) int {
	p, ok := acc.Pipe("client")
	if !ok {
		fmt.Fprintln(stderr, "reconnectnode: server: no attachment \"client\"")
		return 1
	}
	e := &echo{stdout: stdout, quit: make(chan int32, 1)}
	r := testnode.BindEcho(p, e)
	defer r.Close()
	select {
	case code := <-e.quit:
		return int(code)
	case <-r.Done():
		return 0
	case <-ctx.Done():
		return 1
	}
}

// client calls the server through a bindings.Reconnecting: once, then a
// call in the middle of which the server dies, then again on the Remote
// that Get binds to the restarted server.
func client(ctx context.Context, acc *invitation.Accepted, stdout io.Writer) error {
	p, ok := acc.Pipe("server")
	if !ok {
		return errors.New("no attachment \"server\"")
	}
	sup, err := supervisor.Connect(acc)
	if err != nil {
		return err
	}
	defer sup.Close()
	server := bindings.NewReconnecting(p, testnode.NewEchoRemote, supervisor.Redial(sup, "server"))
	defer server.Close()

	say := func(text string) error {
		r, err := server.Get(ctx)
		if err != nil {
			return err
		}
		got, by, err := r.Say(ctx, text)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "reply: %s (from %s)\n", got, by)
		return nil
	}
	if err := say("hi"); err != nil {
		return err
	}
	r, err := server.Get(ctx)
	if err != nil {
		return err
	}
	_, _, err = r.Say(ctx, "crash")
	fmt.Fprintf(stdout, "in flight: disconnected %v\n", errors.Is(err, bindings.ErrDisconnected))
	if err := say("hi again"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "reconnects: %d\n", server.Reconnects())
	r, err = server.Get(ctx)
	if err != nil {
		return err
	}
	return r.Quit(0)
}
