package channel

import (
	"testing"

	"golang.org/x/sys/unix"
)

// unreadBytes returns how many bytes wait unread in the receive queue of
// the socket whose duplicate descriptor is fd.
func unreadBytes(t *testing.T, fd int) int {
	t.Helper()
	n, err := unix.IoctlGetInt(fd, unix.SIOCINQ)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
