package tree

import (
	"slices"
	"time"

	"github.com/mage-ipc/mage/launcher"
	"github.com/mage-ipc/mage/mage"
)

// Row is one instance as the tree last published it.
type Row struct {
	Instance string
	Process  string
	// Depth is the instance's depth in the tree, 0 at the top level.
	Depth    int
	State    State
	Outcome  Outcome
	Pid      int
	Restarts int
	// Ready is set while the current run is ready; EverReady once any run
	// was, and ReadyAfter is how long the last one that was took.
	Ready      bool
	EverReady  bool
	ReadyAfter time.Duration
	// Since is when the current run accepted its invitation; zero when
	// none runs.
	Since time.Time
	// Node is the name of the node of the current or last run, for its
	// counters; zero before the first run accepted its invitation.
	Node mage.NodeName
	// LastExit is how the last run ended, if one did.
	LastExit *launcher.Exit
	// run names the current run's process, for its usage.
	run procRef
	// CPU is the share of one CPU the current run's process used over
	// the last sampling period (0.5 is half a core), and RSS its resident
	// memory in bytes; both are zero while no run is sampled (HasStats
	// false).
	CPU      float64
	RSS      uint64
	HasStats bool
	// CPUTime is the CPU time the instance's processes used, over every
	// run, up to each one's last sample, and PeakRSS the largest resident
	// memory a sample of any of them saw; valid when HasUsage. The
	// summary shows them, since a process that ended has no CPU or RSS.
	CPUTime  time.Duration
	PeakRSS  uint64
	HasUsage bool
	// Description is the process's description from the spec, if any:
	// what it does, in a few words, for the view.
	Description string
}

// Result is how a tree ended.
type Result struct {
	// Rows are the instances, in tree order.
	Rows []Row
	// Failed lists the instances that failed for good, in the order they
	// did, except that a required instance whose failure stopped the tree
	// comes first.
	Failed []Row
	// StoppedByRequired is set when a required instance's failure
	// stopped the tree: it is Failed[0].
	StoppedByRequired bool
}

// Snapshot returns every instance, in tree order: each before its
// children, siblings in the order they were made. A running process's
// row has its latest CPU and memory sample (a process seen for the first
// time is sampled at once).
func (t *Tree) Snapshot() []Row {
	t.stats.sampleNew()
	t.snapMu.Lock()
	rows := append([]Row(nil), t.snapshot...)
	t.snapMu.Unlock()
	for i := range rows {
		r := &rows[i]
		if r.Pid != 0 {
			r.CPU, r.RSS, r.HasStats = t.stats.stats(r.Pid)
			if cpu, peak, ok := t.stats.usage(r.run); ok {
				r.CPUTime += cpu
				r.PeakRSS = max(r.PeakRSS, peak)
				r.HasUsage = true
			}
		}
	}
	return rows
}

// publish makes the loop's state visible to Snapshot, and tells the
// sampler which processes run.
func (t *Tree) publish() {
	rows := t.rows()
	var running []procRef
	for _, in := range t.all {
		if in.child != nil {
			running = append(running, procRef{pid: in.child.Pid(), launchedAt: in.launchedAt})
		}
	}
	t.stats.track(running)
	t.snapMu.Lock()
	t.snapshot = rows
	t.snapMu.Unlock()
}

func (t *Tree) rows() []Row {
	rows := make([]Row, 0, len(t.all))
	var add func(in *instance, depth int)
	add = func(in *instance, depth int) {
		rows = append(rows, t.row(in, depth))
		for _, c := range in.children {
			add(c, depth+1)
		}
	}
	for _, in := range t.roots {
		add(in, 0)
	}
	return rows
}

func (t *Tree) row(in *instance, depth int) Row {
	r := Row{
		Instance:    in.name,
		Process:     in.block.Name,
		Depth:       depth,
		State:       in.state,
		Outcome:     in.outcome,
		Restarts:    in.restarts,
		LastExit:    in.lastExit,
		Node:        in.node,
		Ready:       in.ready,
		EverReady:   in.everReady,
		ReadyAfter:  in.readyAfter,
		Description: in.block.Description,
		CPUTime:     in.pastCPU,
		PeakRSS:     in.peakRSS,
		HasUsage:    in.hasUsage,
	}
	if in.child != nil {
		r.Pid = in.child.Pid()
		r.Since = in.startedAt
		r.run = procRef{pid: r.Pid, launchedAt: in.launchedAt}
	}
	return r
}

func (t *Tree) computeResult() Result {
	res := Result{Rows: t.rows()}
	failures := t.failures
	if req := t.requiredFailed; req != nil {
		res.StoppedByRequired = true
		failures = append([]*instance{req}, slices.DeleteFunc(slices.Clone(failures), func(in *instance) bool { return in == req })...)
	}
	for _, in := range failures {
		for _, r := range res.Rows {
			if r.Instance == in.name {
				res.Failed = append(res.Failed, r)
			}
		}
	}
	return res
}

// StateText is the row's state as people read it: how it ended, "ready"
// for a ready run, or its State.
func StateText(r Row) string {
	switch {
	case r.State == StateEnded:
		return r.Outcome.String()
	case r.State == StateRunning && r.Ready:
		return "ready"
	}
	return r.State.String()
}
