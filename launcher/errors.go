package launcher

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrInvalid is returned by Start for a command or options it cannot
	// use: a command already started, conflicting options.
	ErrInvalid = errors.New("launcher: invalid command or options")
	// ErrAcceptTimeout is wrapped by the error of a Start whose child did
	// not accept its invitation within Options.AcceptTimeout.
	ErrAcceptTimeout = errors.New("launcher: child did not accept its invitation in time")
	// ErrExitedBeforeAccept is wrapped by the error of a Start whose child
	// exited (or closed its invitation socket) before accepting.
	ErrExitedBeforeAccept = errors.New("launcher: child exited before accepting its invitation")
)

// errChildExited is the cause given to the handshake's context when the
// child exits during it.
var errChildExited = errors.New("launcher: child exited")

// StartError is the error of a failed Start. Its message begins with the
// underlying error's and adds what is known about the child; Unwrap gives
// the underlying error, so errors.Is(err, ErrAcceptTimeout) and the like
// work on it.
type StartError struct {
	// Name is the child's name (Options.Name).
	Name string
	// Pid is the child's pid, or 0 if no process was started.
	Pid int
	// Exit is how the child ended, or nil if no process was started. The
	// child has been reaped when Start returns.
	Exit *Exit
	// Stderr holds the last lines the child wrote to stderr, when
	// Options.CaptureStderr was set.
	Stderr []string
	// Err is why the start failed.
	Err error
}

func (e *StartError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	fmt.Fprintf(&b, " (child %q", e.Name)
	if e.Pid != 0 {
		fmt.Fprintf(&b, ", pid %d", e.Pid)
	}
	if e.Exit != nil {
		fmt.Fprintf(&b, ", %s", e.Exit.Status())
	}
	b.WriteString(")")
	if len(e.Stderr) > 0 {
		b.WriteString("; stderr: ")
		b.WriteString(strings.Join(e.Stderr, " | "))
	}
	return b.String()
}

// Unwrap returns why the start failed.
func (e *StartError) Unwrap() error { return e.Err }
