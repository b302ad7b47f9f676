package ports

import (
	"fmt"
	"slices"
	"strings"
)

// stintID names a stint: a port on a node that feeds this port, the
// pipe's other end during its time there or a proxy that forwards here
// (see Capabilities in the package documentation).
type stintID struct {
	node NodeName
	port PortName
}

func (s stintID) String() string { return s.node.String() + ":" + s.port.String() }

// stintSet is the set of a port's live stints. Nearly always one stint
// feeds a port (its peer end, where it lives), so the first is kept in
// the struct and a slice is made only for a second: a slice each would be
// most of what an idle pipe costs. The slice is held by pointer, a word
// instead of three in every port.
type stintSet struct {
	// one is the inline entry, zero when there is none; more holds the
	// others, nil when there are none.
	one  stintID
	more *[]stintID
}

// others returns the entries besides the inline one.
func (x *stintSet) others() []stintID {
	if x.more == nil {
		return nil
	}
	return *x.more
}

// has reports whether s is in the set.
func (x *stintSet) has(s stintID) bool {
	return (!x.one.node.IsZero() && x.one == s) || slices.Contains(x.others(), s)
}

// add puts s in the set, once.
func (x *stintSet) add(s stintID) {
	switch {
	case x.has(s):
	case x.one.node.IsZero():
		x.one = s
	default:
		more := append(x.others(), s)
		x.more = &more
	}
}

// removeWhere drops the entries drop selects.
func (x *stintSet) removeWhere(drop func(stintID) bool) {
	if !x.one.node.IsZero() && drop(x.one) {
		x.one = stintID{}
	}
	more := slices.DeleteFunc(x.others(), drop)
	if x.one.node.IsZero() && len(more) > 0 {
		// Two statements: in one, the order of reading more[0] and of
		// Delete clearing it is unspecified.
		x.one = more[0]
		more = slices.Delete(more, 0, 1)
	}
	if len(more) == 0 {
		x.more = nil
	} else {
		*x.more = more
	}
}

// any reports whether some entry satisfies f.
func (x *stintSet) any(f func(stintID) bool) bool {
	return (!x.one.node.IsZero() && f(x.one)) || slices.ContainsFunc(x.others(), f)
}

// list returns the entries, in no particular order.
func (x *stintSet) list() []stintID {
	if x.one.node.IsZero() {
		return nil
	}
	return append([]stintID{x.one}, x.others()...)
}

// String formats the entries in order.
func (x stintSet) String() string {
	l := x.list()
	slices.SortFunc(l, compareStints)
	parts := make([]string, len(l))
	for i, s := range l {
		parts[i] = fmt.Sprint(s)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func compareStints(a, b stintID) int {
	if c := compareNodes(a.node, b.node); c != 0 {
		return c
	}
	return comparePorts(a.port, b.port)
}
