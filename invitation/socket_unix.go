package invitation

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// checkStreamSocket checks that fd is open and is a Unix-domain stream
// socket, and marks it close-on-exec: exec.Cmd's ExtraFiles cleared the flag
// for us, and our own children must not inherit it.
func checkStreamSocket(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		if errors.Is(err, unix.EBADF) {
			return fmt.Errorf("not open (the variable was inherited without the descriptor?)")
		}
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return fmt.Errorf("not a socket (file mode %#o)", st.Mode&unix.S_IFMT)
	}
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return fmt.Errorf("socket type: %w", err)
	}
	if typ != unix.SOCK_STREAM {
		return fmt.Errorf("not a stream socket (type %d)", typ)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fmt.Errorf("socket address: %w", err)
	}
	if _, ok := sa.(*unix.SockaddrUnix); !ok {
		return fmt.Errorf("not a Unix-domain socket (%T)", sa)
	}
	unix.CloseOnExec(fd)
	return nil
}
