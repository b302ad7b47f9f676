package spec

import (
	"fmt"
	"regexp"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Defaults for the settings a spec may leave out.
const (
	DefaultCount       = 1
	DefaultStopTimeout = 5 * time.Second
	DefaultBackoff     = 100 * time.Millisecond
	DefaultMaxBackoff  = 10 * time.Second
	// DefaultStopSignal is what a process is stopped with, before it is
	// killed after its stop timeout.
	DefaultStopSignal = syscall.SIGTERM
	// DefaultAcceptTimeout bounds the wait for a process to accept its
	// invitation; the launcher's default.
	DefaultAcceptTimeout = 10 * time.Second
	// DefaultResetAfter is how long a run must last for the restarts
	// before it to be forgotten: the limit and the backoff start again.
	DefaultResetAfter = 10 * time.Second
	// DefaultJitter is the fraction of each restart delay that is random.
	DefaultJitter = 0.2
	// DefaultRestartLimit is how many restarts a process gets under
	// on-failure or always when its restart block sets no limit.
	DefaultRestartLimit = 3
)

// Attachment names with a meaning of their own. They are spelled out here
// rather than taken from package supervisor, which the spec reader need not
// depend on; a test checks that they agree.
const (
	// ReservedAttachment is where every process finds mage-run's
	// supervisor interface; no pipe may use it.
	ReservedAttachment = "mage-run"
	// ParentAttachment is where an on-demand process finds its pipe to
	// the process that launched it.
	ParentAttachment = "parent"
)

// Spec is a parsed and validated spec file.
type Spec struct {
	// Dir is the absolute directory the spec's relative paths are
	// relative to: the spec file's, unless Options.Dir said otherwise.
	Dir string
	// Processes are the top-level processes, in file order. Their
	// children hang below them.
	Processes []*Process
	// Pipes are the pipe declarations, in file order.
	Pipes []*Pipe
	// Log is the top-level log block, the default of every process that
	// has none of its own; nil when there is none.
	Log *Log
}

// Process is one process block: a program to run, Count times, and the
// processes nested in it.
type Process struct {
	// Name is the block's label, unique across the whole spec.
	Name string
	// Description says what the process does, in one line of text, for
	// people reading the view; empty when the spec gives none.
	Description string
	// Command is the program and its arguments; never empty.
	Command []string
	// Env holds variables added to the environment mage-run was started
	// with: those of its env files, then its env attribute's; nil when
	// the block sets none.
	Env map[string]string
	// Dir is the working directory, absolute: the dir attribute
	// relative to the spec's directory, or the spec's directory.
	Dir string
	// Count is the number of replicas, at least 1.
	Count int
	// OnDemand marks a process that mage-run does not start with its
	// parent: each instance is started when the parent asks for one
	// through the supervisor interface (Supervisor.Launch). Such a
	// process is nested, has Count 1 and is never restarted.
	OnDemand bool
	// Invite is false for a program that does not use mage: it gets no
	// invitation (no socket, no MAGE_INVITATION), so no pipes and no
	// supervisor interface, and counts as started as soon as it runs.
	Invite bool
	// Ready, when not nil, says when the process is ready; without it a
	// process is ready once it runs (an invited one: once it accepted).
	Ready *Probe
	// Health, when not nil, is checked while the process is ready; when
	// it fails, the process is stopped and restarted by its policy.
	Health *Probe
	// Announce, when not nil, finds in the process's output the address
	// it listens on: the first group of the first line that matches
	// stands for {address} in its tcp and http probes.
	Announce *regexp.Regexp
	// Log, when not nil, is the file the process's output is written to
	// (its own log block, or the spec's top-level one).
	Log *Log
	// logOff is set by a log block with enabled = false, which
	// Spec.LogToDir respects too.
	logOff bool
	// Required makes the whole tree stop, and mage-run exit with this
	// process's status, when it fails for good.
	Required bool
	// StopSignal is sent to stop the process (and its process group).
	StopSignal syscall.Signal
	// AcceptTimeout bounds the wait for an invited process to accept its
	// invitation.
	AcceptTimeout time.Duration
	// AcceptTimeoutRange is the position of the accept_timeout
	// attribute, or the zero Range.
	AcceptTimeoutRange hcl.Range
	// StopTimeout is how long a stopped process may take to exit before
	// it is killed.
	StopTimeout time.Duration
	// Restart says what to do when the process exits.
	Restart Restart
	// After names sibling processes (blocks with the same parent) that
	// this one waits for before it starts, and that are stopped only
	// after it has stopped. Conditions says, for each, what it waits
	// for.
	After []string
	// Conditions holds the condition of each name in After.
	Conditions map[string]Condition
	// AfterRange is the position of the after attribute, for messages.
	AfterRange hcl.Range
	// Children are the nested process blocks, in file order.
	Children []*Process
	// Parent is the enclosing process block, nil at the top level.
	Parent *Process
	// DeclRange is the position of the block's header, for messages.
	DeclRange hcl.Range
}

// Restart is a process's restart policy. Delays start at Backoff and
// double after each restart, up to MaxBackoff.
type Restart struct {
	Policy     RestartPolicy
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Limit is how many times in a row the process is restarted before
	// mage-run gives up on it; 0 means no limit. It is 0, and unused,
	// under RestartNever.
	Limit int
	// ResetAfter is the uptime after which a run counts as stable: when
	// it ends, the restarts before it no longer count toward Limit or
	// the backoff. Zero means never.
	ResetAfter time.Duration
	// Jitter is the fraction, from 0 to 1, of each delay that is drawn at
	// random: a delay d becomes one from d*(1-Jitter) to d.
	Jitter float64
}

// RestartPolicy says when an exited process is started again.
type RestartPolicy int

// The restart policies.
const (
	// RestartNever leaves an exited process exited.
	RestartNever RestartPolicy = iota
	// RestartOnFailure restarts a process that exited with a non-zero
	// status or was killed by a signal it was not sent by mage-run.
	RestartOnFailure
	// RestartAlways restarts a process however it exited, unless
	// mage-run is stopping it.
	RestartAlways
)

var policyNames = [...]string{
	RestartNever:     "never",
	RestartOnFailure: "on-failure",
	RestartAlways:    "always",
}

// String returns the policy as written in a spec.
func (p RestartPolicy) String() string {
	if p >= 0 && int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("RestartPolicy(%d)", int(p))
}

// parsePolicy is the inverse of String.
func parsePolicy(s string) (RestartPolicy, bool) {
	for p, name := range policyNames {
		if name == s {
			return RestartPolicy(p), true
		}
	}
	return 0, false
}

// Pipe joins an attachment of one process to an attachment of another.
// Pipes carry messages both ways; From and To only say which end was
// written first.
type Pipe struct {
	From, To Endpoint
	// DeclRange is the position of the block's header; FromRange and
	// ToRange are those of the two endpoint values.
	DeclRange, FromRange, ToRange hcl.Range
}

// Attachment returns the attachment of side 0 (From) or 1 (To).
func (pp *Pipe) Attachment(side int) string {
	if side == 0 {
		return pp.From.Attachment
	}
	return pp.To.Attachment
}

// Endpoint is one end of a pipe: the attachment name the process passes to
// invitation.Accept to find it.
type Endpoint struct {
	Process    string
	Attachment string
}

// String returns the endpoint as written in a spec: process.attachment.
func (e Endpoint) String() string { return e.Process + "." + e.Attachment }

// Walk calls fn for every process in tree order: each process before its
// children, siblings in file order.
func (s *Spec) Walk(fn func(*Process)) {
	var walk func([]*Process)
	walk = func(ps []*Process) {
		for _, p := range ps {
			fn(p)
			walk(p.Children)
		}
	}
	walk(s.Processes)
}

// Multi reports whether the block has more than one instance inside one
// instance of its parent: it is replicated or started on demand.
func (p *Process) Multi() bool { return p.Count > 1 || p.OnDemand }

// Ancestors returns p's enclosing blocks, nearest first.
func (p *Process) Ancestors() []*Process {
	var out []*Process
	for a := p.Parent; a != nil; a = a.Parent {
		out = append(out, a)
	}
	return out
}

// Scope returns the innermost block enclosing both ends of the pipe, or
// nil when that is the spec's top level. One pipe is made per instance of
// the scope: the two ends meet inside it.
func (pp *Pipe) Scope(s *Spec) *Process {
	from, to := s.Process(pp.From.Process), s.Process(pp.To.Process)
	inFrom := map[*Process]bool{from: true}
	for _, a := range from.Ancestors() {
		inFrom[a] = true
	}
	for b := to; b != nil; b = b.Parent {
		if inFrom[b] {
			return b
		}
	}
	return nil
}

// MultiBelow reports whether block b, or any block between b and scope
// (scope itself excluded), has more than one instance per instance of its
// parent: then an instance of scope may hold many instances of b.
func MultiBelow(b, scope *Process) bool {
	for ; b != nil && b != scope; b = b.Parent {
		if b.Multi() {
			return true
		}
	}
	return false
}

// Process returns the process with the given name, or nil.
func (s *Spec) Process(name string) *Process {
	var found *Process
	s.Walk(func(p *Process) {
		if found == nil && p.Name == name {
			found = p
		}
	})
	return found
}

// Condition is what a process waits for in a sibling it is after.
type Condition uint8

// The conditions.
const (
	// AfterStarted waits until the sibling runs (an invited one: has
	// accepted), or has finished with status 0.
	AfterStarted Condition = iota
	// AfterReady waits until the sibling is ready (see Process.Ready),
	// or has finished with status 0.
	AfterReady
	// AfterCompleted waits until the sibling has finished with status 0
	// and will not be started again.
	AfterCompleted
)

var conditionNames = [...]string{
	AfterStarted:   "started",
	AfterReady:     "ready",
	AfterCompleted: "completed",
}

// String returns the condition as written in a spec.
func (c Condition) String() string {
	if int(c) < len(conditionNames) {
		return conditionNames[c]
	}
	return fmt.Sprintf("Condition(%d)", uint8(c))
}

func parseCondition(s string) (Condition, bool) {
	for c, name := range conditionNames {
		if name == s {
			return Condition(c), true
		}
	}
	return 0, false
}
