package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// Environment of a child process.
const (
	envChild    = "BENCH_CHILD"    // the contender (or chain role) the child serves
	envChannels = "BENCH_CHANNELS" // how many channel sockets follow the control socket
	envProfile  = "BENCH_PROFILE"  // directory for the child's profiles, if any
	envTrace    = "BENCH_TRACE"    // set: execution traces instead of CPU profiles
)

// Descriptors of a child: the control socket, then its channels.
const (
	controlFD      = 3
	firstChannelFD = 4
)

// stopGrace is how long a child has to exit after its control socket
// closes before it is killed.
const stopGrace = 5 * time.Second

var errChild = errors.New("bench: child")

// socketPair makes a connected pair of Unix stream sockets.
func socketPair() (*os.File, *os.File, error) {
	// ForkLock keeps a concurrent fork from inheriting the descriptors
	// before they are close-on-exec (SOCK_CLOEXEC is not portable).
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, fmt.Errorf("bench: socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "bench-parent"), os.NewFile(uintptr(fds[1]), "bench-child"), nil
}

// unixConn turns a socket file into a *net.UnixConn and closes f (the
// connection holds its own descriptor).
func unixConn(f *os.File) (*net.UnixConn, error) {
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("bench: socket %s: %w", f.Name(), err)
	}
	u, ok := c.(*net.UnixConn)
	if !ok {
		_ = c.Close()
		return nil, fmt.Errorf("bench: socket %s is a %T, not a Unix socket", f.Name(), c)
	}
	return u, nil
}

// child is a child process as the parent sees it, before or after Start.
type child struct {
	key string
	cmd *exec.Cmd
	ctl *control
	// channels are the parent's ends of the channel sockets.
	channels []*os.File
	// theirs are the child's ends, closed once it has started.
	theirs []*os.File
	// started is set by start; a child started by someone else (go-plugin)
	// is waited for by that someone.
	started bool
}

// newChild prepares (does not start) a re-execution of this binary as the
// child of the contender or chain role key, with a control socket and
// channels channel sockets.
func newChild(key string, channels int, profileDir string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: finding this binary: %w", err)
	}
	c := &child{key: key, cmd: exec.Command(exe)}
	c.cmd.Env = append(os.Environ(), envChild+"="+key, envChannels+"="+strconv.Itoa(channels))
	if profileDir != "" {
		c.cmd.Env = append(c.cmd.Env, envProfile+"="+profileDir)
	}
	c.cmd.Stderr = os.Stderr
	for i := 0; i <= channels; i++ {
		mine, theirs, err := socketPair()
		if err != nil {
			c.discard()
			return nil, err
		}
		c.theirs = append(c.theirs, theirs)
		if i == 0 {
			conn, err := unixConn(mine)
			if err != nil {
				c.discard()
				return nil, err
			}
			c.ctl = newControl(conn)
			continue
		}
		c.channels = append(c.channels, mine)
	}
	c.cmd.ExtraFiles = append(c.cmd.ExtraFiles, c.theirs...)
	return c, nil
}

// start starts the child and closes the parent's copies of its sockets.
func (c *child) start() error {
	err := c.cmd.Start()
	c.closeTheirs()
	if err != nil {
		c.discard()
		return fmt.Errorf("%w: starting: %w", errChild, err)
	}
	c.started = true
	return nil
}

// closeTheirs closes the parent's copies of the child's socket ends, so
// that the parent sees EOF when the child dies.
func (c *child) closeTheirs() {
	for _, f := range c.theirs {
		_ = f.Close()
	}
	c.theirs = nil
}

// discard releases the sockets of a child that never ran.
func (c *child) discard() {
	c.closeTheirs()
	for _, f := range c.channels {
		_ = f.Close()
	}
	if c.ctl != nil {
		_ = c.ctl.close()
	}
}

// takeChannel hands the parent's end of channel i to the caller, who closes
// it.
func (c *child) takeChannel(i int) *os.File {
	f := c.channels[i]
	c.channels[i] = nil
	return f
}

// stop closes the control socket, which tells the child to write its
// profiles and exit, and waits for it, killing it after stopGrace. It
// returns an error if the child failed.
func (c *child) stop() error {
	for _, f := range c.channels {
		if f != nil {
			_ = f.Close()
		}
	}
	_ = c.ctl.close()
	if !c.started {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%w: %s: %w", errChild, c.key, err)
		}
		return nil
	case <-time.After(stopGrace):
		_ = c.cmd.Process.Kill()
		<-done
		return fmt.Errorf("%w: %s did not exit within %v of its control socket closing; killed", errChild, c.key, stopGrace)
	}
}
