package tree

import (
	"context"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// statsEvery is how often the tree samples the CPU and memory of its
// running processes.
const statsEvery = time.Second

// procRef names a process to sample: its pid and when the tree launched
// it, the start of its first sampling period. The pair tells a new run
// from an old one that had the same pid.
type procRef struct {
	pid        int
	launchedAt time.Time
}

// procStats is what the sampler knows of one process.
type procStats struct {
	ref procRef
	// proc is gopsutil's handle on the process; nil when the process was
	// gone before its first sample.
	proc *process.Process
	// at and cpuSeconds are the time of the last sample and the CPU time
	// (user and system) the process had used by then; before the first
	// sample, the launch and zero.
	at         time.Time
	cpuSeconds float64
	// cpu and rss are the last sample's results, valid when sampled; gone
	// is set once the process has been found to have exited, after which
	// it is never sampled again.
	cpu     float64
	rss     uint64
	sampled bool
	gone    bool
	// peakRSS is the largest resident memory any sample saw.
	peakRSS uint64
}

// statsSampler samples the CPU and resident memory of the processes it is
// told to track, every period, on a goroutine of its own that close ends.
// It samples each process alone, not its descendants: finding those would
// mean reading every process of the machine each period.
//
// Its methods other than start and close may be called at any time,
// from any goroutine. A process that exits between samples (or is a zombie not
// reaped yet) has no stats from the next sample on, and is never sampled
// again under that ref.
type statsSampler struct {
	every time.Duration
	stop  chan struct{}
	done  chan struct{}
	// afterRound, when not nil, is called after each periodic round: a
	// hook for tests to wait on rounds instead of guessing their time.
	afterRound func()

	// sampling serialises rounds: the periodic ones and sampleNew's.
	sampling sync.Mutex

	// mu guards procs, the processes to sample by pid, and retired,
	// the last samples of processes no longer tracked (in the order
	// they were retired, at most maxRetired), for their usage.
	mu      sync.Mutex
	procs   map[int]*procStats
	retired []procStats
}

// maxRetired bounds the samples kept of processes no longer tracked: a
// run's usage is read when it ends, so only the latest few are needed.
const maxRetired = 256

// newStatsSampler returns a sampler that samples every period once start
// is called.
func newStatsSampler(every time.Duration) *statsSampler {
	return &statsSampler{
		every: every,
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		procs: make(map[int]*procStats),
	}
}

// start starts the sampling goroutine. Call it once, and close after.
func (s *statsSampler) start() {
	go func() {
		defer close(s.done)
		s.loop()
	}()
}

// close stops the sampling goroutine and waits for it. Call it once,
// after start.
func (s *statsSampler) close() {
	close(s.stop)
	<-s.done
}

func (s *statsSampler) loop() {
	ticker := time.NewTicker(s.every)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
		}
		s.round(func(*procStats) bool { return true })
		if s.afterRound != nil {
			s.afterRound()
		}
	}
}

// track makes refs the processes to sample: those already tracked under
// the same ref keep their last sample, the others start afresh, and any
// not in refs are forgotten.
func (s *statsSampler) track(refs []procRef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := make(map[int]*procStats, len(refs))
	for _, ref := range refs {
		if ps, ok := s.procs[ref.pid]; ok && ps.ref == ref {
			keep[ref.pid] = ps
			continue
		}
		keep[ref.pid] = &procStats{ref: ref, at: ref.launchedAt}
	}
	for pid, ps := range s.procs {
		if keep[pid] != ps && ps.peakRSS > 0 {
			s.retired = append(s.retired, *ps)
		}
	}
	if over := len(s.retired) - maxRetired; over > 0 {
		s.retired = append(s.retired[:0:0], s.retired[over:]...)
	}
	s.procs = keep
}

// usage returns the CPU time the run ref used, up to its last sample, and
// the largest resident memory a sample saw; ok is false when no sample of
// it was taken. It answers for a run no longer tracked too, for a while.
func (s *statsSampler) usage(ref procRef) (cpu time.Duration, peakRSS uint64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := func(ps *procStats) (time.Duration, uint64, bool) {
		return time.Duration(ps.cpuSeconds * float64(time.Second)), ps.peakRSS, ps.peakRSS > 0
	}
	if ps, tracked := s.procs[ref.pid]; tracked && ps.ref == ref {
		return found(ps)
	}
	for i := len(s.retired) - 1; i >= 0; i-- {
		if s.retired[i].ref == ref {
			return found(&s.retired[i])
		}
	}
	return 0, 0, false
}

// stats returns the last sample of the process pid: its share of one CPU
// over the last period, and its resident memory in bytes. ok is false
// when pid is not tracked, not sampled yet, or gone.
func (s *statsSampler) stats(pid int) (cpu float64, rss uint64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps, found := s.procs[pid]
	if !found || !ps.sampled || ps.gone {
		return 0, 0, false
	}
	return ps.cpu, ps.rss, true
}

// sampleNew samples at once every tracked process not sampled yet, so
// that a new process has stats from the first look at it, its CPU share
// counted since its launch.
func (s *statsSampler) sampleNew() {
	s.round(func(ps *procStats) bool { return !ps.sampled })
}

// round samples the tracked processes that want says to, and records
// the results of those still tracked under the same ref. The reads of
// the system are done without mu held.
func (s *statsSampler) round(want func(*procStats) bool) {
	s.sampling.Lock()
	defer s.sampling.Unlock()
	type job struct {
		ps   *procStats
		prev procStats
	}
	var jobs []job
	s.mu.Lock()
	for _, ps := range s.procs {
		if !ps.gone && want(ps) {
			jobs = append(jobs, job{ps, *ps})
		}
	}
	s.mu.Unlock()
	if len(jobs) == 0 {
		return
	}
	results := make([]procStats, len(jobs))
	for i, j := range jobs {
		results[i] = sample(j.prev, time.Now())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, j := range jobs {
		// A process untracked meanwhile, or tracked again under a new
		// ref, is not this one: drop its result.
		if cur, ok := s.procs[j.ps.ref.pid]; ok && cur == j.ps {
			*j.ps = results[i]
		}
	}
}

// sample reads the process's CPU time and resident memory at now and
// returns prev updated with them, or marked gone when the process has
// exited: the read fails, or it reports no resident memory at all, as a
// zombie (and on darwin a process that is gone) does.
func sample(prev procStats, now time.Time) procStats {
	next := prev
	gone := func() procStats {
		next.gone, next.sampled, next.cpu, next.rss = true, false, 0, 0
		return next
	}
	ctx := context.Background()
	if next.proc == nil {
		p, err := process.NewProcessWithContext(ctx, int32(min(next.ref.pid, math.MaxInt32)))
		if err != nil {
			return gone()
		}
		next.proc = p
	}
	times, err := next.proc.TimesWithContext(ctx)
	if err != nil {
		return gone()
	}
	mem, err := next.proc.MemoryInfoWithContext(ctx)
	if err != nil || mem.RSS == 0 {
		return gone()
	}
	cpuSeconds := times.User + times.System
	if elapsed := now.Sub(prev.at).Seconds(); elapsed > 0 {
		// No process uses more than every CPU: more is the coarse clock
		// of CPU time (10 ms on Linux) over a short first period.
		next.cpu = min(max(cpuSeconds-prev.cpuSeconds, 0)/elapsed, float64(runtime.NumCPU()))
	}
	next.at, next.cpuSeconds = now, cpuSeconds
	next.rss = mem.RSS
	next.peakRSS = max(next.peakRSS, mem.RSS)
	next.sampled = true
	return next
}
