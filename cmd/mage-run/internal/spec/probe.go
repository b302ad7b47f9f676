package spec

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Probe defaults.
const (
	DefaultProbePeriod  = time.Second
	DefaultProbeTimeout = time.Second
	// DefaultHealthFailures is how many health probes in a row must fail
	// for a process to be unhealthy.
	DefaultHealthFailures = 3
)

// AddressPlaceholder, in a tcp or http probe, stands for the address the
// process announced on its output (see Process.Announce).
const AddressPlaceholder = "{address}"

// ProbeKind says how a probe checks a process.
type ProbeKind uint8

// The kinds of probe.
const (
	// ProbeExec runs a command; exit status 0 is a success.
	ProbeExec ProbeKind = iota
	// ProbeTCP connects to an address.
	ProbeTCP
	// ProbeHTTP sends a GET; a 2xx or 3xx answer is a success.
	ProbeHTTP
	// ProbeLine waits for a line of the process's output that matches a
	// pattern. Readiness only.
	ProbeLine
	// ProbeFile checks that a file exists.
	ProbeFile
	// ProbeSupervisor waits for the process to call Supervisor.Ready.
	// Readiness only, and for invited processes only.
	ProbeSupervisor
)

var probeKindNames = [...]string{
	ProbeExec:       "exec",
	ProbeTCP:        "tcp",
	ProbeHTTP:       "http",
	ProbeLine:       "line",
	ProbeFile:       "file",
	ProbeSupervisor: "supervisor",
}

// String returns the kind as its attribute is spelled in a spec.
func (k ProbeKind) String() string {
	if int(k) < len(probeKindNames) {
		return probeKindNames[k]
	}
	return fmt.Sprintf("ProbeKind(%d)", uint8(k))
}

// Probe is a ready or health block: what to check, and how often.
type Probe struct {
	Kind ProbeKind
	// Command is an exec probe's program and arguments, run in the
	// process's dir with its environment.
	Command []string
	// Target is a tcp probe's host:port or an http probe's URL; either
	// may hold AddressPlaceholder.
	Target string
	// Line is a line probe's pattern.
	Line *regexp.Regexp
	// File is a file probe's path, absolute.
	File string
	// InitialDelay is the wait after the process runs (or, for a health
	// probe, is ready) before the first check; Period the wait between
	// checks; Timeout bounds one check.
	InitialDelay, Period, Timeout time.Duration
	// SuccessThreshold is how many checks in a row must pass: for
	// readiness, to be ready; for health, to forget earlier failures.
	SuccessThreshold int
	// FailureThreshold is how many checks in a row must fail: for health,
	// to be unhealthy (the process is stopped, and restarted by its
	// policy); for readiness, to give up on the run as a failed start (0:
	// never).
	FailureThreshold int
	// UsesAddress reports whether Target holds AddressPlaceholder.
	UsesAddress bool
	// DeclRange is the position of the block's header.
	DeclRange hcl.Range
}

// Periodic reports whether the probe checks again and again (the line and
// supervisor kinds wait for an event instead).
func (pr *Probe) Periodic() bool { return pr.Kind != ProbeLine && pr.Kind != ProbeSupervisor }

var probeSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "exec"},
		{Name: "tcp"},
		{Name: "http"},
		{Name: "line"},
		{Name: "file"},
		{Name: "supervisor"},
		{Name: "initial_delay"},
		{Name: "period"},
		{Name: "timeout"},
		{Name: "success_threshold"},
		{Name: "failure_threshold"},
	},
}

// probe reads a ready or health block of proc.
func (p *parser) probe(proc *Process, b *hcl.Block) *Probe {
	pr := &Probe{
		Period:           DefaultProbePeriod,
		Timeout:          DefaultProbeTimeout,
		SuccessThreshold: 1,
		DeclRange:        b.DefRange,
	}
	health := b.Type == "health"
	if health {
		pr.FailureThreshold = DefaultHealthFailures
	}
	attrs := p.content(b.Body, probeSchema).Attributes
	var kinds []string
	for _, k := range probeKindNames {
		if _, ok := attrs[k]; ok {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) != 1 {
		p.errorf(b.DefRange, "%s block of process %q needs exactly one of exec, tcp, http, line, file or supervisor, not %s", b.Type, proc.Name, describeKinds(kinds))
		return nil
	}
	a := attrs[kinds[0]]
	if !p.probeTarget(proc, pr, b.Type, a) {
		return nil
	}
	if health && !pr.Periodic() {
		p.errorf(a.NameRange, "a %s probe is for readiness only (a ready block): it waits for one event, where a health probe checks again and again", pr.Kind)
		return nil
	}
	for name, target := range map[string]*time.Duration{"initial_delay": &pr.InitialDelay, "period": &pr.Period, "timeout": &pr.Timeout} {
		if a, ok := attrs[name]; ok {
			if name == "initial_delay" {
				p.durationOrZero(a, target)
			} else {
				p.duration(a, target)
			}
		}
	}
	if a, ok := attrs["success_threshold"]; ok && p.decode(a, &pr.SuccessThreshold) && pr.SuccessThreshold < 1 {
		p.errorf(a.Expr.Range(), "success_threshold must be at least 1, not %d", pr.SuccessThreshold)
	}
	if a, ok := attrs["failure_threshold"]; ok && p.decode(a, &pr.FailureThreshold) {
		switch {
		case health && pr.FailureThreshold < 1:
			p.errorf(a.Expr.Range(), "failure_threshold of a health probe must be at least 1, not %d", pr.FailureThreshold)
		case pr.FailureThreshold < 0:
			p.errorf(a.Expr.Range(), "failure_threshold must not be negative (0: never give up), not %d", pr.FailureThreshold)
		}
	}
	if !pr.Periodic() {
		for _, name := range []string{"period", "timeout", "success_threshold", "failure_threshold"} {
			if a, ok := attrs[name]; ok {
				p.errorf(a.NameRange, "%s means nothing for a %s probe, which waits for one event", name, pr.Kind)
			}
		}
	}
	return pr
}

// probeTarget reads the attribute that says what the probe checks.
func (p *parser) probeTarget(proc *Process, pr *Probe, block string, a *hcl.Attribute) bool {
	for i, name := range probeKindNames {
		if name == a.Name {
			pr.Kind = ProbeKind(i)
		}
	}
	switch pr.Kind {
	case ProbeExec:
		if !p.decode(a, &pr.Command) {
			return false
		}
		if len(pr.Command) == 0 || pr.Command[0] == "" {
			p.errorf(a.Expr.Range(), "exec probe of process %q needs a program", proc.Name)
			return false
		}
	case ProbeTCP, ProbeHTTP:
		if !p.decode(a, &pr.Target) {
			return false
		}
		pr.UsesAddress = strings.Contains(pr.Target, AddressPlaceholder)
		if pr.Kind == ProbeHTTP && !strings.HasPrefix(pr.Target, "http://") && !strings.HasPrefix(pr.Target, "https://") {
			p.errorf(a.Expr.Range(), "http probe %q: want a URL starting with http:// or https://", pr.Target)
			return false
		}
		if pr.Target == "" {
			p.errorf(a.Expr.Range(), "%s probe of process %q needs an address", pr.Kind, proc.Name)
			return false
		}
	case ProbeLine:
		var pattern string
		if !p.decode(a, &pattern) {
			return false
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			p.errorf(a.Expr.Range(), "line: %q is not a regular expression: %v", pattern, err)
			return false
		}
		pr.Line = re
	case ProbeFile:
		var name string
		if !p.decode(a, &name) {
			return false
		}
		if name == "" {
			p.errorf(a.Expr.Range(), "file probe of process %q needs a file name", proc.Name)
			return false
		}
		// Relative to the process's dir, as the process itself would say it.
		pr.File = name
	case ProbeSupervisor:
		var on bool
		if !p.decode(a, &on) {
			return false
		}
		if !on {
			p.errorf(a.Expr.Range(), "supervisor = false is no probe: leave the ready block out for a process that is ready once it runs")
			return false
		}
	}
	return true
}

// checkProbes checks what a process's probes need of the process, once
// all its attributes are read.
func (p *parser) checkProbes(proc *Process) {
	for _, pr := range []*Probe{proc.Ready, proc.Health} {
		if pr == nil {
			continue
		}
		if pr.Kind == ProbeFile && !filepath.IsAbs(pr.File) {
			pr.File = filepath.Join(proc.Dir, pr.File)
		}
		if pr.Kind == ProbeSupervisor && !proc.Invite {
			p.errorf(pr.DeclRange, "process %q has invite = false, so it cannot call Supervisor.Ready: use another kind of ready probe", proc.Name)
		}
		if pr.UsesAddress && proc.Announce == nil {
			p.errorf(pr.DeclRange, "probe of process %q uses %s but the process has no announce pattern to find it in its output", proc.Name, AddressPlaceholder)
		}
	}
}

// announce reads the announce attribute: a pattern whose first group is
// the address the process announces on its output.
func (p *parser) announce(proc *Process, a *hcl.Attribute) {
	var pattern string
	if !p.decode(a, &pattern) {
		return
	}
	re, err := regexp.Compile(pattern)
	switch {
	case err != nil:
		p.errorf(a.Expr.Range(), "announce: %q is not a regular expression: %v", pattern, err)
	case re.NumSubexp() < 1:
		p.errorf(a.Expr.Range(), "announce: %q has no group: its first (...) is the address", pattern)
	default:
		proc.Announce = re
	}
}

func describeKinds(kinds []string) string {
	if len(kinds) == 0 {
		return "none"
	}
	return strings.Join(kinds, " and ")
}
