package ports

import (
	"fmt"
	"slices"
	"strings"
)

// nodeCounts is a count per node, for a port's sources. Nearly always one
// node counts at a time (the node the port's sender lives on), so the
// first entry is kept in the struct and a map is made only for a second
// one: a map each would be most of what an idle pipe costs.
//
// An entry exists once set, even at zero, until removed (port.addSource
// removes an entry that reaches zero).
type nodeCounts struct {
	// one is the inline entry's node, zero when there is none; oneCount
	// its count.
	one      NodeName
	oneCount int
	// more holds the entries of other nodes.
	more map[NodeName]int
}

// get returns node's count, and whether node has an entry.
func (c *nodeCounts) get(node NodeName) (int, bool) {
	if !c.one.IsZero() && c.one == node {
		return c.oneCount, true
	}
	v, ok := c.more[node]
	return v, ok
}

// count returns node's count, zero without an entry.
func (c *nodeCounts) count(node NodeName) int {
	v, _ := c.get(node)
	return v
}

// set makes node's count v, making an entry if it has none.
func (c *nodeCounts) set(node NodeName, v int) {
	switch {
	case !c.one.IsZero() && c.one == node:
		c.oneCount = v
	case c.one.IsZero():
		// An entry in more would be found there too: keep each node in
		// one place.
		if _, ok := c.more[node]; ok {
			c.more[node] = v
			return
		}
		c.one, c.oneCount = node, v
	default:
		if c.more == nil {
			c.more = map[NodeName]int{}
		}
		c.more[node] = v
	}
}

// add changes node's count by delta and returns the new count.
func (c *nodeCounts) add(node NodeName, delta int) int {
	v := c.count(node) + delta
	c.set(node, v)
	return v
}

// remove drops node's entry.
func (c *nodeCounts) remove(node NodeName) {
	if !c.one.IsZero() && c.one == node {
		c.one, c.oneCount = NodeName{}, 0
		return
	}
	delete(c.more, node)
}

// len returns the number of entries.
func (c *nodeCounts) len() int {
	n := len(c.more)
	if !c.one.IsZero() {
		n++
	}
	return n
}

// any reports whether some entry satisfies f.
func (c *nodeCounts) any(f func(node NodeName, count int) bool) bool {
	if !c.one.IsZero() && f(c.one, c.oneCount) {
		return true
	}
	for node, v := range c.more {
		if f(node, v) {
			return true
		}
	}
	return false
}

// String formats the entries in node order, as a map prints.
func (c nodeCounts) String() string {
	nodes := make([]NodeName, 0, c.len())
	if !c.one.IsZero() {
		nodes = append(nodes, c.one)
	}
	for node := range c.more {
		nodes = append(nodes, node)
	}
	slices.SortFunc(nodes, compareNodes)
	parts := make([]string, len(nodes))
	for i, node := range nodes {
		parts[i] = fmt.Sprintf("%v:%d", node, c.count(node))
	}
	return "map[" + strings.Join(parts, " ") + "]"
}
