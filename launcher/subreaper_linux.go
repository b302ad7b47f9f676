package launcher

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BecomeSubreaper makes this process a child subreaper
// (prctl(PR_SET_CHILD_SUBREAPER)): a process that descends from one of its
// children and whose parent dies is re-parented to this process rather
// than to init. The launcher then ends every descendant of a child that
// ends, those that left its process group (setsid) too: when the child
// exits, before reaping it, it kills and reaps every orphan re-parented
// here that carries the child's EnvTree marker, with all their
// descendants. Call it once, early in main, before starting children. It
// applies to the whole process and cannot be undone by the launcher.
//
// Limits: a descendant that clears its environment (dropping the marker)
// and whose parent exits before the child does is not recognised as the
// child's and outlives it; so does one that escapes into another pid
// namespace. Orphans re-parented here that carry no marker of an ended
// child are left alone (and, once they exit, are zombies until this
// process reaps them).
func BecomeSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("launcher: become subreaper: %w", err)
	}
	return nil
}

// IsSubreaper reports whether this process is a child subreaper.
func IsSubreaper() bool {
	var v int32
	// PR_GET_CHILD_SUBREAPER stores an int at the address it is given.
	if err := unix.Prctl(unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&v)), 0, 0, 0); err != nil {
		return false
	}
	return v != 0
}

// reapBound bounds how long the reaper waits for the descendants it
// killed to exit.
const reapBound = 5 * time.Second

// killDescendantsLocked kills every process whose chain of parents leads to
// the child, found by a walk of /proc: those that left its process group
// (setsid) too, as long as no process in between has died. It runs with
// every SIGKILL the launcher sends the child, while the child is not
// reaped (c.mu is held), so its pid is still its own. The processes killed
// are kept, by pidfd, for the reaper to reap (endDescendants).
func (c *Child) killDescendantsLocked() {
	c.killed = append(c.killed, c.findAndKill(false)...)
}

// endDescendants runs in the reaper once the child has exited and before it
// is reaped: it kills what descends from the child and is still alive (on a
// subreaper, the orphans re-parented here that carry the child's marker,
// with their descendants, too), then reaps every process it killed, now or
// before, that is this process's child, waiting at most reapBound for them
// to exit.
func (c *Child) endDescendants() {
	killed := c.findAndKill(IsSubreaper())
	c.mu.Lock()
	killed = append(c.killed, killed...)
	c.killed = nil
	c.mu.Unlock()
	reapTargets(killed)
}

// findAndKill lists the child's descendants (see killDescendantsLocked;
// with orphansToo, also the marked orphans re-parented here) and sends
// each SIGKILL through a pidfd, opened and then checked against the start
// time that was listed, so that a reused pid is never hit.
func (c *Child) findAndKill(orphansToo bool) []target {
	procs, err := scanProcs()
	if err != nil {
		c.log.Warn("cannot list processes to end the child's descendants", "error", err)
		return nil
	}
	self := os.Getpid()
	roots := []int{c.pid}
	if orphansToo {
		for pid, p := range procs {
			// The child's group id is still its own: it is not reaped.
			if p.ppid == self && pid != c.pid && (p.pgid == c.pid || c.marksOwn(pid)) {
				roots = append(roots, pid)
			}
		}
	}
	var targets []target
	for _, pid := range descendants(procs, roots) {
		if pid == c.pid {
			continue
		}
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue // gone already
		}
		if st, err := readStat(pid); err != nil || st.start != procs[pid].start {
			_ = unix.Close(fd)
			continue // not the process that was listed
		}
		if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
			c.log.Warn("killing a descendant failed", "pid", pid, "error", err)
		}
		targets = append(targets, target{pid: pid, fd: fd})
	}
	if len(targets) > 0 {
		c.log.Info("killed the child's descendants", "pid", c.pid, "count", len(targets))
	}
	return targets
}

// marksOwn reports whether process pid carries this child's marker.
func (c *Child) marksOwn(pid int) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	return err == nil && hasTreeMarker(env, c.marker)
}

// target is a process being killed, by pid and pidfd.
type target struct {
	pid, fd int
}

// reapTargets waits (at most reapBound) for every target to exit, then
// reaps those that are this process's children. Once all have exited,
// every one not reaped yet by its own parent, itself a target, has been
// re-parented here, as this process is a subreaper, or to init otherwise
// (waitid then reports ECHILD). It closes the pidfds.
func reapTargets(targets []target) {
	deadline := time.Now().Add(reapBound)
	for _, t := range targets {
		pfd := []unix.PollFd{{Fd: int32(t.fd), Events: unix.POLLIN}}
		for {
			left := time.Until(deadline)
			if left <= 0 {
				break
			}
			n, err := unix.Poll(pfd, int(left.Milliseconds())+1)
			if err == unix.EINTR {
				continue
			}
			if err != nil || n > 0 {
				break
			}
		}
	}
	for _, t := range targets {
		var info unix.Siginfo
		for {
			err := unix.Waitid(unix.P_PIDFD, t.fd, &info, unix.WEXITED|unix.WNOHANG, nil)
			if err != unix.EINTR {
				break
			}
		}
		_ = unix.Close(t.fd)
	}
}

// proc is what killDescendants needs of one process.
type proc struct {
	ppid, pgid int
	start      uint64
}

// scanProcs lists every process in /proc with its parent and start time.
func scanProcs() (map[int]proc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	procs := make(map[int]proc, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil {
			procs[pid] = st
		}
	}
	return procs, nil
}

// readStat reads a process's parent and start time from /proc/PID/stat,
// whose second field, the command name in parentheses, may hold any byte.
func readStat(pid int) (proc, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return proc{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return proc{}, fmt.Errorf("launcher: malformed /proc/%d/stat", pid)
	}
	// After the name: state (3), ppid (4), pgrp (5), ... starttime (22).
	f := bytes.Fields(b[i+1:])
	if len(f) < 20 {
		return proc{}, fmt.Errorf("launcher: malformed /proc/%d/stat", pid)
	}
	ppid, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return proc{}, fmt.Errorf("launcher: /proc/%d/stat: ppid: %w", pid, err)
	}
	pgid, err := strconv.Atoi(string(f[2]))
	if err != nil {
		return proc{}, fmt.Errorf("launcher: /proc/%d/stat: process group: %w", pid, err)
	}
	start, err := strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return proc{}, fmt.Errorf("launcher: /proc/%d/stat: start time: %w", pid, err)
	}
	return proc{ppid: ppid, pgid: pgid, start: start}, nil
}

// descendants returns roots and every process whose chain of parents
// leads to one of them.
func descendants(procs map[int]proc, roots []int) []int {
	children := make(map[int][]int)
	for pid, p := range procs {
		children[p.ppid] = append(children[p.ppid], pid)
	}
	seen := make(map[int]bool)
	var out []int
	queue := append([]int(nil), roots...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		out = append(out, pid)
		queue = append(queue, children[pid]...)
	}
	return out
}
