package main

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"
)

// defaultSizes are the payload sizes of the round-trip and one-way
// workloads; -sizes chooses others.
var defaultSizes = []int{16, 1 << 10, 64 << 10, 1 << 20}

// Bounds of the measurement loops. Every loop also stops at a time bound.
const (
	minSamples = 20      // round trips per size, even past the duration (up to 4x it)
	maxSamples = 200_000 // round trips per size
	warmup     = 20      // unmeasured round trips per size
	// The one-way sender waits for an ack (sync) every windowMsgs messages
	// or windowBytes bytes, whichever comes first, so that no contender
	// queues without bound; the final ack makes the time honest.
	windowMsgs  = 4096
	windowBytes = 32 << 20
	// concurrency is the number of concurrent callers.
	concurrency = 8
	// allocOps bounds the operations of the allocation count.
	allocOps = 5000
)

var errWorkload = errors.New("bench: workload")

// roundTrip is what a round-trip loop measured.
type roundTrip struct {
	p50, p99 time.Duration
	n        int
}

// measureRoundTrip calls c with a payload of size for about d and returns
// the latency percentiles.
func measureRoundTrip(c client, size int, d time.Duration) (roundTrip, error) {
	p := make([]byte, size)
	for range warmup {
		if err := c.call(p); err != nil {
			return roundTrip{}, fmt.Errorf("%w: round trip %d B (warm-up): %w", errWorkload, size, err)
		}
	}
	samples := make([]time.Duration, 0, 1024)
	start := time.Now()
	for {
		t := time.Now()
		if err := c.call(p); err != nil {
			return roundTrip{}, fmt.Errorf("%w: round trip %d B: %w", errWorkload, size, err)
		}
		now := time.Now()
		samples = append(samples, now.Sub(t))
		elapsed := now.Sub(start)
		if (elapsed >= d && len(samples) >= minSamples) || elapsed >= 4*d || len(samples) >= maxSamples {
			break
		}
	}
	slices.Sort(samples)
	return roundTrip{p50: percentile(samples, 0.50), p99: percentile(samples, 0.99), n: len(samples)}, nil
}

// percentile of sorted samples, nearest rank.
func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

// oneWay is what a one-way loop measured.
type oneWay struct {
	msgsPerSec, mbPerSec float64
	n                    int64
}

// measureOneWay pushes payloads of size at c for about d, acking every
// window and once at the end, and returns the rates. Every ack's count must
// match what was pushed.
func measureOneWay(c client, size int, d time.Duration) (oneWay, error) {
	p := make([]byte, size)
	var pushed, inWindow int64
	var windowed int
	ack := func() error {
		got, err := c.sync()
		if err != nil {
			return fmt.Errorf("%w: one-way %d B: ack: %w", errWorkload, size, err)
		}
		if got != inWindow {
			return fmt.Errorf("%w: one-way %d B: the child counted %d messages of %d", errWorkload, size, got, inWindow)
		}
		inWindow, windowed = 0, 0
		return nil
	}
	// Warm up with one short window: 64 messages, or fewer when they
	// would pass windowBytes (64 of 1 MiB reach mage's default bound on
	// bytes queued toward a node when the child is slow to start reading,
	// and the push fails with ErrPeerBackedUp).
	for range max(1, min(64, windowBytes/max(size, 1))) {
		if err := c.push(p); err != nil {
			return oneWay{}, fmt.Errorf("%w: one-way %d B: %w", errWorkload, size, err)
		}
		inWindow++
	}
	if err := ack(); err != nil {
		return oneWay{}, err
	}
	start := time.Now()
	for {
		if err := c.push(p); err != nil {
			return oneWay{}, fmt.Errorf("%w: one-way %d B: %w", errWorkload, size, err)
		}
		pushed++
		inWindow++
		windowed += size
		if inWindow >= windowMsgs || windowed >= windowBytes {
			if err := ack(); err != nil {
				return oneWay{}, err
			}
		}
		if pushed%16 == 0 && time.Since(start) >= d {
			break
		}
	}
	if err := ack(); err != nil {
		return oneWay{}, err
	}
	secs := time.Since(start).Seconds()
	return oneWay{msgsPerSec: float64(pushed) / secs, mbPerSec: float64(pushed) * float64(size) / secs / 1e6, n: pushed}, nil
}

// serialClient lets concurrent callers share a client that cannot be
// shared: they take turns.
type serialClient struct {
	mu sync.Mutex
	c  client
}

func (s *serialClient) call(p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c.call(p)
}

func (s *serialClient) push(p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c.push(p)
}

func (s *serialClient) sync() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c.sync()
}

// measureConcurrent runs concurrency callers of 16-byte round trips for
// about d, caller i on clients[i], and returns the calls per second of all.
func measureConcurrent(clients []client, lockThread bool, d time.Duration) (float64, error) {
	var wg sync.WaitGroup
	counts := make([]int, len(clients))
	errs := make([]error, len(clients))
	start := time.Now()
	deadline := start.Add(d)
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if lockThread {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
			p := make([]byte, 16)
			for time.Now().Before(deadline) {
				if err := c.call(p); err != nil {
					errs[i] = fmt.Errorf("%w: concurrent caller %d: %w", errWorkload, i, err)
					return
				}
				counts[i]++
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	return float64(total) / time.Since(start).Seconds(), nil
}

// allocs is the heap allocations per operation in each process.
type allocs struct{ parent, child float64 }

// measureAllocs counts the heap allocations of up to allocOps operations
// (bounded by d too) in the parent and, through the control socket, in the
// child; finish, if not nil, runs after the last operation and before the
// counts are read, and is charged to the operations. The same operations
// run once uncounted before, so that the counts are the steady state's: a
// contender's pools (mage's pooled Messages, say) grow once to what the
// workload keeps in flight (a one-way stream, a window of messages), and
// that growth is start-up, not a cost per message.
func measureAllocs(ctl *control, d time.Duration, op func() error, finish func(n int) error) (allocs, error) {
	if _, err := runOps(d, op, finish); err != nil {
		return allocs{}, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	parent0 := ms.Mallocs
	child0, err := ctl.mallocs()
	if err != nil {
		return allocs{}, err
	}
	n, err := runOps(d, op, finish)
	if err != nil {
		return allocs{}, err
	}
	runtime.ReadMemStats(&ms)
	child1, err := ctl.mallocs()
	if err != nil {
		return allocs{}, err
	}
	// The control command itself allocates a little in the child; over
	// thousands of operations it is noise.
	return allocs{parent: float64(ms.Mallocs-parent0) / float64(n), child: float64(child1-child0) / float64(n)}, nil
}

// runOps runs op up to allocOps times, for d at most, then finish, and
// returns how many ops ran.
func runOps(d time.Duration, op func() error, finish func(n int) error) (int, error) {
	n := 0
	deadline := time.Now().Add(d)
	for n < allocOps && time.Now().Before(deadline) {
		if err := op(); err != nil {
			return n, fmt.Errorf("%w: allocations: %w", errWorkload, err)
		}
		n++
	}
	if finish != nil {
		if err := finish(n); err != nil {
			return n, fmt.Errorf("%w: allocations: %w", errWorkload, err)
		}
	}
	return n, nil
}
