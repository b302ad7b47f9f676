package tree

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// waitExitedNotReaped waits until the child pid has exited and leaves it
// a zombie: waitid with WNOWAIT does not reap it.
func waitExitedNotReaped(pid int) error {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("waitid %d: %w", pid, err)
		}
		return nil
	}
}
