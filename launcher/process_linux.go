package launcher

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// setParentDeathSignal asks the kernel to SIGKILL the child when the
// thread that forked it exits; see the package documentation for why Start
// forks from a fresh goroutine. A signal the caller chose is kept.
func setParentDeathSignal(attr *syscall.SysProcAttr) {
	if attr.Pdeathsig == 0 {
		attr.Pdeathsig = syscall.SIGKILL
	}
}

// waitExited blocks until the child pid has exited, without reaping it:
// the child stays a zombie, so its pid, and the id of the process group it
// leads, cannot be reused until the launcher reaps it. The pid is safe to
// use here because only the reaper goroutine that calls this reaps the
// child, and it does so afterwards.
func waitExited(pid int) error {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return err
		}
	}
}
