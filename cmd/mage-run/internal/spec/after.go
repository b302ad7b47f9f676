package spec

import (
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

// after reads the after attribute: a list of "name" or "name:condition"
// strings, or an object of name = "condition".
func (p *parser) after(proc *Process, a *hcl.Attribute) {
	proc.AfterRange = a.Expr.Range()
	proc.Conditions = make(map[string]Condition)
	var list []string
	var object map[string]string
	if diags := gohcl.DecodeExpression(a.Expr, p.ctx, &list); diags.HasErrors() {
		if !p.decode(a, &object) {
			return
		}
		for name := range object {
			list = append(list, name+":"+object[name])
		}
		sort.Strings(list)
	}
	for _, entry := range list {
		name, cond, hasCond := strings.Cut(entry, ":")
		c := AfterStarted
		if hasCond {
			var ok bool
			if c, ok = parseCondition(cond); !ok {
				p.errorf(a.Expr.Range(), "after %q: unknown condition %q: want started, ready or completed", entry, cond)
				continue
			}
		}
		if _, dup := proc.Conditions[name]; dup {
			p.errorf(a.Expr.Range(), "process %q is after %q twice", proc.Name, name)
			continue
		}
		proc.After = append(proc.After, name)
		proc.Conditions[name] = c
	}
}

// checkAfter checks every after attribute: it names siblings, each once,
// and the order it asks for among siblings has no cycle.
func (p *parser) checkAfter() {
	p.spec.Walk(func(proc *Process) {
		seen := make(map[string]bool)
		for _, name := range proc.After {
			switch {
			case name == proc.Name:
				p.errorf(proc.AfterRange, "process %q is after itself", proc.Name)
			case p.byName[name] == nil:
				p.errorf(proc.AfterRange, "process %q is after %q, but there is no process %q", proc.Name, name, name)
			case p.spec.sibling(proc, name) == nil:
				p.errorf(proc.AfterRange, "process %q is after %q, which is not its sibling: after names processes in the same block", proc.Name, name)
			case seen[name]:
				p.errorf(proc.AfterRange, "process %q is after %q twice", proc.Name, name)
			default:
				seen[name] = true
				p.checkCondition(proc, p.spec.sibling(proc, name))
			}
		}
	})
	p.spec.Walk(func(proc *Process) {
		if cycle := p.spec.afterCycle(proc); cycle != nil {
			p.errorf(proc.AfterRange, "processes wait for each other to start: %s", strings.Join(cycle, " is after "))
		}
	})
}

// sibling returns the block named name that has proc's parent, or nil.
func (s *Spec) sibling(proc *Process, name string) *Process {
	sibs := s.Processes
	if proc.Parent != nil {
		sibs = proc.Parent.Children
	}
	for _, sib := range sibs {
		if sib.Name == name {
			return sib
		}
	}
	return nil
}

// afterCycle returns the names along a cycle of after edges from proc
// back to proc, or nil. A cycle is reported once, at its process that
// comes first in the file.
func (s *Spec) afterCycle(proc *Process) []string {
	var path []string
	onPath := make(map[*Process]bool)
	done := make(map[*Process]bool)
	var visit func(b *Process) []string
	visit = func(b *Process) []string {
		if onPath[b] {
			if b != proc {
				return nil // a cycle not through proc: its own first process reports it
			}
			return append(append([]string(nil), path...), b.Name)
		}
		if done[b] {
			return nil
		}
		onPath[b] = true
		path = append(path, b.Name)
		for _, name := range b.After {
			next := s.sibling(b, name)
			if next == nil || next == b {
				continue // reported as not a sibling, or as after itself
			}
			if c := visit(next); c != nil {
				return c
			}
		}
		path = path[:len(path)-1]
		onPath[b] = false
		done[b] = true
		return nil
	}
	c := visit(proc)
	if c == nil {
		return nil
	}
	for _, name := range c {
		if s.sibling(proc, name).DeclRange.Start.Byte < proc.DeclRange.Start.Byte {
			return nil
		}
	}
	return c
}

// checkCondition refuses a condition that dep can never meet.
func (p *parser) checkCondition(proc, dep *Process) {
	switch c := proc.Conditions[dep.Name]; {
	case c == AfterCompleted && dep.Restart.Policy == RestartAlways:
		p.errorf(proc.AfterRange, "process %q is after %q, but %q restarts always, so it never completes for good", proc.Name, dep.Name+":completed", dep.Name)
	case c != AfterStarted && dep.OnDemand:
		p.errorf(proc.AfterRange, "process %q is after %q, which is on_demand: on-demand processes are launched by their parent, not waited for", proc.Name, dep.Name+":"+c.String())
	}
}
