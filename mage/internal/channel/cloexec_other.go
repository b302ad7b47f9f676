//go:build !linux

package channel

import "golang.org/x/sys/unix"

// setCloexec marks received descriptors close-on-exec. These systems have no
// MSG_CMSG_CLOEXEC; the net package already sets the flag after a successful
// read, and doing it again here covers the reads it skips (one that returned
// an error along with descriptors).
func setCloexec(fds []int) {
	for _, fd := range fds {
		unix.CloseOnExec(fd)
	}
}
