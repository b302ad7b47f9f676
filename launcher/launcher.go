package launcher

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"

	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/mage"
)

// Start starts cmd as a child process invited to this node, and returns
// once the child has accepted its invitation (with Options.NoInvitation,
// once it runs).
//
// Start prepares cmd: it attaches opts.Pipes to the invitation, adds the
// invitation's socket to cmd.ExtraFiles and its variable to cmd.Env, puts
// the child in a process group of its own (cmd.SysProcAttr.Setpgid, unless
// Setsid is set) and, on Linux, sets a parent-death signal. cmd must not
// have been started, and must not be used by the caller afterwards except to
// read it; its Stdin and Stdout are the caller's to set.
//
// ctx bounds the start only: once Start has returned, cancelling it does
// nothing (use Stop or Kill, or exec.CommandContext). If the start fails,
// Start returns a *StartError, and by then the child, if it was started,
// has been killed and reaped, and the invitation (opts.Invitation too) and
// every descriptor Start opened are closed.
func Start(ctx context.Context, cmd *exec.Cmd, opts Options) (*Child, error) {
	if cmd == nil || cmd.Process != nil {
		if opts.Invitation != nil {
			opts.Invitation.Close()
		}
		return nil, fmt.Errorf("%w: the command is nil or already started", ErrInvalid)
	}
	opts, err := opts.withDefaults(cmd)
	if err == nil {
		err = setProcAttr(cmd, opts.NoParentDeathSignal)
	}
	if err == nil {
		err = context.Cause(ctx)
	}
	if err != nil {
		if opts.Invitation != nil {
			opts.Invitation.Close()
		}
		return nil, &StartError{Name: opts.Name, Err: err}
	}
	c, err := prepare(cmd, opts)
	if err != nil {
		return nil, &StartError{Name: opts.Name, Err: err}
	}
	if err := c.spawn(); err != nil {
		return nil, &StartError{Name: c.name, Err: err}
	}
	if opts.NoInvitation {
		c.startOK = true
		close(c.started)
		return c, nil
	}
	conn, err := c.accept(ctx, opts.AcceptTimeout)
	if err != nil {
		return nil, c.abort(err)
	}
	c.accepted(conn)
	return c, nil
}

// setProcAttr puts the child in a process group of its own and, on Linux,
// gives it a parent-death signal.
func setProcAttr(cmd *exec.Cmd, noDeathSignal bool) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	attr := cmd.SysProcAttr
	switch {
	case attr.Setpgid && attr.Pgid != 0:
		// Joining another group would make Kill and Stop hit that group.
		return fmt.Errorf("%w: SysProcAttr.Pgid must be 0: the child leads its own process group", ErrInvalid)
	case attr.Setsid:
		// A new session is a new group led by the child, too; setpgid would
		// fail on a session leader.
	default:
		attr.Setpgid = true
	}
	if !noDeathSignal {
		setParentDeathSignal(attr)
	}
	return nil
}

// prepare builds the Child and sets cmd up: the invitation with its pipes,
// the stderr pipe. On failure it closes what it made.
func prepare(cmd *exec.Cmd, opts Options) (*Child, error) {
	inv := opts.Invitation
	if inv == nil {
		inv = invitation.New(opts.Node)
	}
	c := &Child{
		name:       opts.Name,
		cmd:        cmd,
		inv:        inv,
		log:        opts.Logger.Named(opts.Name),
		policy:     opts.BadMessage,
		onExit:     opts.OnExit,
		waitDelay:  opts.WaitDelay,
		keepConn:   opts.KeepConnectionOnStop,
		stopSignal: opts.StopSignal,
		exited:     make(chan struct{}),
		started:    make(chan struct{}),
		done:       make(chan struct{}),
	}
	fail := func(err error) (*Child, error) {
		inv.Close()
		if c.stderr != nil {
			c.stderr.closeChildSide()
			_ = c.stderr.r.Close()
		}
		return nil, err
	}
	// Every report about the child's node, from the first byte it sends.
	inv.OnBadMessage(c.badMessage)
	if opts.OnPeer != nil {
		inv.OnPeer(opts.OnPeer)
	}
	for _, name := range opts.Pipes {
		if _, err := inv.Attach(name); err != nil {
			return fail(fmt.Errorf("launcher: %w", err))
		}
	}
	if opts.CaptureStderr {
		s, err := newStderrCapture(c.log, opts.StderrLine, opts.StderrLineOnly && opts.StderrLine != nil)
		if err != nil {
			return fail(fmt.Errorf("launcher: stderr pipe: %w", err))
		}
		c.stderr = s
		cmd.Stderr = s.w
	}
	if !opts.NoInvitation {
		if err := inv.PrepareCommand(cmd); err != nil {
			return fail(fmt.Errorf("launcher: %w", err))
		}
	}
	// PrepareCommand filled cmd.Env; the marker goes beside the invitation.
	c.marker = newTreeMarker()
	cmd.Env = withTreeMarker(cmd.Env, c.marker)
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = opts.WaitDelay
	}
	return c, nil
}

// spawn starts the process, closes this process's copies of the child's
// descriptors, and starts the reaper and the stderr reader.
func (c *Child) spawn() error {
	// Fork from a fresh goroutine. A new goroutine is never locked to its
	// OS thread, so it does not run on a thread that will end when its
	// goroutine does; on Linux, the end of the forking thread would fire
	// the child's parent-death signal (golang/go#27505).
	errc := make(chan error, 1)
	go func() { errc <- c.cmd.Start() }()
	err := <-errc
	c.inv.CloseChildSide()
	if c.stderr != nil {
		c.stderr.closeChildSide()
	}
	if err != nil {
		c.inv.Close()
		if c.stderr != nil {
			_ = c.stderr.r.Close()
		}
		c.log.Error("starting child failed", "path", c.cmd.Path, "error", err)
		return fmt.Errorf("launcher: start process: %w", err)
	}
	c.pid = c.cmd.Process.Pid
	c.log.Info("child started", "pid", c.pid, "path", c.cmd.Path)
	if c.stderr != nil {
		go c.stderr.run()
	}
	go c.reap()
	return nil
}

// accept runs the invitation's handshake until the child accepts, the
// child exits, timeout passes, or ctx ends.
// exitHandshakeGrace bounds how long Start keeps reading the handshake of
// a child that has exited (see accept).
const exitHandshakeGrace = 2 * time.Second

func (c *Child) accept(ctx context.Context, timeout time.Duration) (*mage.Connection, error) {
	exitCtx, stopOnExit := context.WithCancelCause(ctx)
	defer stopOnExit(nil)
	sendCtx, cancel := context.WithTimeoutCause(exitCtx, timeout, ErrAcceptTimeout)
	defer cancel()
	go func() {
		select {
		case <-c.exited:
		case <-sendCtx.Done():
			return
		}
		// A child that accepted and exited at once may have its last
		// handshake frames still unread here: its socket reaches EOF once
		// they are read, and Send then returns either way. Only if
		// something it started holds the socket open does the exit decide.
		grace := time.NewTimer(exitHandshakeGrace)
		defer grace.Stop()
		select {
		case <-grace.C:
			stopOnExit(errChildExited)
		case <-sendCtx.Done():
		}
	}()
	conn, err := c.inv.Send(sendCtx)
	if err == nil {
		return conn, nil
	}
	cause := context.Cause(sendCtx)
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("launcher: start cancelled: %w", context.Cause(ctx))
	case errors.Is(cause, ErrAcceptTimeout):
		return nil, fmt.Errorf("%w: waited %v", ErrAcceptTimeout, timeout)
	case errors.Is(cause, errChildExited), errors.Is(err, invitation.ErrPeerGone):
		if bad := c.badMessageEnding(); bad != nil {
			return nil, fmt.Errorf("launcher: child killed for a bad message before it accepted its invitation: %w", bad)
		}
		return nil, ErrExitedBeforeAccept
	}
	return nil, fmt.Errorf("launcher: invitation handshake failed: %w", err)
}

// abort ends a start that failed after the process was started: it kills
// and reaps the child and returns the StartError.
func (c *Child) abort(err error) error {
	c.startOK = false
	close(c.started)
	c.inv.Close()
	if kerr := c.end(ending{cause: CauseStartFailed, reason: "killed: start failed: " + err.Error(), err: err}, syscall.SIGKILL); kerr != nil {
		c.log.Error("killing child failed", "pid", c.pid, "error", kerr)
	}
	exit := c.Wait()
	se := &StartError{Name: c.name, Pid: c.pid, Exit: &exit, Err: err}
	if c.stderr != nil {
		se.Stderr = c.stderr.lastLines()
	}
	c.log.Error("child failed to start", "pid", c.pid, "error", err, "status", exit.Status())
	return se
}

// accepted completes a successful start.
func (c *Child) accepted(conn *mage.Connection) {
	c.mu.Lock()
	c.conn = conn
	c.mu.Unlock()
	c.log.Info("child accepted its invitation", "pid", c.pid, "node", conn.Peer().String())
	c.watchDescendants(c.inv.Node(), conn.Peer())
	c.startOK = true
	close(c.started)
}
