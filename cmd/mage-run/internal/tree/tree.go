package tree

import (
	"io"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/spec"
	"github.com/mage-ipc/mage/mage"
)

// Options configures a Tree.
type Options struct {
	// Spec is the tree to run. It must have been validated (spec.Parse).
	Spec *spec.Spec
	// Node is this process's node, the tree's broker. Nil means
	// mage.DefaultNode.
	Node *mage.Node
	// Logger receives the tree's logs, and each process's stderr and
	// stdout lines through a sub-logger named after the instance. Nil
	// means no logging.
	Logger hclog.Logger
	// Env is added to the environment of every process, after mage-run's
	// own and before the spec's env.
	Env []string
	// AcceptTimeout, when positive, bounds the wait for every started
	// process to accept its invitation instead of its spec's
	// accept_timeout.
	AcceptTimeout time.Duration
	// Observe, when not nil, is called on the tree's goroutine for every
	// change of an instance's state. It must not block for long.
	Observe func(Event)
	// Stdout, when not nil, receives the processes' standard output as it
	// is (no log file, no Output, no line probe sees it); nil re-emits
	// each line through the instance's logger.
	Stdout io.Writer
	// Output, when not nil, receives every line the processes write to
	// stdout and stderr (without its newline, cut at 64 KiB), which the
	// logger then does not: a console that prints them itself. It is
	// called on the goroutines reading the processes' output, and must not
	// block for long.
	Output func(instance string, stream Stream, line []byte)
	// Names, when not nil, is where the tree records which node is which
	// instance, and how its logs name nodes; nil makes a map of its own.
	Names *NodeNames
}

// Event is a change in one instance's life.
type Event struct {
	Time     time.Time
	Instance string
	State    State
	Outcome  Outcome
	Pid      int
	Restarts int
	// Ready is set while the run is ready.
	Ready bool
	// Detail says more, in words: how the process exited, when it
	// restarts, why it failed to start.
	Detail string
}

// Tree is a running tree of processes. Start makes one; it runs until
// every process has ended for good, by itself, after Stop, or after Kill.
//
// Every method is safe for concurrent use.
type Tree struct {
	opts Options
	node *mage.Node
	log  hclog.Logger
	// names turns node names in log lines into instance names.
	names *NodeNames

	// events carries what other goroutines tell the loop; see send.
	events chan event
	stopc  chan struct{}
	killc  chan struct{}
	// ready is closed once every instance that starts with the tree has
	// run (or ended); readyClosed is the loop's note that it was.
	ready       chan struct{}
	readyClosed bool
	// done is closed when the loop has ended and every goroutine it
	// started has returned.
	done     chan struct{}
	stopOnce sync.Once
	killOnce sync.Once
	// workers counts goroutines the loop started that may outlive an
	// event (stops, starts); the loop waits for them before closing done.
	workers sync.WaitGroup

	// The loop's own state; no other goroutine touches it.
	roots    []*instance
	all      []*instance
	links    map[linkKey]*link
	stopping bool
	// failures lists the instances that failed for good, in order.
	failures []*instance
	// requiredFailed is the required instance whose failure stopped the
	// tree, if one did.
	requiredFailed *instance

	// stats samples the CPU and memory of the running processes; publish
	// tells it which they are, Snapshot reads it.
	stats *statsSampler

	// snapMu guards snapshot and result, which the loop publishes for
	// other goroutines.
	snapMu   sync.Mutex
	snapshot []Row
	result   Result
}

// event is something for the loop to apply to the tree.
type event interface {
	apply(t *Tree)
}

// Start starts the tree's top-level processes and returns at once; the
// rest happens on the tree's own goroutine.
func Start(opts Options) *Tree {
	node := opts.Node
	if node == nil {
		node = mage.DefaultNode()
	}
	log := opts.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	names := opts.Names
	if names == nil {
		names = NewNodeNames()
	}
	names.Set(node.Name(), "mage-run")
	t := &Tree{
		opts:   opts,
		node:   node,
		log:    &namingLogger{Logger: log, names: names},
		names:  names,
		events: make(chan event),
		stopc:  make(chan struct{}),
		killc:  make(chan struct{}),
		done:   make(chan struct{}),
		ready:  make(chan struct{}),
		links:  make(map[linkKey]*link),
		stats:  newStatsSampler(statsEvery),
	}
	for _, b := range opts.Spec.Processes {
		t.roots = append(t.roots, t.newInstances(b, nil)...)
	}
	t.publish()
	t.stats.start()
	go t.loop()
	return t
}

// Stop asks the tree to shut down in order: every process is stopped
// after its children, each given its stop timeout before it is killed.
// It does not wait; use Done or Wait. Idempotent.
func (t *Tree) Stop() { t.stopOnce.Do(func() { close(t.stopc) }) }

// Kill kills every process of the tree at once. It does not wait.
// Idempotent.
func (t *Tree) Kill() { t.killOnce.Do(func() { close(t.killc) }) }

// Ready is closed once every process that starts with the tree (all but
// those launched on demand) has been ready at least once (see the
// spec's ready blocks), or finished with status 0. It is never closed
// when one ended otherwise before it was ready.
func (t *Tree) Ready() <-chan struct{} { return t.ready }

// Done is closed when every process has ended for good and the tree's
// goroutines have returned.
func (t *Tree) Done() <-chan struct{} { return t.done }

// Wait waits for Done and returns the tree's result.
func (t *Tree) Wait() Result {
	<-t.done
	t.snapMu.Lock()
	defer t.snapMu.Unlock()
	return t.result
}

// send hands ev to the loop, or drops it once the loop has ended: every
// event that matters to the loop comes before then (see finished).
func (t *Tree) send(ev event) {
	select {
	case t.events <- ev:
	case <-t.done:
	}
}

// loop runs the tree until every instance has ended for good.
func (t *Tree) loop() {
	t.startReady(t.roots)
	t.publish()
	stopc, killc := t.stopc, t.killc
	for !t.finished() {
		select {
		case ev := <-t.events:
			ev.apply(t)
		case <-stopc:
			stopc = nil
			t.beginStop()
		case <-killc:
			stopc, killc = nil, nil
			t.killAll()
		}
		t.publish()
		t.checkReady()
	}
	t.checkReady()
	t.closeLinks()
	for _, in := range t.all {
		in.logs.close()
		in.file.close()
	}
	t.snapMu.Lock()
	t.result = t.computeResult()
	t.snapMu.Unlock()
	// Stop calls finish on their own once their process is reaped, which
	// it is by now.
	t.workers.Wait()
	t.stats.close()
	close(t.done)
}

// finished reports whether every instance has ended for good. An instance
// ends only after the last event about its process arrived, so then no
// event that matters is on its way.
func (t *Tree) finished() bool {
	for _, in := range t.all {
		if !in.ended() {
			return false
		}
	}
	return true
}

// checkReady closes ready once every instance made with the tree has
// been ready, or finished its work (a job that exits 0 need not stay).
// One that ended any other way before it was ready keeps the tree from
// ever being up.
func (t *Tree) checkReady() {
	if t.readyClosed {
		return
	}
	for _, in := range t.all {
		if in.launched || in.everReady || in.outcome == OutcomeFinished {
			continue
		}
		return
	}
	t.readyClosed = true
	close(t.ready)
}

// observe reports a change of in to the observer and the log.
func (t *Tree) observe(in *instance, detail string) {
	if t.opts.Observe == nil {
		return
	}
	ev := Event{
		Time:     time.Now(),
		Instance: in.name,
		State:    in.state,
		Outcome:  in.outcome,
		Restarts: in.restarts,
		Ready:    in.ready,
		Detail:   detail,
	}
	if in.child != nil {
		ev.Pid = in.child.Pid()
	}
	t.opts.Observe(ev)
}
