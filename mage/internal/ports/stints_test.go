package ports

import "testing"

// TestStintSet: the first stint is kept inline, others in a slice, and
// removing the inline one keeps every other (the next takes its place).
func TestStintSet(t *testing.T) {
	s1 := stintID{testNodeName(0), PortName{1}}
	s2 := stintID{testNodeName(1), PortName{2}}
	s3 := stintID{testNodeName(1), PortName{3}} // the same node, another port
	var x stintSet
	if x.has(s1) || x.any(func(stintID) bool { return true }) || len(x.list()) != 0 {
		t.Fatalf("empty set: %v", x)
	}
	x.add(s1)
	if x.more != nil {
		t.Fatal("the first stint made a slice")
	}
	x.add(s1) // once
	x.add(s2)
	x.add(s3)
	if got := len(x.list()); got != 3 {
		t.Fatalf("%d stints, want 3: %v", got, x)
	}
	x.removeWhere(func(s stintID) bool { return s == s1 })
	if x.has(s1) || !x.has(s2) || !x.has(s3) || x.one.node.IsZero() {
		t.Fatalf("after removing the inline stint: %v (inline %v)", x, x.one)
	}
	x.removeWhere(func(s stintID) bool { return s.node == testNodeName(1) })
	if len(x.list()) != 0 || x.more != nil {
		t.Fatalf("after removing a node's stints: %v", x)
	}
	if x.has(stintID{}) {
		t.Fatal("the zero stint is in an empty set")
	}
}
