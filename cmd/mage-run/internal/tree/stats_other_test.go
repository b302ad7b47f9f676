//go:build !linux

package tree

import (
	"fmt"
	"syscall"
)

// waitExitedNotReaped waits until the child pid has exited. Without
// waitid's WNOWAIT it reaps it: the zombie case is tested on Linux only.
func waitExitedNotReaped(pid int) error {
	var status syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &status, 0, nil); err != nil {
		return fmt.Errorf("wait4 %d: %w", pid, err)
	}
	return nil
}
