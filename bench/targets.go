package main

import (
	"fmt"
	"strings"
)

// A target of issue 9: a ratio between two medians and the bound it must
// meet.
type target struct {
	text string
	// num and den are (metric, contender) pairs; ratio is num/den.
	num, den [2]string
	// atMost: the ratio must be <= bound; otherwise >= bound.
	atMost bool
	bound  float64
}

func issueTargets() []target {
	rt := rtMetric("p50", 16)
	ow16 := owMetric("msgs", 16)
	m := "mage-typed"
	// mi is mage typed with its Receivers dispatching inline, the opt-in
	// for implementations that never block.
	mi := "mage-typed-inline"
	return []target{
		{"round trip 16 B p50: mage typed no slower than raw net.UnixConn", [2]string{rt, m}, [2]string{rt, "raw"}, true, 1},
		{"round trip 16 B p50: mage typed, inline dispatch, no slower than raw net.UnixConn", [2]string{rt, mi}, [2]string{rt, "raw"}, true, 1},
		{"round trip 16 B p50: ttrpc / mage typed, inline dispatch, at least 2", [2]string{rt, "ttrpc"}, [2]string{rt, mi}, false, 2},
		{"round trip 16 B p50: mage pipe no slower than raw net.UnixConn", [2]string{rt, "mage-pipe"}, [2]string{rt, "raw"}, true, 1},
		{"round trip 16 B p50: mage typed at most 2x raw blocking syscalls", [2]string{rt, m}, [2]string{rt, "raw-blocking"}, true, 2},
		{"round trip 16 B p50: ttrpc / mage typed at least 2", [2]string{rt, "ttrpc"}, [2]string{rt, m}, false, 2},
		{"round trip 16 B p50: net/rpc / mage typed at least 2", [2]string{rt, "netrpc"}, [2]string{rt, m}, false, 2},
		{"round trip 16 B p50: go-plugin gRPC / mage typed at least 5", [2]string{rt, "goplugin"}, [2]string{rt, m}, false, 5},
		{"one-way 16 B: mage typed at least 5x go-plugin gRPC", [2]string{ow16, m}, [2]string{ow16, "goplugin"}, false, 5},
		{"one-way 16 B: mage typed at least 20x net/rpc", [2]string{ow16, m}, [2]string{ow16, "netrpc"}, false, 20},
		{"one-way 64 KiB MB/s: mage typed at least 70% of raw", [2]string{owMetric("mbs", 64<<10), m}, [2]string{owMetric("mbs", 64<<10), "raw"}, false, 0.7},
		{"one-way 1 MiB MB/s: mage typed at least 70% of raw", [2]string{owMetric("mbs", 1<<20), m}, [2]string{owMetric("mbs", 1<<20), "raw"}, false, 0.7},
		{"one-way 1 MiB MB/s: mage pipe at least 70% of raw", [2]string{owMetric("mbs", 1<<20), "mage-pipe"}, [2]string{owMetric("mbs", 1<<20), "raw"}, false, 0.7},
		{"8 callers on one Remote: mage typed at least 3x go-plugin gRPC", [2]string{metricConcShared, m}, [2]string{metricConcShared, "goplugin"}, false, 3},
		{"8 callers on 8 Remotes: mage typed no lower than raw with 8 sockets", [2]string{metricConcMany, m}, [2]string{metricConcMany, "raw"}, false, 1},
		{"8 callers on one Remote: mage typed no lower than raw (one socket, callers take turns)", [2]string{metricConcShared, m}, [2]string{metricConcShared, "raw"}, false, 1},
		{"cold start: mage typed at most 1.3x raw", [2]string{metricCold, m}, [2]string{metricCold, "raw"}, true, 1.3},
		{"cold start: go-plugin / mage typed at least 3", [2]string{metricCold, "goplugin"}, [2]string{metricCold, m}, false, 3},
		{"collapsed chain within 10% of direct", [2]string{metricChainMoved, "mage-pipe"}, [2]string{metricChainDirect, "mage-pipe"}, true, 1.1},
	}
}

// absolute targets: a value against a bound, not a ratio.
type absTarget struct {
	text   string
	metric string
	key    string
	bound  float64
	format func(float64) string
}

func issueAbsTargets() []absTarget {
	return []absTarget{
		{"heap allocations per 16 B round trip, mage pipe caller: 0", allocMetric("rt", "parent"), "mage-pipe", 0, fmtCount},
		{"heap allocations per 16 B round trip, mage pipe callee: 0", allocMetric("rt", "child"), "mage-pipe", 0, fmtCount},
		{"heap allocations per call without strings or arrays (the ack), mage typed caller: 0", allocMetric("ack", "parent"), "mage-typed", 0, fmtCount},
		{"heap allocations per call without strings or arrays (the ack), mage typed callee: 0", allocMetric("ack", "child"), "mage-typed", 0, fmtCount},
		{"idle pipe with a bound Receiver: at most 1 KiB", idleMetric(idleReceiver, "bytes"), "mage-typed", 1024, fmtBytes},
		{"idle pipe with a bound Receiver: no goroutine", idleMetric(idleReceiver, "goroutines"), "mage-typed", 0, fmtCount},
	}
}

// targets is the markdown list of targets, met or not, with the numbers.
func (r *report) targets() string {
	var b strings.Builder
	b.WriteString("| target | ratio | met |\n|---|---|---|\n")
	for _, t := range issueTargets() {
		num, ok1 := r.res.med(t.num[0], t.num[1])
		den, ok2 := r.res.med(t.den[0], t.den[1])
		if !ok1 || !ok2 || den == 0 {
			continue
		}
		ratio := num / den
		met := ratio >= t.bound
		if t.atMost {
			met = ratio <= t.bound
		}
		fmt.Fprintf(&b, "| %s | %.2f | %s |\n", t.text, ratio, yesNo(met))
	}
	for _, t := range issueAbsTargets() {
		v, ok := r.res.med(t.metric, t.key)
		if !ok {
			continue
		}
		// Allocation and goroutine counts are averages: below 0.05 is none.
		met := v <= t.bound+0.05
		fmt.Fprintf(&b, "| %s | %s | %s |\n", t.text, t.format(v), yesNo(met))
	}
	return b.String()
}

func yesNo(met bool) string {
	if met {
		return "met"
	}
	return "**not met**"
}
