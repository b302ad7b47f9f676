//go:build !linux

package channel

import "golang.org/x/sys/unix"

// setCloexec marks received descriptors close-on-exec. These systems have no
// MSG_CMSG_CLOEXEC, so the flag is set after the read, for every
// descriptor it brought (also when the read returned an error with them).
func setCloexec(fds []int) {
	for _, fd := range fds {
		unix.CloseOnExec(fd)
	}
}
