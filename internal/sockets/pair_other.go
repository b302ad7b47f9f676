//go:build unix && !linux

package sockets

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// socketpair creates the pair under the fork lock and then marks it
// close-on-exec, since SOCK_CLOEXEC is Linux-only.
func socketpair() ([2]int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return fds, err
	}
	unix.CloseOnExec(fds[0])
	unix.CloseOnExec(fds[1])
	return fds, nil
}
