package mage

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// dupFiles duplicates the descriptors of files (close-on-exec) so the runtime
// owns copies independent of the caller's *os.File values.
func dupFiles(files []*os.File) ([]int, error) {
	if len(files) == 0 {
		return nil, nil
	}
	fds := make([]int, 0, len(files))
	for i, f := range files {
		if f == nil {
			closeFDs(fds)
			return nil, fmt.Errorf("handle %d is nil", i)
		}
		fd, err := dupFile(f)
		if err != nil {
			closeFDs(fds)
			return nil, fmt.Errorf("handle %d (%s): %w", i, f.Name(), err)
		}
		fds = append(fds, fd)
	}
	return fds, nil
}

func dupFile(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	dup := -1
	var dupErr error
	if err := rc.Control(func(fd uintptr) {
		dup, dupErr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if dupErr != nil {
		return -1, fmt.Errorf("dup: %w", dupErr)
	}
	return dup, nil
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		if fd >= 0 {
			_ = unix.Close(fd)
		}
	}
}
