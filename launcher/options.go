package launcher

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/mage"
)

// Defaults for the zero fields of Options.
const (
	DefaultAcceptTimeout = 10 * time.Second
	DefaultWaitDelay     = 2 * time.Second
)

// BadMessagePolicy says what the launcher does when this node rejects a
// message that came from a child's node.
type BadMessagePolicy uint8

const (
	// KillOnBadMessage kills the child and records the bad message as the
	// reason in its Exit. It is the default: a child that sends malformed
	// messages is broken or compromised.
	KillOnBadMessage BadMessagePolicy = iota
	// IgnoreBadMessage only logs the bad message. The pipe it arrived on is
	// closed either way (by whoever rejected it).
	IgnoreBadMessage
)

func (p BadMessagePolicy) String() string {
	switch p {
	case KillOnBadMessage:
		return "kill"
	case IgnoreBadMessage:
		return "ignore"
	}
	return fmt.Sprintf("BadMessagePolicy(%d)", uint8(p))
}

// Options configures Start. The zero value starts a child with no pipes,
// no logging, and the default timeouts.
type Options struct {
	// Name names the child in logs and errors. Default: the base name of
	// cmd.Path.
	Name string
	// Node is the node the child's pipes belong to. Nil means the
	// Invitation's node, or mage.DefaultNode when Invitation is nil too.
	Node *mage.Node
	// Invitation, when not nil, is the invitation to send; the caller made
	// it and may hold its local pipe ends already. Start takes ownership of
	// it: on failure it is closed. When nil, Start makes one.
	Invitation *invitation.Invitation
	// Pipes are the names of pipes to attach to the invitation; the local
	// ends are then available from Child.Pipe.
	Pipes []string
	// AcceptTimeout bounds the wait for the child to accept its invitation
	// (from the moment it was started). A child that does not accept in
	// time is killed and reaped, and Start fails with ErrAcceptTimeout.
	// Zero means DefaultAcceptTimeout.
	AcceptTimeout time.Duration
	// WaitDelay bounds, after the child has exited, the wait for its stderr
	// and its connection to reach EOF: a process outside the child's group
	// that inherited them can hold them open. It also becomes cmd.WaitDelay
	// when that is zero, to bound the copying of a stdin or stdout that is
	// not an *os.File. Zero means DefaultWaitDelay.
	WaitDelay time.Duration
	// Logger receives the launcher's logs about the child, through
	// Logger.Named(Name). Nil means no logging.
	Logger hclog.Logger
	// CaptureStderr makes the launcher read the child's stderr and
	// re-emit each line through the child's logger: a line written by an
	// hclog JSON logger or a log/slog JSON or text handler keeps its level,
	// message and keys; any other line is logged at Info as message
	// "stderr" with key "line". The last lines
	// also go into a StartError. cmd.Stderr must be nil.
	CaptureStderr bool
	// OnExit, when not nil, is called once, on a goroutine of the launcher,
	// after the child has been reaped and Done is closed. It is not called
	// for a child whose Start failed.
	OnExit func(Exit)
	// BadMessage says what to do when this node rejects a message from the
	// child's node. The default is KillOnBadMessage.
	BadMessage BadMessagePolicy
	// NoParentDeathSignal, on Linux, starts the child without the
	// parent-death signal (SIGKILL) it otherwise gets: see the package
	// documentation. The child then learns of its parent's death only by
	// EOF on its invitation socket.
	NoParentDeathSignal bool
	// KeepConnectionOnStop makes Stop send SIGTERM without first closing
	// the child's connection, so that a child that handles SIGTERM can
	// still finish what it is sending (the replies to calls in progress,
	// say) before it exits; the connection closes when it does. mage-run
	// stops its processes this way. By default Stop closes the connection
	// first, which also reaches a child that ignores SIGTERM but watches
	// its invitation socket.
	KeepConnectionOnStop bool
	// NoInvitation starts a child that does not use mage: it gets no
	// invitation (no socket, no environment variable), Start returns as
	// soon as the process runs, and Connection is nil. Everything else
	// (process group, Stop, Kill, stderr, OnExit) is as for any child.
	// Pipes and Invitation must be empty.
	NoInvitation bool
	// StderrLine, when not nil and CaptureStderr is set, is called with
	// each line the child writes to stderr (without its newline, cut at
	// 64 KiB), before it is logged, on the goroutine reading stderr. It
	// must not block; mage-run watches for readiness lines with it.
	StderrLine func(line []byte)
	// StderrLineOnly, with StderrLine, hands each stderr line to
	// StderrLine only: it is not logged. mage-run's console mode prints
	// the lines itself.
	StderrLineOnly bool
	// OnPeer, when not nil, is called with the child's node name as soon
	// as its handshake names it, before the child can send any message
	// (invitation.Invitation.OnPeer), on an I/O goroutine. It must not
	// block; mage-run names the child's node in its logs with it.
	OnPeer func(mage.NodeName)
	// StopSignal is what Stop sends first, to the child and its process
	// group. Zero means SIGTERM.
	StopSignal syscall.Signal
}

// withDefaults fills the zero fields of o that do not depend on an
// invitation, and checks those that must agree with cmd.
func (o Options) withDefaults(cmd *exec.Cmd) (Options, error) {
	if o.Name == "" {
		o.Name = filepath.Base(cmd.Path)
	}
	if o.AcceptTimeout <= 0 {
		o.AcceptTimeout = DefaultAcceptTimeout
	}
	if o.StopSignal == 0 {
		o.StopSignal = syscall.SIGTERM
	}
	if o.WaitDelay <= 0 {
		o.WaitDelay = DefaultWaitDelay
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	switch {
	case o.BadMessage > IgnoreBadMessage:
		return o, fmt.Errorf("%w: unknown bad message policy %s", ErrInvalid, o.BadMessage)
	case o.CaptureStderr && cmd.Stderr != nil:
		return o, fmt.Errorf("%w: CaptureStderr is set but cmd.Stderr is not nil", ErrInvalid)
	case o.NoInvitation && (o.Invitation != nil || len(o.Pipes) > 0):
		return o, fmt.Errorf("%w: NoInvitation is set but so is Invitation or Pipes", ErrInvalid)
	case o.Invitation != nil && o.Node != nil && o.Invitation.Node() != o.Node:
		return o, fmt.Errorf("%w: Options.Node is not the node of Options.Invitation", ErrInvalid)
	}
	return o, nil
}
