package testnode

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
	"github.com/mage-ipc/mage/supervisor"
)

// callTimeout bounds every call a role makes, so that a broken scenario
// fails instead of hanging.
const callTimeout = time.Minute

// Main runs testnode with args (without the program name) and returns its
// exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("testnode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ready := fs.String("ready", "", "append \"ready INSTANCE\" to this file once set up")
	plain := fs.Bool("plain", false, "do not accept an invitation: run a plain role, as a program that does not use mage")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "testnode: no role")
		return 2
	}
	stopCtx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	n := &node{stdout: stdout, stderr: stderr, stopCtx: stopCtx, ready: *ready}
	role, rest := fs.Arg(0), fs.Args()[1:]
	if *plain {
		return n.runPlain(role, rest)
	}
	// Not stopCtx: a process stopped while it accepts still finishes
	// accepting, and then sees the stop.
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	acc, err := invitation.Accept(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "testnode:", err)
		return 1
	}
	n.acc = acc
	if role == "crash" {
		code, err := strconv.Atoi(arg(rest, 0))
		if err != nil {
			fmt.Fprintln(stderr, "testnode: crash: want an exit code")
			return 2
		}
		fmt.Fprintf(stderr, "testnode: crashing with status %d\n", code)
		return code
	}
	// Replies still queued go out before the process ends.
	defer mage.DefaultNode().Close()
	err = n.run(ctx, role, rest)
	var quit *errQuit
	switch {
	case errors.As(err, &quit):
		fmt.Fprintf(stderr, "testnode: %v\n", err)
		return quit.code
	case err != nil:
		fmt.Fprintf(stderr, "testnode: %s: %v\n", role, err)
		return 1
	}
	return 0
}

func arg(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

// node is one testnode process.
type node struct {
	stdout, stderr io.Writer
	stopCtx        context.Context
	ready          string
	acc            *invitation.Accepted
}

func (n *node) run(ctx context.Context, role string, args []string) error {
	switch role {
	case "serve":
		return n.serve(args)
	case "serve-peers":
		return n.servePeers(args)
	case "relay":
		return n.relay(ctx, args)
	case "call":
		return n.call(ctx, args)
	case "reconnect":
		return n.reconnect(ctx, args)
	case "launch":
		return n.launch(ctx, args)
	case "launch-wait":
		return n.launchWait(ctx, args)
	case "after-peer-gone":
		return n.afterPeerGone(ctx, args)
	case "ready-call":
		return n.readyCall(ctx)
	case "wait":
		n.signalReady()
		<-n.stopCtx.Done()
		return nil
	case "stubborn":
		n.signalReady()
		<-n.stopCtx.Done()
		// Asked to stop, it says so and carries on until killed.
		n.signalReady()
		select {}
	case "badmsg":
		return n.badMessage()
	}
	return fmt.Errorf("unknown role")
}

// signalReady appends this process's readiness line to the -ready file.
func (n *node) signalReady() {
	if n.ready == "" {
		return
	}
	f, err := os.OpenFile(n.ready, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		fmt.Fprintln(n.stderr, "testnode: ready:", err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "ready %s\n", os.Getenv(supervisor.EnvInstance))
}

func (n *node) pipe(name string) (mage.MessagePipe, error) {
	p, ok := n.acc.Pipe(name)
	if !ok {
		return mage.MessagePipe{}, fmt.Errorf("no attachment %q", name)
	}
	return p, nil
}

// echo implements Echo.
type echo struct {
	// quit receives the code of a Quit call.
	quit chan int32
}

func newEcho() *echo { return &echo{quit: make(chan int32, 1)} }

func (e *echo) Say(_ context.Context, text string) (string, string, error) {
	return text, os.Getenv(supervisor.EnvInstance), nil
}

func (e *echo) Quit(code int32) {
	select {
	case e.quit <- code:
	default:
	}
}

// errQuit carries the exit code of a Quit call out of run.
type errQuit struct{ code int }

func (e *errQuit) Error() string { return fmt.Sprintf("told to quit with status %d", e.code) }

// serve serves Echo on attachment args[0] until the peer closes it, the
// process is stopped, or Quit is called.
func (n *node) serve(args []string) error {
	p, err := n.pipe(arg(args, 0))
	if err != nil {
		return err
	}
	e := newEcho()
	r := BindEcho(p, e)
	n.signalReady()
	select {
	case <-r.Done():
	case <-n.stopCtx.Done():
	case code := <-e.quit:
		return &errQuit{code: int(code)}
	}
	return nil
}

// servePeers serves Echo on every pipe the Peers stream on args[0]
// brings, until stopped.
func (n *node) servePeers(args []string) error {
	p, err := n.pipe(arg(args, 0))
	if err != nil {
		return err
	}
	peers := &peerServer{n: n, echo: newEcho()}
	r := supervisor.BindPeers(p, peers)
	defer r.Close()
	n.signalReady()
	select {
	case <-n.stopCtx.Done():
	case code := <-peers.echo.quit:
		return &errQuit{code: int(code)}
	}
	return nil
}

// peerServer serves Echo to every peer it is told of, with one echo, so
// that a Quit from any of them ends the process.
type peerServer struct {
	n    *node
	echo *echo
}

func (s *peerServer) Connected(instance string, pipe mage.MessagePipe) {
	fmt.Fprintf(s.n.stdout, "connected: %s\n", instance)
	BindEcho(pipe, s.echo)
}

// say calls Echo.Say(text) on remote and prints the reply.
func (n *node) say(ctx context.Context, remote *EchoRemote, text string) error {
	got, by, err := remote.Say(ctx, text)
	if err != nil {
		return err
	}
	fmt.Fprintf(n.stdout, "reply: %s (from %s)\n", got, by)
	return nil
}

// call calls Echo.Say on attachment args[0] for each of args[1:].
func (n *node) call(ctx context.Context, args []string) error {
	p, err := n.pipe(arg(args, 0))
	if err != nil {
		return err
	}
	remote := NewEchoRemote(p)
	defer remote.Close()
	for _, text := range args[1:] {
		if err := n.say(ctx, remote, text); err != nil {
			return err
		}
	}
	n.signalReady()
	return nil
}

// relay serves Echo on attachment args[0] by calling Echo on attachment
// args[1], until the peer on args[0] closes it.
func (n *node) relay(ctx context.Context, args []string) error {
	in, err := n.pipe(arg(args, 0))
	if err != nil {
		return err
	}
	out, err := n.pipe(arg(args, 1))
	if err != nil {
		return err
	}
	next := NewEchoRemote(out)
	defer next.Close()
	r := BindEcho(in, &relayer{next: next})
	n.signalReady()
	select {
	case <-r.Done():
	case <-n.stopCtx.Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// relayer implements Echo by asking the next process.
type relayer struct{ next *EchoRemote }

func (r *relayer) Say(ctx context.Context, text string) (string, string, error) {
	got, by, err := r.next.Say(ctx, text)
	return got, by + " via " + os.Getenv(supervisor.EnvInstance), err
}

func (r *relayer) Quit(int32) {}

// reconnect calls on attachment args[0], waits for that peer to go,
// asks the supervisor for a new pipe, and calls again.
func (n *node) reconnect(ctx context.Context, args []string) error {
	name, text := arg(args, 0), arg(args, 1)
	p, err := n.pipe(name)
	if err != nil {
		return err
	}
	sup, err := supervisor.Connect(n.acc)
	if err != nil {
		return err
	}
	defer sup.Close()
	remote := NewEchoRemote(p)
	if err := n.say(ctx, remote, text); err != nil {
		return err
	}
	gone := make(chan error, 1)
	remote.SetDisconnectHandler(func(err error) { gone <- err })
	// The server exits, and mage-run restarts it.
	if err := remote.Quit(0); err != nil {
		return err
	}
	select {
	case err := <-gone:
		fmt.Fprintf(n.stdout, "peer gone: %v\n", errors.Is(err, bindings.ErrDisconnected))
	case <-ctx.Done():
		return ctx.Err()
	}
	_ = remote.Close()
	fresh, err := sup.Reconnect(ctx, name)
	if err != nil {
		return err
	}
	remote = NewEchoRemote(fresh)
	defer remote.Close()
	if err := n.say(ctx, remote, text+" again"); err != nil {
		return err
	}
	// Stay until the server is gone: this process exiting at once could
	// end the route the Quit takes before it arrives (a route collapsing
	// through mage-run is cut off, conservatively, when the node it hands
	// over to goes).
	gone = make(chan error, 1)
	remote.SetDisconnectHandler(func(err error) { gone <- err })
	if err := remote.Quit(0); err != nil {
		return err
	}
	select {
	case <-gone:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// launch launches on-demand process args[0] and calls Echo.Say(args[1])
// on the pipe to it.
func (n *node) launch(ctx context.Context, args []string) error {
	sup, err := supervisor.Connect(n.acc)
	if err != nil {
		return err
	}
	defer sup.Close()
	instance, p, err := sup.Launch(ctx, arg(args, 0), args[2:])
	if err != nil {
		return err
	}
	fmt.Fprintf(n.stdout, "launched: %s\n", instance)
	remote := NewEchoRemote(p)
	defer remote.Close()
	return n.say(ctx, remote, arg(args, 1))
}

// launchWait launches on-demand process args[0] and waits until it is
// gone (its pipe to this process closes).
func (n *node) launchWait(ctx context.Context, args []string) error {
	sup, err := supervisor.Connect(n.acc)
	if err != nil {
		return err
	}
	defer sup.Close()
	instance, p, err := sup.Launch(ctx, arg(args, 0), nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(n.stdout, "launched: %s\n", instance)
	defer p.Close()
	for {
		_, err := p.ReadMessage()
		switch {
		case errors.Is(err, mage.ErrNoMessage):
			select {
			case <-p.Ready():
			case <-ctx.Done():
				return ctx.Err()
			}
		case err != nil:
			fmt.Fprintf(n.stdout, "%s is gone\n", instance)
			return nil
		}
	}
}

// afterPeerGone waits until the process on attachment args[0] is gone,
// then calls Echo.Say(args[2]) on attachment args[1]: the tree kept
// running.
func (n *node) afterPeerGone(ctx context.Context, args []string) error {
	watched, err := n.pipe(arg(args, 0))
	if err != nil {
		return err
	}
	n.signalReady()
	for {
		_, err := watched.ReadMessage()
		if errors.Is(err, mage.ErrNoMessage) {
			select {
			case <-watched.Ready():
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err != nil {
			var pc *mage.PeerClosedError
			fmt.Fprintf(n.stdout, "peer on %s gone (node lost: %v)\n", args[0], errors.As(err, &pc) && pc.NodeLost)
			break
		}
	}
	return n.call(ctx, args[1:])
}

// badMessage sends mage-run a Supervisor.Launch request whose payload is
// garbage, then waits to be killed for it.
func (n *node) badMessage() error {
	p, err := n.pipe(supervisor.Attachment)
	if err != nil {
		return err
	}
	err = p.WriteMessage(&mage.Message{
		Interface: supervisor.SupervisorFingerprint,
		Method:    1,
		Flags:     mage.FlagExpectsResponse,
		RequestID: 1,
		Payload:   []byte{0xde, 0xad, 0xbe, 0xef},
	})
	if err != nil {
		return err
	}
	n.signalReady()
	<-n.stopCtx.Done()
	return errors.New("stopped instead of killed")
}

// readyCall tells mage-run it is ready through Supervisor.Ready, then
// runs until stopped.
func (n *node) readyCall(ctx context.Context) error {
	sup, err := supervisor.Connect(n.acc)
	if err != nil {
		return err
	}
	defer sup.Close()
	if err := sup.Ready(ctx); err != nil {
		return err
	}
	fmt.Fprintln(n.stdout, "told mage-run it is ready")
	n.signalReady()
	<-n.stopCtx.Done()
	return nil
}
