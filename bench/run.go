package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"time"
)

// Workloads, as -work names them.
const (
	workRoundTrip  = "rt"
	workOneWay     = "oneway"
	workConcurrent = "concurrent"
	workAllocs     = "allocs"
	workCold       = "cold"
	workIdle       = "idle"
	workChain      = "chain"
)

func workloadNames() []string {
	return []string{workRoundTrip, workOneWay, workConcurrent, workAllocs, workCold, workIdle, workChain}
}

// idlePipes is how many pipes the idle measurement makes.
const (
	idlePipes      = 2000
	idlePipesQuick = 200
)

// results holds every value measured: metric, then contender key, then
// one value per repetition (or per cold start).
type results struct {
	values  map[string]map[string][]float64
	reps    int
	elapsed time.Duration
}

func (r *results) add(metric, contender string, v float64) {
	m := r.values[metric]
	if m == nil {
		m = map[string][]float64{}
		r.values[metric] = m
	}
	m[contender] = append(m[contender], v)
}

// Metric names.
func rtMetric(q string, size int) string   { return "rt." + q + "." + strconv.Itoa(size) }
func owMetric(u string, size int) string   { return "ow." + u + "." + strconv.Itoa(size) }
func idleMetric(kind, u string) string     { return "idle." + kind + "." + u }
func allocMetric(what, side string) string { return "alloc." + what + "." + side }

const (
	metricConcShared  = "conc.shared"
	metricConcMany    = "conc.many"
	metricCold        = "cold"
	metricChainMoved  = "chain.travelled"
	metricChainDirect = "chain.direct"
)

// runAll runs every repetition: each runs every chosen contender, in an
// order rotated by one per repetition, then the chain.
func runAll(ctx context.Context, cfg *config, log io.Writer) (*results, error) {
	stopProfile, err := startProfile(cfg.profile, "parent")
	if err != nil {
		return nil, err
	}
	res := &results{values: map[string]map[string][]float64{}, reps: cfg.reps}
	var chosen []*contender
	for _, c := range contenders() {
		if len(cfg.only) == 0 || cfg.only[c.key] {
			chosen = append(chosen, c)
		}
	}
	for rep := range cfg.reps {
		for i := range chosen {
			c := chosen[(i+rep)%len(chosen)]
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			fmt.Fprintf(log, "repetition %d/%d: %s\n", rep+1, cfg.reps, c.name)
			if err := runContender(ctx, cfg, c, res, log); err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
		}
		if cfg.wants("mage-pipe", workChain) || cfg.wants("mage-typed", workChain) {
			fmt.Fprintf(log, "repetition %d/%d: chain\n", rep+1, cfg.reps)
			if err := runChain(ctx, cfg, res); err != nil {
				return nil, fmt.Errorf("chain: %w", err)
			}
		}
	}
	if err := stopProfile(); err != nil {
		return nil, err
	}
	return res, nil
}

// runContender runs the session workloads of c, then its cold starts.
func runContender(ctx context.Context, cfg *config, c *contender, res *results, log io.Writer) error {
	var sessionWork bool
	for _, w := range []string{workRoundTrip, workOneWay, workConcurrent, workAllocs, workIdle} {
		sessionWork = sessionWork || cfg.wants(c.key, w)
	}
	if sessionWork {
		s, err := c.start(ctx, concurrency, cfg.profile)
		if err != nil {
			return err
		}
		err = runSession(cfg, c, s, res, log)
		if cerr := s.close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if cfg.wants(c.key, workCold) {
		for range cfg.cold {
			d, err := coldStart(ctx, c)
			if err != nil {
				return err
			}
			res.add(metricCold, c.key, float64(d)/float64(time.Millisecond))
		}
	}
	return nil
}

// coldStart is the time from spawning a child to the end of its first
// round trip.
func coldStart(ctx context.Context, c *contender) (time.Duration, error) {
	t := time.Now()
	s, err := c.start(ctx, 1, "")
	if err != nil {
		return 0, err
	}
	err = s.client(0).call(make([]byte, 16))
	d := time.Since(t)
	if cerr := s.close(); err == nil {
		err = cerr
	}
	return d, err
}

// runSession runs the workloads that need one session of c.
func runSession(cfg *config, c *contender, s session, res *results, log io.Writer) error {
	if c.lockThread {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	main := s.client(0)
	if cfg.wants(c.key, workRoundTrip) {
		for _, size := range cfg.sizes {
			rt, err := measureRoundTrip(main, size, cfg.duration)
			if err != nil {
				return err
			}
			res.add(rtMetric("p50", size), c.key, us(rt.p50))
			res.add(rtMetric("p99", size), c.key, us(rt.p99))
			fmt.Fprintf(log, "  round trip %7d B: p50 %8.1f us  p99 %8.1f us  (%d calls)\n", size, us(rt.p50), us(rt.p99), rt.n)
		}
	}
	if cfg.wants(c.key, workOneWay) {
		for _, size := range cfg.sizes {
			ow, err := measureOneWay(main, size, cfg.duration)
			if err != nil {
				return err
			}
			res.add(owMetric("msgs", size), c.key, ow.msgsPerSec)
			res.add(owMetric("mbs", size), c.key, ow.mbPerSec)
			fmt.Fprintf(log, "  one-way    %7d B: %10.0f msg/s %8.1f MB/s  (%d messages)\n", size, ow.msgsPerSec, ow.mbPerSec, ow.n)
		}
	}
	if cfg.wants(c.key, workConcurrent) {
		shared := main
		if !c.multiplexed {
			shared = &serialClient{c: main}
		}
		one := make([]client, concurrency)
		many := make([]client, concurrency)
		for i := range one {
			one[i], many[i] = shared, s.client(i)
		}
		for _, m := range []struct {
			metric  string
			clients []client
		}{{metricConcShared, one}, {metricConcMany, many}} {
			rate, err := measureConcurrent(m.clients, c.lockThread, cfg.duration)
			if err != nil {
				return err
			}
			res.add(m.metric, c.key, rate)
			fmt.Fprintf(log, "  %d callers (%s): %.0f calls/s\n", concurrency, m.metric, rate)
		}
	}
	if cfg.wants(c.key, workAllocs) {
		if err := runAllocs(cfg, c, s, res, log); err != nil {
			return err
		}
	}
	if c.key == "mage-typed" && cfg.wants(c.key, workIdle) {
		if err := runIdle(cfg, s.control(), res, log); err != nil {
			return err
		}
	}
	return nil
}

func runAllocs(cfg *config, c *contender, s session, res *results, log io.Writer) error {
	main := s.client(0)
	p := make([]byte, 16)
	rt, err := measureAllocs(s.control(), cfg.duration, func() error { return main.call(p) }, nil)
	if err != nil {
		return err
	}
	acked := func(n int) error {
		got, err := main.sync()
		if err == nil && got != int64(n) {
			err = fmt.Errorf("%w: the child counted %d messages of %d", errWorkload, got, n)
		}
		return err
	}
	ow, err := measureAllocs(s.control(), cfg.duration, func() error { return main.push(p) }, acked)
	if err != nil {
		return err
	}
	// A medium payload (more than fits a pooled message's own block):
	// what a typed request with a string or some data costs.
	p1k := make([]byte, 1024)
	ow1k, err := measureAllocs(s.control(), cfg.duration, func() error { return main.push(p1k) }, acked)
	if err != nil {
		return err
	}
	// The ack carries no strings or arrays either way (Sync() => (long)):
	// the calls the zero-allocation target is about.
	ack, err := measureAllocs(s.control(), cfg.duration, func() error {
		_, err := main.sync()
		return err
	}, nil)
	if err != nil {
		return err
	}
	res.add(allocMetric("ack", "parent"), c.key, ack.parent)
	res.add(allocMetric("ack", "child"), c.key, ack.child)
	res.add(allocMetric("rt", "parent"), c.key, rt.parent)
	res.add(allocMetric("rt", "child"), c.key, rt.child)
	res.add(allocMetric("ow", "parent"), c.key, ow.parent)
	res.add(allocMetric("ow", "child"), c.key, ow.child)
	res.add(allocMetric("ow1k", "parent"), c.key, ow1k.parent)
	res.add(allocMetric("ow1k", "child"), c.key, ow1k.child)
	fmt.Fprintf(log, "  allocations per 16 B round trip: caller %.1f callee %.1f; per ack (no arrays): caller %.1f callee %.1f; per one-way message: sender %.1f receiver %.1f (1 KiB: %.1f, %.1f)\n",
		rt.parent, rt.child, ack.parent, ack.child, ow.parent, ow.child, ow1k.parent, ow1k.child)
	return nil
}

func runIdle(cfg *config, ctl *control, res *results, log io.Writer) error {
	n := idlePipes
	if cfg.quick {
		n = idlePipesQuick
	}
	for _, kind := range []string{idlePipe, idleReceiver, idleRemote} {
		v, err := ctl.askFloats(fmt.Sprintf("idle %s %d", kind, n), 2)
		if err != nil {
			return err
		}
		res.add(idleMetric(kind, "bytes"), "mage-typed", v[0])
		res.add(idleMetric(kind, "goroutines"), "mage-typed", v[1])
		fmt.Fprintf(log, "  idle %s: %.0f B and %.2f goroutines per pipe\n", kind, v[0], v[1])
	}
	return nil
}

// chainBlocks is how many alternating blocks the chain's round trips run
// in, so that both pipes see the same machine.
const chainBlocks = 10

func runChain(ctx context.Context, cfg *config, res *results) error {
	s, err := startChain(ctx, "")
	if err != nil {
		return err
	}
	var moved, direct []float64
	for range chainBlocks {
		for _, side := range []struct {
			c   client
			out *[]float64
		}{{s.travelled, &moved}, {s.dir, &direct}} {
			rt, err := measureRoundTrip(side.c, 16, cfg.duration/chainBlocks)
			if err != nil {
				return errors.Join(err, s.close())
			}
			*side.out = append(*side.out, us(rt.p50))
		}
	}
	if err := s.close(); err != nil {
		return err
	}
	res.add(metricChainMoved, "mage-pipe", median(moved))
	res.add(metricChainDirect, "mage-pipe", median(direct))
	return nil
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
