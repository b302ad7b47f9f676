package wake

import (
	"encoding/binary"
	"os"

	"golang.org/x/sys/unix"
)

// ringBytes is what Ring writes: an eventfd adds the 8-byte counter it is
// given (1, in the machine's byte order), and a read returns and clears
// the sum.
var ringBytes = func() (b [8]byte) {
	binary.NativeEndian.PutUint64(b[:], 1)
	return b
}()

// New makes a Bell from an eventfd: one descriptor, non-blocking, so that
// os.NewFile hands it to the poller.
func New() (*Bell, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("eventfd", err)
	}
	f := os.NewFile(uintptr(fd), "bell")
	return newBell(f, f)
}
