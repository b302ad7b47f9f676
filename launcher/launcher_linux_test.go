package launcher_test

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mage-ipc/mage/launcher"
)

// pidfdFor opens a pidfd for pid, which must be alive, and closes it when
// the test ends.
func pidfdFor(t *testing.T, pid int) int {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	t.Cleanup(func() { _ = unix.Close(fd) })
	return fd
}

// awaitPidfd waits for the process behind a pidfd to exit. A pidfd becomes
// readable when its process exits, whether or not anyone reaps it.
func awaitPidfd(t *testing.T, fd int, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(time.Until(deadline).Milliseconds()))
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			t.Fatalf("poll on the pidfd of %s: %v", what, err)
		case n == 0:
			t.Fatalf("%s did not exit", what)
		}
		return
	}
}

func readPid(t *testing.T, s string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || pid <= 0 {
		t.Fatalf("bad pid %q", s)
	}
	return pid
}

func TestKillReachesGrandchildren(t *testing.T) {
	c := startChild(t, "spawn", launcher.Options{})
	grandchild := pidfdFor(t, readPid(t, mustRead(t, ctl(t, c))))
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	exit := waitDone(t, c)
	if exit.Cause != launcher.CauseKilled || exit.Signal != syscall.SIGKILL {
		t.Errorf("exit = %+v", exit)
	}
	awaitPidfd(t, grandchild, "the grandchild")
}

// A child that exits by itself leaves no orphans behind in its group.
func TestExitKillsOrphans(t *testing.T) {
	c := startChild(t, "spawn", launcher.Options{}, exitEnv+"=4")
	p := ctl(t, c)
	grandchild := pidfdFor(t, readPid(t, mustRead(t, p)))
	_ = p.Close()
	exit := waitDone(t, c)
	if exit.Cause != launcher.CauseExited || exit.Code != 4 {
		t.Errorf("exit = %+v, want status 4", exit)
	}
	awaitPidfd(t, grandchild, "the orphaned grandchild")
}

// parentDies starts a middle process that starts a child with the launcher
// in grandMode, kills the middle, and waits for the child to exit.
func parentDies(t *testing.T, grandMode string, env ...string) {
	middle := childCmd("middle", append(env, grandModeEnv+"="+grandMode)...)
	middle.Stderr = os.Stderr
	out, err := middle.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := middle.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = middle.Process.Kill()
		_ = middle.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the grandchild's pid: %v", err)
	}
	grandchild := pidfdFor(t, readPid(t, line))
	if err := middle.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = middle.Wait()
	awaitPidfd(t, grandchild, "the dead parent's child")
}

// On Linux the child gets SIGKILL when its parent dies, even when it pays
// no attention to its invitation socket.
func TestParentDeathSignal(t *testing.T) {
	parentDies(t, "acceptblock")
}

// Without the signal, a child that watches its invitation socket learns of
// its parent's death by EOF.
func TestParentDeathByEOF(t *testing.T) {
	parentDies(t, "exitwithparent", noDeathSigEnv+"=1")
}

func countFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestNoLeakedFDs(t *testing.T) {
	scenarios := func(t *testing.T) {
		// A full life with stderr captured.
		c := startChild(t, "echo", launcher.Options{CaptureStderr: true})
		p := ctl(t, c)
		mustSend(t, p, "x")
		mustRead(t, p)
		_ = p.Close()
		waitDone(t, c)
		// Failed starts of every kind.
		ctx := testContext(t)
		if _, err := launcher.Start(ctx, childCmd("exitearly"), launcher.Options{Pipes: []string{"ctl"}, CaptureStderr: true}); err == nil {
			t.Error("exitearly started")
		}
		if _, err := launcher.Start(ctx, childCmd("noaccept"), launcher.Options{Pipes: []string{"ctl"}, AcceptTimeout: 100 * time.Millisecond, CaptureStderr: true}); err == nil {
			t.Error("noaccept started")
		}
		if _, err := launcher.Start(ctx, childCmd("x"), launcher.Options{Pipes: []string{"ctl"}, CaptureStderr: true, BadMessage: 9}); err == nil {
			t.Error("bad options accepted")
		}
		cmd := childCmd("echo")
		cmd.Path = "/nonexistent"
		if _, err := launcher.Start(ctx, cmd, launcher.Options{Pipes: []string{"ctl"}, CaptureStderr: true}); err == nil {
			t.Error("missing binary started")
		}
		// Killed, and stopped.
		c = startChild(t, "acceptblock", launcher.Options{CaptureStderr: true})
		_ = c.Kill()
		waitDone(t, c)
		c = startChild(t, "termignore", launcher.Options{CaptureStderr: true})
		mustRead(t, ctl(t, c))
		_ = c.Stop(10 * time.Millisecond)
	}
	// Warm up: the first start opens descriptors the runtime keeps.
	t.Run("warmup", scenarios)
	before := countFDs(t)
	t.Run("measured", scenarios)
	if after := countFDs(t); after != before {
		t.Errorf("%d descriptors open before, %d after", before, after)
	}
}

// exitedNow fails unless the process behind a pidfd has exited already.
func exitedNow(t *testing.T, fd int, what string) {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("poll on the pidfd of %s: %v", what, err)
		}
		if n == 0 {
			t.Fatalf("%s is still running after the child was reaped", what)
		}
		return
	}
}

// Kill reaches a grandchild that left the child's session and process
// group, through the chain of parents.
func TestKillReachesSetsidGrandchild(t *testing.T) {
	c := startChild(t, "spawnsetsid", launcher.Options{})
	grandchild := pidfdFor(t, readPid(t, mustRead(t, ctl(t, c))))
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	waitDone(t, c)
	exitedNow(t, grandchild, "the setsid grandchild")
}

// On a subreaper, a child that ends by itself (here on Stop's SIGTERM)
// takes with it a grandchild that called setsid, which was re-parented to
// this process when the child died; the launcher kills and reaps it.
func TestStopEndsSetsidGrandchildOnASubreaper(t *testing.T) {
	if err := launcher.BecomeSubreaper(); err != nil {
		t.Skipf("cannot become a subreaper here: %v", err)
	}
	if !launcher.IsSubreaper() {
		t.Fatal("BecomeSubreaper succeeded but IsSubreaper is false")
	}
	c := startChild(t, "spawnsetsid", launcher.Options{})
	pid := readPid(t, mustRead(t, ctl(t, c)))
	grandchild := pidfdFor(t, pid)
	if err := c.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if exit := c.Wait(); exit.Signal != syscall.SIGTERM {
		t.Fatalf("exit = %+v, want the child ended by SIGTERM, not killed", exit)
	}
	exitedNow(t, grandchild, "the setsid grandchild")
	// And reaped: it is nobody's child any more.
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PIDFD, grandchild, &info, unix.WEXITED|unix.WNOHANG, nil); err != unix.ECHILD {
		t.Fatalf("waitid on the grandchild: %v, want ECHILD (reaped already)", err)
	}
}
