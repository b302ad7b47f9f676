package tree

import (
	"fmt"
	"slices"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/spec"
)

// The order of starts and stops: an instance starts once its parent runs
// and every sibling it is after (spec's after) meets its condition
// (started, ready or completed); it is never started when one of them
// ended for good without meeting it. It is stopped once its children and
// every sibling that is after it have ended.

// siblings returns the instances with in's parent: its parent's children,
// or the top-level instances.
func (t *Tree) siblings(in *instance) []*instance {
	if in.parent != nil {
		return in.parent.children
	}
	return t.roots
}

// isAfter reports whether in must start after, and stop before, other.
func isAfter(in, other *instance) bool {
	return in != other && slices.Contains(in.block.After, other.block.Name)
}

// depsMet reports whether every sibling in is after meets its condition
// (spec's after). When one never will (it ended for good without meeting
// it), it says why instead.
func (t *Tree) depsMet(in *instance) (bool, string) {
	met := true
	for _, s := range t.siblings(in) {
		if !isAfter(in, s) {
			continue
		}
		cond := in.block.Conditions[s.block.Name]
		switch {
		case s.ended() && s.outcome == OutcomeFinished:
			// A job that did its work meets every condition.
		case s.ended():
			return false, fmt.Sprintf("%s, which it is after (%v), %s", s.name, cond, endedHow(s))
		case cond == spec.AfterStarted && s.state != StateRunning,
			cond == spec.AfterReady && !(s.state == StateRunning && s.ready),
			cond == spec.AfterCompleted:
			met = false
		}
	}
	return met, ""
}

// endedHow says how s ended, for a dependent that will not start.
func endedHow(s *instance) string {
	switch s.outcome {
	case OutcomeFailed:
		return "failed for good"
	case OutcomeNotStarted:
		return "was not started"
	}
	return "was stopped"
}

// liveDependents reports whether a sibling that is after in has not ended.
func (t *Tree) liveDependents(in *instance) bool {
	for _, s := range t.siblings(in) {
		if isAfter(s, in) && !s.ended() {
			return true
		}
	}
	return false
}

// startReady starts the waiting instances of list whose parent runs and
// whose siblings they are after are ready.
func (t *Tree) startReady(list []*instance) {
	if t.stopping {
		return
	}
	for _, in := range list {
		if in.state != StateWaiting || (in.parent != nil && in.parent.state != StateRunning) {
			continue
		}
		met, never := t.depsMet(in)
		switch {
		case never != "":
			t.dependencyFailed(in, never)
		case met:
			t.startInstance(in)
		}
	}
}

// dependencyFailed ends in, which will never start: why says which
// sibling it waited for ended without meeting its condition. A required
// process that cannot start stops the tree.
func (t *Tree) dependencyFailed(in *instance, why string) {
	log := t.log.Named(in.name)
	log.Error("process not started: a process it is after will never be there", "because", why)
	t.end(in, OutcomeNotStarted, why)
	if in.block.Required && !t.stopping {
		log.Error("required process cannot start; stopping the tree")
		t.beginStop()
	}
}

// maybeStop stops in's process if mage-run is ending it and nothing that
// must stop first is left.
func (t *Tree) maybeStop(in *instance) {
	if in.stopWanted && in.state == StateRunning && !in.liveChildren() && !t.liveDependents(in) {
		t.stopProcess(in)
	}
}
