package tree

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/spec"
	"github.com/mage-ipc/mage/launcher"
	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
)

// instance is one instance of a process block. The tree's loop owns it.
type instance struct {
	block    *spec.Process
	name     string
	replica  int // from 1 among the instances of block under parent
	parent   *instance
	children []*instance
	// args are appended to the block's command: Launch's arguments.
	args []string
	// launchedBy is the Launch request that made an on-demand instance,
	// answered once its first start succeeds or fails.
	launchedBy *launchRequest
	// launched marks an instance made by Launch, not with the tree.
	launched bool

	state   State
	outcome Outcome
	// run counts starts; events carry the run they belong to, so that an
	// event of an earlier run is recognised.
	run      int
	restarts int
	// streak counts the restarts since the last stable run (see
	// spec.Restart.ResetAfter): the limit and the backoff go by it.
	streak int
	child  *launcher.Child
	// node is the node of the current or last run.
	node      mage.NodeName
	startedAt time.Time
	// launchedAt is when the current run's process was started.
	launchedAt time.Time
	// pastCPU and peakRSS are the usage of the runs that ended (CPU time
	// up to each one's last sample, the largest resident memory seen);
	// hasUsage once one was sampled.
	pastCPU  time.Duration
	peakRSS  uint64
	hasUsage bool
	lastExit *launcher.Exit
	// earlyExit is an exit that arrived before the start's own event.
	earlyExit *launcher.Exit
	// cancelStart ends a start in progress.
	cancelStart context.CancelFunc
	// startDeadline cancels the start of an instance asked to stop while
	// starting, once its stop timeout has passed.
	startDeadline *time.Timer
	// backoff is the timer of a pending restart.
	backoff *time.Timer
	// stopWanted: mage-run is ending this instance (tree shutdown or
	// teardown); once its children have ended it is stopped, and it is
	// never restarted.
	stopWanted bool
	// restartWanted: a control request stopped the current run to start
	// it again at once.
	restartWanted bool
	// startDetail is what the next start's event says, if anything.
	startDetail string
	// restartReplies and stopReplies wait for a control restart to start
	// the instance again, and for a control stop to end it.
	restartReplies, stopReplies []*reply
	// stopSent: Stop was called on the current process.
	stopSent bool
	// ready is set once the current run is ready (see beginProbes);
	// everReady once any run was, readyAfter how long the last one that
	// was took to get there from launchedAt.
	ready      bool
	everReady  bool
	readyAfter time.Duration
	// logs keeps the last lines of output, for mage-run ctl logs.
	logs *logRing
	// file writes the output to the spec's log file; nil when there is
	// none.
	file *logFile
	// watch reads the current run's output for its announced address
	// and its ready line.
	watch *outputWatch
	// stopProbe ends the current run's prober; nil when none runs.
	stopProbe context.CancelFunc
	// probeOK and probeFailed count the prober's checks in a row that
	// passed and failed.
	probeOK, probeFailed int
	// unhealthy says why mage-run stopped the current run for failing a
	// probe; empty otherwise. Such a run ends as a failure.
	unhealthy string
	// stdout re-emits the current run's standard output, unless
	// Options.Stdout takes it.
	stdout *lineLogger
	// supervisor serves the Supervisor interface to the current run.
	supervisor *bindings.Receiver
	// slots are the instance's pipe attachments, by name.
	slots map[string]*slot
	// launches counts the on-demand instances launched under this one,
	// per block, for their numbers.
	launches map[*spec.Process]int
	// reconnects are Reconnect requests waiting for a new pipe, by
	// attachment.
	reconnects map[string][]*reconnectRequest
}

// instanceName names the instance of block b numbered replica under
// parent: see the package documentation.
func instanceName(b *spec.Process, replica int, parent *instance) string {
	name := b.Name
	if b.Multi() {
		name += "#" + strconv.Itoa(replica)
	}
	if parent != nil && strings.ContainsRune(parent.name, '#') {
		name = parent.name + "/" + name
	}
	return name
}

// ended reports whether the instance has ended for good.
func (in *instance) ended() bool { return in.state == StateEnded }

// liveChildren reports whether any child instance has not ended.
func (in *instance) liveChildren() bool {
	for _, c := range in.children {
		if !c.ended() {
			return true
		}
	}
	return false
}

// walk calls fn for in and its descendants, parents first.
func (in *instance) walk(fn func(*instance)) {
	fn(in)
	for _, c := range in.children {
		c.walk(fn)
	}
}

// ancestor returns the instance of block b that in is, or is under; nil
// for a nil b (the top level) or when there is none.
func (in *instance) ancestor(b *spec.Process) *instance {
	if b == nil {
		return nil
	}
	for a := in; a != nil; a = a.parent {
		if a.block == b {
			return a
		}
	}
	return nil
}
