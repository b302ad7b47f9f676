package tree

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

// envStatsChild makes this test binary a child for the sampler's tests:
// "burn" spins on one CPU, "alloc" holds allocMiB of memory it touched.
// Both say "ready" on stdout once at work and exit when stdin closes.
const envStatsChild = "TREE_TEST_STATS_CHILD"

const allocMiB = 64

// held keeps the alloc child's memory reachable.
var held []byte

// statsChild plays the child named by role.
func statsChild(role string) int {
	switch role {
	case "burn":
		go func() {
			for x := 0; ; x++ {
				_ = x * x
			}
		}()
	case "alloc":
		held = make([]byte, allocMiB<<20)
		for i := range len(held) / 4096 {
			held[i*4096] = 1
		}
	default:
		return 2
	}
	os.Stdout.WriteString("ready\n")
	_, _ = io.Copy(io.Discard, os.Stdin)
	runtime.KeepAlive(held)
	return 0
}

// statsChildProcess is a running child of statsChild.
type statsChildProcess struct {
	cmd        *exec.Cmd
	stdin      io.WriteCloser
	launchedAt time.Time
}

// startStatsChild starts a child playing role and waits until it is at
// work; it is killed when the test ends.
func startStatsChild(t *testing.T, role string) *statsChildProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envStatsChild+"="+role)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &statsChildProcess{cmd: cmd, stdin: stdin, launchedAt: time.Now()}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("%s child: %q, %v", role, line, err)
	}
	return c
}

func (c *statsChildProcess) ref() procRef {
	return procRef{pid: c.cmd.Process.Pid, launchedAt: c.launchedAt}
}

// startSampler starts a sampler and returns it with a channel that
// receives after each of its rounds.
func startSampler(t *testing.T, every time.Duration) (*statsSampler, <-chan struct{}) {
	t.Helper()
	s := newStatsSampler(every)
	rounds := make(chan struct{})
	stopped := make(chan struct{})
	s.afterRound = func() {
		select {
		case rounds <- struct{}{}:
		case <-stopped:
		}
	}
	s.start()
	t.Cleanup(func() {
		close(stopped)
		s.close()
	})
	return s, rounds
}

// waitRounds waits for n rounds of the sampler, or fails after a bound
// that only a stuck sampler reaches.
func waitRounds(t *testing.T, rounds <-chan struct{}, n int) {
	t.Helper()
	timeout := time.After(time.Minute)
	for range n {
		select {
		case <-rounds:
		case <-timeout:
			t.Fatalf("the sampler did not do %d rounds in a minute", n)
		}
	}
}

func TestSamplerMeasuresCPUAndMemory(t *testing.T) {
	burn := startStatsChild(t, "burn")
	alloc := startStatsChild(t, "alloc")
	s, rounds := startSampler(t, 200*time.Millisecond)
	s.track([]procRef{burn.ref(), alloc.ref()})

	// The machine may be busy: the spinning child gets a good share of a
	// CPU within a few periods, not necessarily all of one.
	const busy = 0.3
	var cpu float64
	for range 100 {
		waitRounds(t, rounds, 1)
		var ok bool
		if cpu, _, ok = s.stats(burn.cmd.Process.Pid); ok && cpu > busy {
			break
		}
	}
	if cpu <= busy {
		t.Errorf("spinning child's CPU share %.2f, want above %.2f", cpu, busy)
	}
	_, rss, ok := s.stats(alloc.cmd.Process.Pid)
	if !ok || rss < allocMiB<<20 {
		t.Errorf("allocating child: RSS %d (sampled %t), want at least %d", rss, ok, allocMiB<<20)
	}
	if _, _, ok := s.stats(os.Getpid()); ok {
		t.Errorf("an untracked pid has stats")
	}
}

func TestSamplerDropsExitedProcesses(t *testing.T) {
	zombie := startStatsChild(t, "alloc")
	reaped := startStatsChild(t, "alloc")
	s, rounds := startSampler(t, 50*time.Millisecond)
	s.track([]procRef{zombie.ref(), reaped.ref()})
	s.sampleNew()
	for _, c := range []*statsChildProcess{zombie, reaped} {
		if _, rss, ok := s.stats(c.cmd.Process.Pid); !ok || rss == 0 {
			t.Fatalf("a running child has no stats: RSS %d, sampled %t", rss, ok)
		}
	}

	// One exits and is not reaped yet (a zombie), the other is reaped:
	// neither has stats after the next round, though both are tracked.
	if err := zombie.stdin.Close(); err != nil {
		t.Fatal(err)
	}
	if err := reaped.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = reaped.cmd.Wait()
	zombieExited(t, zombie.cmd.Process.Pid)
	waitRounds(t, rounds, 2)
	for name, c := range map[string]*statsChildProcess{"zombie": zombie, "reaped": reaped} {
		if cpu, rss, ok := s.stats(c.cmd.Process.Pid); ok {
			t.Errorf("%s child still has stats: CPU %.2f, RSS %d", name, cpu, rss)
		}
	}

	// Untracked, they are forgotten.
	s.track(nil)
	s.mu.Lock()
	n := len(s.procs)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("the sampler holds %d processes after tracking none", n)
	}
}

// zombieExited waits until the child pid has exited, without reaping it.
func zombieExited(t *testing.T, pid int) {
	t.Helper()
	if err := waitExitedNotReaped(pid); err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotHasStatsOfRunningProcesses(t *testing.T) {
	s := testSpec(t, `process "idle" {
  command     = [TESTNODE, "wait"]
  description = "waits to be stopped"
}`)
	tr, _ := startTree(t, s)
	select {
	case <-tr.Ready():
	case <-tr.Done():
		t.Fatalf("the tree ended: %+v", tr.Wait())
	}
	rows := tr.Snapshot()
	if len(rows) != 1 || !rows[0].HasStats || rows[0].RSS == 0 || rows[0].Description != "waits to be stopped" {
		t.Fatalf("running tree's rows: %+v", rows)
	}
	tr.Stop()
	res := tr.Wait()
	if rows := tr.Snapshot(); rows[0].HasStats || rows[0].RSS != 0 || res.Rows[0].HasStats {
		t.Errorf("ended tree's rows have stats: %+v, result %+v", rows, res.Rows)
	}
	// What the run used stays, for the summary.
	if r := res.Rows[0]; !r.HasUsage || r.PeakRSS < rows[0].RSS {
		t.Errorf("ended tree's usage: %+v, want the run's, with a peak RSS of at least %d", r, rows[0].RSS)
	}
}

// A run's usage outlives its tracking, for the summary: CPU time up to its
// last sample and the largest RSS of any sample.
func TestSamplerKeepsUsageOfRetiredRuns(t *testing.T) {
	alloc := startStatsChild(t, "alloc")
	s, _ := startSampler(t, time.Hour)
	s.track([]procRef{alloc.ref()})
	s.sampleNew()
	_, rss, ok := s.stats(alloc.cmd.Process.Pid)
	if !ok {
		t.Fatal("no stats of a running child")
	}
	s.track(nil)
	cpu, peak, ok := s.usage(alloc.ref())
	if !ok || peak != rss || cpu < 0 {
		t.Fatalf("retired run's usage: CPU %v, peak %d (sampled %t), want peak %d", cpu, peak, ok, rss)
	}
	if _, _, ok := s.usage(procRef{pid: alloc.cmd.Process.Pid}); ok {
		t.Error("another run of the same pid has usage")
	}
	for i := range maxRetired + 10 {
		s.mu.Lock()
		s.retired = append(s.retired, procStats{ref: procRef{pid: -i - 1}, peakRSS: 1})
		s.mu.Unlock()
		s.track(nil)
	}
	s.mu.Lock()
	kept := len(s.retired)
	s.mu.Unlock()
	if kept > maxRetired {
		t.Errorf("%d retired runs kept, bound %d", kept, maxRetired)
	}
}
