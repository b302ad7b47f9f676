package launcher

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// setParentDeathSignal does nothing: macOS has no parent-death signal. The
// child learns of its parent's death by EOF on its invitation socket.
func setParentDeathSignal(*syscall.SysProcAttr) {}

// waitExited blocks until the child pid has exited, without reaping it, by
// a kqueue NOTE_EXIT event. (waitid with WNOWAIT also returns for stopped
// processes on macOS, golang/go#19314.) The child stays a zombie, so its
// pid and its group id cannot be reused until the launcher reaps it. The
// pid is safe to use because only the reaper goroutine that calls this
// reaps the child, and it does so afterwards.
func waitExited(pid int) error {
	kq, err := unix.Kqueue()
	if err != nil {
		return err
	}
	defer unix.Close(kq)
	var ev unix.Kevent_t
	unix.SetKevent(&ev, pid, unix.EVFILT_PROC, unix.EV_ADD|unix.EV_ONESHOT)
	ev.Fflags = unix.NOTE_EXIT
	changes := []unix.Kevent_t{ev}
	out := make([]unix.Kevent_t, 1)
	for {
		n, err := unix.Kevent(kq, changes, out, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ESRCH:
			// Already a zombie: exited, not reaped.
			return nil
		case err != nil:
			return err
		case n == 0:
			continue
		}
		if out[0].Flags&unix.EV_ERROR != 0 {
			if errno := unix.Errno(out[0].Data); errno != unix.ESRCH {
				return errno
			}
		}
		return nil
	}
}
