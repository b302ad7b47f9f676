package spec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/mage-ipc/mage/mage"
)

// checkPipes checks what needs every process known: that each endpoint
// names a process and a usable attachment, and that no attachment is used
// twice.
func (p *parser) checkPipes() {
	used := make(map[Endpoint]*Pipe)
	for _, pipe := range p.spec.Pipes {
		fromOK := p.checkEndpoint(pipe.From, pipe.FromRange)
		toOK := p.checkEndpoint(pipe.To, pipe.ToRange)
		if !fromOK || !toOK {
			continue
		}
		if pipe.From.Process == pipe.To.Process {
			p.errorf(pipe.DeclRange, "pipe joins process %q to itself: a pipe joins two different processes", pipe.From.Process)
			continue
		}
		if !p.checkMultiplicity(pipe) {
			continue
		}
		for _, end := range []struct {
			e   Endpoint
			rng hcl.Range
		}{{pipe.From, pipe.FromRange}, {pipe.To, pipe.ToRange}} {
			if first, dup := used[end.e]; dup {
				p.errorf(end.rng, "attachment %q of process %q is already used by the pipe at line %d", end.e.Attachment, end.e.Process, first.DeclRange.Start.Line)
				continue
			}
			used[end.e] = pipe
		}
	}
}

// checkEndpoint reports whether e is usable; an endpoint that failed to
// parse has been reported already.
func (p *parser) checkEndpoint(e Endpoint, rng hcl.Range) bool {
	if e.Process == "" {
		return false
	}
	proc, ok := p.byName[e.Process]
	if !ok {
		p.errorf(rng, "pipe endpoint %q names no process: there is no process %q", e, e.Process)
		return false
	}
	if err := mage.ValidAttachmentName(e.Attachment); err != nil {
		p.errorf(rng, "pipe endpoint %q: attachment name must be 1 to %d bytes of printable ASCII, without spaces", e, mage.MaxAttachmentName)
		return false
	}
	switch {
	case !proc.Invite:
		p.errorf(rng, "pipe endpoint %q: process %q has invite = false: it gets no invitation, so it cannot hold a pipe", e, e.Process)
		return false
	case e.Attachment == ReservedAttachment:
		p.errorf(rng, "pipe endpoint %q: attachment %q is reserved for mage-run's supervisor interface", e, ReservedAttachment)
		return false
	case e.Attachment == ParentAttachment && proc.OnDemand:
		p.errorf(rng, "pipe endpoint %q: attachment %q of an on_demand process is its pipe to the process that launched it", e, ParentAttachment)
		return false
	}
	return true
}

// checkMultiplicity reports whether the pipe's two ends meet one to one or
// one to many inside their scope. Between two sides that may both have
// many instances there is no telling which instance joins which.
func (p *parser) checkMultiplicity(pipe *Pipe) bool {
	from, to := p.byName[pipe.From.Process], p.byName[pipe.To.Process]
	scope := pipe.Scope(p.spec)
	if MultiBelow(from, scope) && MultiBelow(to, scope) {
		p.errorf(pipe.DeclRange, "pipe joins %s and %s, which may both have many instances (count > 1 or on_demand, themselves or in a process between them and the block enclosing both): a pipe needs one end with a single instance",
			describeMulti(from, scope), describeMulti(to, scope))
		return false
	}
	return true
}

// describeMulti names block b and says why it has many instances.
func describeMulti(b, scope *Process) string {
	for m := b; m != nil && m != scope; m = m.Parent {
		if !m.Multi() {
			continue
		}
		why := fmt.Sprintf("count = %d", m.Count)
		if m.OnDemand {
			why = "on_demand"
		}
		if m == b {
			return fmt.Sprintf("process %q (%s)", b.Name, why)
		}
		return fmt.Sprintf("process %q (inside %q, %s)", b.Name, m.Name, why)
	}
	return fmt.Sprintf("process %q", b.Name)
}
