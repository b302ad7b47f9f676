package launcher

import (
	"fmt"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// ExitCause says why a child ended.
type ExitCause uint8

const (
	// CauseExited: the child exited, or was killed by a signal, of its own
	// accord or by someone other than the launcher.
	CauseExited ExitCause = iota
	// CauseKilled: Kill was called.
	CauseKilled
	// CauseStopped: Stop was called. The child may have exited by itself in
	// response, or been killed when the grace period ran out.
	CauseStopped
	// CauseBadMessage: the child was killed because this node rejected a
	// message from it (policy KillOnBadMessage).
	CauseBadMessage
	// CauseStartFailed: the child was killed because its start failed: it
	// did not accept in time, the handshake failed, or Start's context
	// ended.
	CauseStartFailed
)

func (c ExitCause) String() string {
	switch c {
	case CauseExited:
		return "exited"
	case CauseKilled:
		return "killed"
	case CauseStopped:
		return "stopped"
	case CauseBadMessage:
		return "bad message"
	case CauseStartFailed:
		return "start failed"
	}
	return fmt.Sprintf("ExitCause(%d)", uint8(c))
}

// Exit describes how a child ended.
type Exit struct {
	// Code is the exit status, or -1 if the child was ended by a signal or
	// its status is unknown.
	Code int
	// Signal is the signal that ended the child, or 0.
	Signal syscall.Signal
	// Cause says who ended the child.
	Cause ExitCause
	// Reason says why, in words: "exited", "killed", "stopped",
	// "stopped: killed after the 2s grace period", "killed: bad message: ...",
	// "killed: start failed: ...".
	Reason string
	// Err is the error behind Reason (the bad message, why the start
	// failed), or the error of waiting for the child, or nil.
	Err error
}

// Success reports whether the child exited by itself with status 0.
func (e Exit) Success() bool {
	return e.Cause == CauseExited && e.Code == 0 && e.Signal == 0
}

// Status describes the status alone: "exit status 3", "signal SIGKILL",
// or "no status" for a process that never ran or could not be waited for.
func (e Exit) Status() string {
	switch {
	case e.Signal != 0:
		return "signal " + signalName(e.Signal)
	case e.Code < 0:
		return "no status"
	}
	return "exit status " + strconv.Itoa(e.Code)
}

// String describes the exit: its reason, then its status.
func (e Exit) String() string {
	return e.Reason + " (" + e.Status() + ")"
}

// signalName returns "SIGKILL" rather than the "killed" of Signal.String.
func signalName(sig syscall.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return name
	}
	return sig.String()
}
