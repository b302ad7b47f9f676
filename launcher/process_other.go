//go:build unix && !linux && !darwin

package launcher

import (
	"errors"
	"syscall"
)

// setParentDeathSignal does nothing here; the child learns of its parent's
// death by EOF on its invitation socket.
func setParentDeathSignal(*syscall.SysProcAttr) {}

// waitExited is not implemented here: the reaper then reaps the child
// without killing the rest of its group first, because after reaping the
// group id could name someone else's group.
func waitExited(int) error { return errors.ErrUnsupported }
