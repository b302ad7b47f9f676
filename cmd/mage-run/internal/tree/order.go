package tree

import "slices"

// The order of starts and stops: an instance starts once its parent runs
// and every sibling it is after (spec's after) runs or has ended; it is
// stopped once its children and every sibling that is after it have ended.

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

// depsReady reports whether every sibling in is after runs or has ended.
func (t *Tree) depsReady(in *instance) bool {
	for _, s := range t.siblings(in) {
		if isAfter(in, s) && s.state != StateRunning && !s.ended() {
			return false
		}
	}
	return true
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
		if t.depsReady(in) {
			t.startInstance(in)
		}
	}
}

// maybeStop stops in's process if mage-run is ending it and nothing that
// must stop first is left.
func (t *Tree) maybeStop(in *instance) {
	if in.stopWanted && in.state == StateRunning && !in.liveChildren() && !t.liveDependents(in) {
		t.stopProcess(in)
	}
}
