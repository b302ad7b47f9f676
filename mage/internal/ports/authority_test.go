package ports

import (
	"errors"
	"maps"
	"testing"
)

// forgeryNet sets up the scenario: node 0 (the parent) holds end
// a; end b went to node 1 (the hostile child) and came back to node 0.
// Node 1 still knows a's name. If onward, b then goes on to node 2 (the
// healthy child).
//
// forged is the name b had on node 1: the strongest forgery names the
// stint node 1 really had.
func forgeryNet(t *testing.T, onward bool) (tn *testNet, a, b PortName, bNode int, forged PortName) {
	t.Helper()
	tn = newTestNet(t, 3)
	a, b = tn.nodes[0].CreatePortPair()
	b = tn.move(b, 0, 1)
	forged = b
	tn.run()
	b = tn.move(b, 1, 0)
	tn.run()
	if !onward {
		return tn, a, b, 0, forged
	}
	b = tn.move(b, 0, 2)
	tn.run()
	return tn, a, b, 2, forged
}

var forgeries = []struct {
	name string
	ev   func(a, sender PortName) Event
}{
	{"user message", func(a, sender PortName) Event { return UserEvent{Target: a, Sender: sender, Seq: 2, Body: "forged"} }},
	{"user message ahead", func(a, sender PortName) Event {
		return UserEvent{Target: a, Sender: sender, Seq: 5, Body: "forged"}
	}},
	{"closure", func(a, sender PortName) Event { return ClosureEvent{Target: a, Sender: sender, LastSeq: 1} }},
	{"peer moved", func(a, sender PortName) Event {
		return PeerMovedEvent{Target: a, Sender: sender, NewNode: testNodeName(7), NewPort: PortName{7}}
	}},
}

// The former holder's events are refused, charged to it, and change
// nothing, when the end it handed back stays on the parent's node.
func TestForgedEventsFromFormerHolderAreRefused(t *testing.T) {
	for _, f := range forgeries {
		t.Run(f.name, func(t *testing.T) {
			tn, a, b, _, forged := forgeryNet(t, false)
			n := tn.nodes
			mustSend(t, n[0], b, "h1")
			requireBodies(t, n[0], a, "h1")
			before := tableSizes(n[0])
			err := n[0].AcceptEvent(n[1].Name(), f.ev(a, forged))
			var ee *EventError
			if !errors.Is(err, ErrNotAuthorized) || !errors.As(err, &ee) || ee.From != n[1].Name() || ee.Target != a {
				t.Fatalf("forged %s: %v, want ErrNotAuthorized charged to node 1", f.name, err)
			}
			if out := n[0].TakeOutgoing(); len(out) != 0 {
				t.Fatalf("a refused event produced %v", out)
			}
			if len(tn.dropped) != 0 {
				t.Fatalf("the forged body was kept and dropped: %v", tn.dropped)
			}
			if st := mustStatus(t, n[0], a); st.PeerClosed || st.Readable {
				t.Fatalf("status after forgery %+v", st)
			}
			if after := tableSizes(n[0]); !maps.Equal(before, after) {
				t.Fatalf("forgery changed the node's tables: %v, was %v", after, before)
			}
			mustSend(t, n[0], b, "h2")
			requireBodies(t, n[0], a, "h2")
			closeAll(t, tn, at{0, a}, at{0, b})
		})
	}
}

// When the end went on to the healthy child, the former holder's events
// cannot be refused at once (a node without a stint may be about to get
// one), so they are held: none reaches the reader or changes the pipe,
// and the healthy child's traffic flows in order and is never refused.
// A full hold refuses the stint that fills it, charging nobody (its node
// may have been handed a laundered port): what it held is dropped, and so
// is what it sends later. A hold filled by stints of one event each is no
// laundered port's doing: that is charged to the node.
func TestForgedEventsWhileSenderIsRemoteAreHeld(t *testing.T) {
	tn, a, b, bn, forged := forgeryNet(t, true)
	n := tn.nodes
	mustSend(t, n[bn], b, "h1")
	tn.run()
	requireBodies(t, n[0], a, "h1")
	for i := range DefaultMaxHeldEvents {
		ev := forgeries[i%3].ev(a, forged)
		if err := n[0].AcceptEvent(n[1].Name(), ev); err != nil {
			t.Fatalf("forged event %d: %v, want it held", i, err)
		}
	}
	if got := len(n[0].ports[a].rare().held); got != DefaultMaxHeldEvents {
		t.Fatalf("%d events held at a, want %d", got, DefaultMaxHeldEvents)
	}
	dropped := len(tn.dropped)
	for i := range 10 {
		if err := n[0].AcceptEvent(n[1].Name(), forgeries[i%3].ev(a, forged)); err != nil {
			t.Fatalf("forged event past the hold: %v, want the stint refused, charged to nobody", err)
		}
	}
	if got, held := len(n[0].ports[a].rare().held), n[0].held[n[1].Name()]; got != 0 || held != 1 {
		t.Fatalf("after the refusal a holds %d events, node 1 is charged %d held, want 0 and the mark", got, held)
	}
	if len(tn.dropped) <= dropped {
		t.Fatal("the refused stint's messages were not dropped")
	}
	if st := mustStatus(t, n[0], a); st.PeerClosed || st.Readable {
		t.Fatalf("status after forgery %+v", st)
	}
	mustSend(t, n[bn], b, "h2")
	mustSend(t, n[bn], b, "h3")
	tn.run() // fails on any error from the healthy node
	requireBodies(t, n[0], a, "h2", "h3")
	mustSend(t, n[0], a, "p1")
	tn.run()
	requireBodies(t, n[bn], b, "p1")

	// Stints made up one event each fill the hold without a stint to
	// refuse: that is charged to their node.
	var err error
	for i := 0; err == nil && i <= DefaultMaxHeldEvents; i++ {
		err = n[0].AcceptEvent(n[1].Name(), UserEvent{Target: a, Sender: PortName{0x30, byte(i), byte(i >> 8)}, Seq: 2, Body: "made up"})
	}
	var ee *EventError
	if !errors.Is(err, ErrTooManyHeld) || !errors.As(err, &ee) || ee.From != n[1].Name() {
		t.Fatalf("a hold of made-up stints: %v, want ErrTooManyHeld charged to node 1", err)
	}
	// The runtime cuts the forger off; what it held goes.
	n[0].LostNode(n[1].Name())
	if len(n[0].held) != 0 || len(n[0].ports[a].rare().held) != 0 || len(n[0].ports[a].rare().lossReported) != 0 {
		t.Fatalf("events held from a lost node remain: %v", n[0].held)
	}
	mustSend(t, n[bn], b, "h4")
	tn.run()
	requireBodies(t, n[0], a, "h4")
	closeAll(t, tn, at{0, a}, at{bn, b})
}

// An honest stint that sends more than the hold before its start comes
// is refused like any other; when the start comes, the pipe is cut off
// on both sides, so the messages dropped are never lost unnoticed.
func TestHonestStintPastTheHoldCutsItsPipe(t *testing.T) {
	tn := newTestNet(t, 3)
	n := tn.nodes
	tp, f := n[2].CreatePortPair()
	f = tn.move(f, 2, 1)
	tn.run()
	f = tn.move(f, 1, 0) // node 1's announcement of the move waits on link 0->1
	for i := range DefaultMaxHeldEvents + 1 {
		mustSend(t, n[0], f, i)
	}
	for tn.step(0, 2) {
	}
	if got := n[2].held[n[0].Name()]; got != 1 {
		t.Fatalf("node 2 holds %d events of node 0, want the mark of the refused stint", got)
	}
	tn.run() // the move is announced: any error fails
	if st := mustStatus(t, n[2], tp); !st.PeerClosed || st.Readable {
		t.Fatalf("t after its peer's stint was refused: %+v, want cut off", st)
	}
	if st := mustStatus(t, n[0], f); !st.PeerClosed {
		t.Fatalf("f after its stint was refused: %+v, want cut off", st)
	}
	if len(n[2].held) != 0 {
		t.Fatalf("node 2 still holds %v", n[2].held)
	}
	closeAll(t, tn, at{2, tp}, at{0, f})
}

func TestReorderWindow(t *testing.T) {
	tn := newTestNet(t, 2)
	n := tn.nodes
	n[0] = NewNode(Config{Name: testNodeName(0), ReorderWindow: 8})
	tn.nodes = n
	a, b := n[0].CreatePortPair()
	b = tn.move(b, 0, 1)
	tn.run()
	if err := n[0].AcceptEvent(n[1].Name(), UserEvent{Target: a, Sender: b, Seq: 8, Body: "last in window"}); err != nil {
		t.Fatalf("seq 8: %v", err)
	}
	err := n[0].AcceptEvent(n[1].Name(), UserEvent{Target: a, Sender: b, Seq: 9, Body: "beyond"})
	requireErr(t, err, ErrOutsideWindow)
	if q := n[0].ports[a].queue.len(); q != 1 {
		t.Fatalf("queue holds %d messages, want 1", q)
	}
	if len(tn.dropped) != 0 {
		t.Fatal("a refused message was stored")
	}
	_ = b
}

func TestMaxPortsPerNode(t *testing.T) {
	tn := newTestNet(t, 2)
	n := tn.nodes
	n[0] = NewNode(Config{Name: testNodeName(0), MaxPortsPerNode: 2})
	tn.nodes = n
	a, b := n[0].CreatePortPair()
	b = tn.move(b, 0, 1) // one port on node 0 came from... none yet; b's is on node 1
	tn.run()
	desc := func(i byte) Descriptor {
		return Descriptor{Name: PortName{0xEE, i}, Peer: Address{Node: n[1].Name(), Port: PortName{0xDD, i}}, Proxy: PortName{0xCC, i}, NextSendSeq: 1, NextRecvSeq: 1}
	}
	if err := n[0].AcceptEvent(n[1].Name(), UserEvent{Target: a, Sender: b, Seq: 1, Ports: []Descriptor{desc(1), desc(2)}, Body: "two"}); err != nil {
		t.Fatalf("two ports: %v", err)
	}
	before := n[0].PortCount()
	err := n[0].AcceptEvent(n[1].Name(), UserEvent{Target: a, Sender: b, Seq: 2, Ports: []Descriptor{desc(3)}, Body: "three"})
	requireErr(t, err, ErrTooManyPorts)
	if n[0].PortCount() != before {
		t.Fatal("a refused message adopted ports")
	}
	// Once the ports are gone, the node may send more.
	m := mustGet(t, n[0], a)
	for _, p := range m.Ports {
		if err := n[0].ClosePort(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := n[0].AcceptEvent(n[1].Name(), UserEvent{Target: a, Sender: b, Seq: 2, Ports: []Descriptor{desc(3)}, Body: "three"}); err != nil {
		t.Fatalf("after closing: %v", err)
	}
	_ = b
}

// After LostNode(x), the node keeps nothing about x but the fact that it
// is lost: every table is back to its size before x took part.
func TestLostNodeLeavesNothing(t *testing.T) {
	tn := newTestNet(t, 3)
	n := tn.nodes
	a, b := n[0].CreatePortPair()
	b = tn.move(b, 0, 2)
	tn.run()
	base := tableSizes(n[0])
	// Node 1 takes part: a pipe with an end there, events held from it.
	c, d := n[0].CreatePortPair()
	d = tn.move(d, 0, 1)
	mustSend(t, n[1], d, "x")
	tn.run()
	if err := n[0].AcceptEvent(n[1].Name(), UserEvent{Target: a, Sender: PortName{0x42}, Seq: 1, Body: "held"}); err != nil {
		t.Fatal(err)
	}
	tn.kill(1)
	requireBodies(t, n[0], c, "x")
	requireLost(t, n[0], c)
	if err := n[0].ClosePort(c); err != nil {
		t.Fatal(err)
	}
	after := tableSizes(n[0])
	base["lost"]++ // the one thing kept: that node 1 is lost
	base["lostOrder"]++
	for k, v := range base {
		if after[k] != v {
			t.Errorf("%s: %d entries, want %d (before: %v, after: %v)", k, after[k], v, base, after)
		}
	}
	for _, p := range n[0].ports {
		if p.liveNode(n[1].Name()) || p.sources.count(n[1].Name()) != 0 || p.rare().asked[n[1].Name()] {
			t.Fatalf("port %v still knows node 1:%s", p.name, n[0].dump())
		}
	}
	closeAll(t, tn, at{0, a}, at{2, b})
}

func tableSizes(n *Node) map[string]int {
	held := 0
	for _, p := range n.ports {
		held += len(p.rare().held)
	}
	return map[string]int{
		"ports": len(n.ports), "lost": len(n.lost), "lostOrder": len(n.lostOrder), "adopted": len(n.adopted),
		"held": len(n.held), "portHeld": held, "leaving": len(n.leaving), "proxyTo": len(n.proxyTo),
		"referrers": n.referrers.len(), "watched": len(n.watched),
	}
}

func TestMaxLostNodes(t *testing.T) {
	n := NewNode(Config{Name: testNodeName(0), MaxLostNodes: 2})
	for i := range 5 {
		n.LostNode(testNodeName(10 + i))
	}
	if len(n.lost) != 2 || len(n.lostOrder) != 2 || !n.lost[testNodeName(14)] || n.lost[testNodeName(10)] {
		t.Fatalf("lost %v, want the last two", n.lost)
	}
}

// A node with a live stint may pass it on, to a port of its own too; a
// node doing so without end grows no table of the port (its stints and
// the asks of a proxy stay at one entry), and one that reports losses
// from ports it makes up is bounded by its hold.
func TestStintRenamingGrowsNothing(t *testing.T) {
	tn := newTestNet(t, 1)
	n := tn.nodes[0]
	r0, r1, r2 := testNodeName(7), testNodeName(8), testNodeName(9)
	// Proxy x forwards to r2; its stint is the proxy {3} left on r1.
	x, d := adoptAndMoveOn(t, n, r0, r1, r2)
	if err := n.AcceptEvent(r2, PortAcceptedEvent{Target: d.Name}); err != nil {
		t.Fatal(err)
	}
	p := n.ports[x]
	if !p.observing {
		t.Fatal("the proxy is not asking for its referrer")
	}
	sender := PortName{3}
	for i := range 1000 {
		next := PortName{0x10, byte(i), byte(i >> 8)}
		if err := n.AcceptEvent(r1, PeerMovedEvent{Target: x, Sender: sender, NewNode: r1, NewPort: next}); err != nil {
			t.Fatalf("renaming %d: %v", i, err)
		}
		sender = next
		n.TakeOutgoing()
	}
	if l := p.stints.list(); len(l) != 1 || l[0] != (stintID{r1, sender}) {
		t.Fatalf("stints %v, want only the last name", p.stints)
	}
	if got := len(p.rare().askedPorts); got > 1 {
		t.Fatalf("the proxy remembers %d asks, want at most 1", got)
	}
	// Early loss reports from a node without a stint, while one could
	// start: kept, each as a held event of that node, so within its hold.
	for i := range DefaultMaxHeldEvents {
		if err := n.AcceptEvent(r2, ClosureEvent{Target: x, Sender: PortName{0x20, byte(i), byte(i >> 8)}, Lost: true}); err != nil {
			t.Fatalf("loss report %d: %v", i, err)
		}
	}
	err := n.AcceptEvent(r2, ClosureEvent{Target: x, Sender: PortName{0x21}, Lost: true})
	var ee *EventError
	if !errors.Is(err, ErrTooManyHeld) || !errors.As(err, &ee) || ee.From != r2 {
		t.Fatalf("a loss report past the hold: %v, want ErrTooManyHeld charged to r2", err)
	}
	if got := len(p.rare().lossReported); got != DefaultMaxHeldEvents || n.held[r2] != DefaultMaxHeldEvents {
		t.Fatalf("%d early loss reports kept, %d held, want %d", got, n.held[r2], DefaultMaxHeldEvents)
	}
	n.LostNode(r2)
	if len(p.rare().lossReported) != 0 || n.held[r2] != 0 {
		t.Fatalf("after r2 was lost: %d loss reports, %d held", len(p.rare().lossReported), n.held[r2])
	}
}
