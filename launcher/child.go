package launcher

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/mage"
)

// Child is a child process started by Start, and its connection.
//
// Lifecycle: when Start returns a Child, its process runs and has accepted
// its invitation. From then on one goroutine of the launcher, the reaper,
// owns the process's end: it waits for the process to exit, kills what is
// left of its process group, reaps it, waits (at most Options.WaitDelay)
// for its stderr and its connection to reach EOF, records its Exit, closes
// Done, and then calls Options.OnExit.
//
// Every method is safe for concurrent use, and may be called any number of
// times, before or after the child exited.
type Child struct {
	name string
	cmd  *exec.Cmd
	pid  int
	inv  *invitation.Invitation
	log  hclog.Logger
	// marker is the child's EnvTree marker, which its descendants inherit.
	marker    string
	policy    BadMessagePolicy
	onExit    func(Exit)
	waitDelay time.Duration
	keepConn  bool
	// stopSignal is Options.StopSignal.
	stopSignal syscall.Signal
	// stderr is nil unless Options.CaptureStderr.
	stderr *stderrCapture

	// exited is closed when the process has exited; it may not be reaped
	// yet.
	exited chan struct{}
	// started is closed when Start has succeeded or failed; startOK, written
	// before, says which.
	started chan struct{}
	startOK bool
	// done is closed when the process has been reaped and drained; exit,
	// written before, is how it ended.
	done chan struct{}
	exit Exit

	// mu guards the fields below. It also serialises signals to the process
	// group with the reaper (see signalLocked).
	mu sync.Mutex
	// gone is set once the process is known to have exited: the launcher no
	// longer signals it and no longer claims its end.
	gone bool
	// groupOff is set, by the reaper, before it reaps the process: from then
	// on the group id may name someone else's group and nobody signals it.
	groupOff bool
	// ending is the first thing the launcher did to end the child; nil
	// until it did anything.
	ending *ending
	// conn is the connection to the child's node, once it accepted.
	conn *mage.Connection
	// removeBadHandler unregisters the bad-message handler, once one was
	// registered.
	removeBadHandler func()
	// killed holds the descendants killed while the child lived, for the
	// reaper to reap (Linux; subreaper_linux.go).
	killed []target
}

// ending is why the launcher ended a child.
type ending struct {
	cause  ExitCause
	reason string
	err    error
}

// Name returns the child's name (Options.Name).
func (c *Child) Name() string { return c.name }

// Pid returns the child's process id. The pid may name another process once
// the child has been reaped: use Kill and Stop to signal the child, never
// the pid.
func (c *Child) Pid() int { return c.pid }

// Pipe returns this process's end of the pipe attached to the child's
// invitation as name.
func (c *Child) Pipe(name string) (mage.MessagePipe, bool) { return c.inv.Pipe(name) }

// Connection returns the connection to the child's node.
func (c *Child) Connection() *mage.Connection {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn
}

// Done is closed once the child has been reaped, its stderr read to the end
// and its connection closed (both bounded by Options.WaitDelay).
func (c *Child) Done() <-chan struct{} { return c.done }

// Wait blocks until Done is closed and returns how the child ended.
func (c *Child) Wait() Exit {
	<-c.done
	return c.exit
}

// Kill sends SIGKILL to the child, to every process in its process group
// and, on Linux, to every process descended from it, found by the chain
// of parents (see BecomeSubreaper for what else is found). It does not wait: use Wait or Done. It is idempotent, and does
// nothing once the child has exited. The Exit's cause is CauseKilled unless
// something else ended the child first.
func (c *Child) Kill() error {
	return c.end(ending{cause: CauseKilled, reason: "killed"}, syscall.SIGKILL)
}

// Stop ends the child politely: it closes the child's connection (the child
// sees EOF on its invitation socket; not with Options.KeepConnectionOnStop)
// and sends SIGTERM (Options.StopSignal) to the child and its process group; if the child has
// not exited after grace, it sends SIGKILL.
// Stop returns once the child has been reaped, as Wait does; its error
// reports a signal that could not be sent. A second call, or a call after
// the child exited, just waits. The Exit's cause is CauseStopped unless
// something else ended the child first.
func (c *Child) Stop(grace time.Duration) error {
	select {
	case <-c.done:
		return nil
	default:
	}
	c.log.Info("stopping child", "pid", c.pid, "grace", grace)
	c.mu.Lock()
	c.claimEndingLocked(ending{cause: CauseStopped, reason: "stopped"})
	conn := c.conn
	c.mu.Unlock()
	if conn != nil && !c.keepConn {
		_ = conn.Close()
	}
	errTerm := c.signal(c.stopSignal)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-c.done:
		return errTerm
	case <-timer.C:
	}
	c.mu.Lock()
	gone := c.gone
	if c.ending != nil && c.ending.cause == CauseStopped && !gone {
		c.ending.reason = fmt.Sprintf("stopped: killed after the %v grace period", grace)
	}
	c.mu.Unlock()
	if gone {
		// Exited in time; its stderr or connection is still draining.
		<-c.done
		return errTerm
	}
	c.log.Warn("child did not stop in time, killing it", "pid", c.pid, "grace", grace)
	errKill := c.signal(syscall.SIGKILL)
	<-c.done
	return errors.Join(errTerm, errKill)
}

// end records why the launcher ends the child, unless something did
// already, and sends it sig. It never blocks for long: the bad-message
// handler calls it on an I/O goroutine.
func (c *Child) end(e ending, sig syscall.Signal) error {
	c.mu.Lock()
	gone := c.gone
	c.claimEndingLocked(e)
	err := c.signalLocked(sig)
	c.mu.Unlock()
	if !gone {
		c.log.Info("ending child", "pid", c.pid, "cause", e.cause, "signal", signalName(sig))
	}
	return err
}

// claimEndingLocked records e as the reason the child ends, unless another
// reason came first or the child is already gone (then nothing the launcher
// does can be the reason).
func (c *Child) claimEndingLocked(e ending) {
	if c.ending == nil && !c.gone {
		c.ending = &e
	}
}

func (c *Child) signal(sig syscall.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.signalLocked(sig)
}

// signalLocked sends sig to the child and to its process group.
//
// The child itself is signalled through its os.Process, which on Linux
// holds a pidfd, so a reused pid can never be hit; this also reaches a child
// that left its group (setsid, setpgid). The group has no such handle: its
// id is the child's pid, which stays ours only while the child is unreaped.
// The reaper sets groupOff, under mu, before it reaps; so while mu is held
// and groupOff is false, the child is at worst a zombie and the group id is
// still our child's group.
func (c *Child) signalLocked(sig syscall.Signal) error {
	if c.gone {
		return nil
	}
	if sig == syscall.SIGKILL {
		// Descendants that left the group (setsid) too, found while the
		// living child still holds the chain of parents together.
		c.killDescendantsLocked()
	}
	var errs []error
	// One signal per process: the group's reaches the child too while it
	// leads its group, and a second copy of a stop signal would end a
	// program that takes a repeated SIGTERM or SIGINT as "force quit"
	// (or one that restored the default action after the first). The
	// child itself is signalled on its own only once it has left its
	// group, or once the group is no longer ours to signal.
	inGroup := false
	if !c.groupOff {
		if err := unix.Kill(-c.pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, err)
		}
		// Asked after the group's signal: a child that left its group
		// before it is signalled on its own (one that left just after
		// gets a second copy, which cannot be helped).
		pgid, err := unix.Getpgid(c.pid)
		inGroup = err == nil && pgid == c.pid
	}
	if !inGroup {
		if err := c.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, err)
		}
	}

	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("launcher: signal %s to child %q: %w", signalName(sig), c.name, err)
	}
	return nil
}
