package launcher

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// reap is the child's reaper goroutine: the only code that reaps the child,
// and the only code that signals its group once it has exited.
func (c *Child) reap() {
	if c.awaitExit() {
		// The child is a zombie: its pid is still its own.
		c.endDescendants()
	}
	waitErr := c.cmd.Wait()
	c.markGone()
	// Start may still be deciding, with the connection not yet recorded;
	// it never waits for done before it has decided.
	<-c.started
	c.drain()
	exit := c.exitFrom(c.cmd.ProcessState, waitErr)
	c.mu.Lock()
	remove := c.removeBadHandler
	c.removeBadHandler = nil
	c.mu.Unlock()
	if remove != nil {
		remove()
	}
	c.logExit(exit)
	c.exit = exit
	close(c.done)
	if c.startOK && c.onExit != nil {
		c.onExit(exit)
	}
}

// awaitExit waits for the child to exit without reaping it, then kills the
// rest of its process group, so that grandchildren it left behind do not
// outlive it. Killing by group id is safe only now, before reaping: the
// unreaped child keeps its pid, which is the group id, from being reused.
// Where the exit cannot be awaited without reaping, the group is left
// alone, and from here on only the child itself is signalled. It reports
// whether it saw the exit.
func (c *Child) awaitExit() bool {
	err := waitExited(c.pid)
	c.mu.Lock()
	c.groupOff = true
	if err == nil {
		c.gone = true
		if kerr := unix.Kill(-c.pid, unix.SIGKILL); kerr != nil && !errors.Is(kerr, unix.ESRCH) {
			c.log.Warn("killing the child's process group failed", "pid", c.pid, "error", kerr)
		}
	}
	c.mu.Unlock()
	if err != nil {
		c.log.Debug("cannot await the child's exit without reaping it; its group will not be killed", "pid", c.pid, "error", err)
		return false
	}
	close(c.exited)
	return true
}

// markGone records that the child has been reaped, for the case where
// awaitExit could not see its exit.
func (c *Child) markGone() {
	c.mu.Lock()
	wasGone := c.gone
	c.gone = true
	c.mu.Unlock()
	if !wasGone {
		close(c.exited)
	}
}

// drain waits, at most waitDelay in all, for the child's stderr and its
// connection to reach EOF, then closes what is still open. Messages the
// child sent before it died are in the socket; closing the connection
// before its reader reached EOF would lose them.
func (c *Child) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), c.waitDelay)
	defer cancel()
	if c.stderr != nil {
		select {
		case <-c.stderr.done:
		case <-ctx.Done():
			c.stderr.abandon()
			<-c.stderr.done
		}
	}
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		return
	}
	select {
	case <-conn.Done():
	case <-ctx.Done():
		c.log.Warn("connection still open after the child exited, closing it", "pid", c.pid)
	}
	_ = conn.Close()
}

// exitFrom describes the child's end from its wait status and what the
// launcher did to it. An ending the launcher claimed counts only if the
// status bears it out: SIGKILL for a kill; anything for Stop, whose SIGTERM
// the child may handle by exiting in any way.
func (c *Child) exitFrom(state *os.ProcessState, waitErr error) Exit {
	e := Exit{Code: -1, Cause: CauseExited, Reason: "exited"}
	if state != nil {
		e.Code = state.ExitCode()
		if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			e.Signal = ws.Signal()
			e.Reason = "signaled"
		}
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		e.Err = waitErr
	}
	c.mu.Lock()
	end := c.ending
	c.mu.Unlock()
	if end != nil && (end.cause == CauseStopped || e.Signal == syscall.SIGKILL) {
		e.Cause, e.Reason = end.cause, end.reason
		if end.err != nil {
			e.Err = end.err
		}
	}
	return e
}

func (c *Child) logExit(e Exit) {
	args := []any{"pid", c.pid, "code", e.Code, "cause", e.Cause, "reason", e.Reason}
	if e.Signal != 0 {
		args = append(args, "signal", signalName(e.Signal))
	}
	if e.Err != nil {
		args = append(args, "error", e.Err)
	}
	if e.Success() || e.Cause == CauseStopped || e.Cause == CauseKilled {
		c.log.Info("child exited", args...)
		return
	}
	c.log.Warn("child exited", args...)
}
