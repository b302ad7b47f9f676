package ports

import (
	"testing"
)

func TestNodeCounts(t *testing.T) {
	a, b, c := testNodeName(0), testNodeName(1), testNodeName(2)
	var nc nodeCounts
	if _, ok := nc.get(a); ok || nc.len() != 0 {
		t.Fatalf("empty counts: %v", nc)
	}
	if v := nc.add(a, 1); v != 1 {
		t.Fatalf("add: %d, want 1", v)
	}
	if nc.more != nil {
		t.Fatal("the first node's entry made a map")
	}
	nc.add(b, -1)
	nc.add(c, 2)
	nc.add(a, -1) // an entry at zero stays
	for _, want := range []struct {
		node  NodeName
		count int
	}{{a, 0}, {b, -1}, {c, 2}} {
		if v, ok := nc.get(want.node); !ok || v != want.count {
			t.Fatalf("%v: %d, %v; want %d", want.node, v, ok, want.count)
		}
	}
	if nc.len() != 3 {
		t.Fatalf("len %d, want 3", nc.len())
	}
	if !nc.any(func(n NodeName, v int) bool { return n == c && v == 2 }) || nc.any(func(_ NodeName, v int) bool { return v > 2 }) {
		t.Fatalf("any disagrees with %v", nc)
	}
	nc.remove(a) // the inline entry goes; b and c stay in the map
	if _, ok := nc.get(a); ok || nc.len() != 2 {
		t.Fatalf("after removing %v: %v", a, nc)
	}
	// b is in the map: setting it again must not also make an inline
	// entry for it.
	nc.add(b, 1)
	nc.remove(b)
	if _, ok := nc.get(b); ok || nc.len() != 1 {
		t.Fatalf("after removing %v: %v", b, nc)
	}
	if got, want := nc.String(), "map["+c.String()+":2]"; got != want {
		t.Fatalf("String %q, want %q", got, want)
	}
}

// TestPortPairAllocations: a pipe's two ports cost their two records;
// their per-node counts make no map until a second node counts.
func TestPortPairAllocations(t *testing.T) {
	n := NewNode(Config{Name: testNodeName(0)})
	n.CreatePortPair()
	if allocs := testing.AllocsPerRun(1000, func() { n.CreatePortPair() }); allocs > 2 {
		t.Fatalf("a port pair allocates %.1f times, want at most 2 (its ports)", allocs)
	}
}
