package ports

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// requireDirect checks that port p on node i and port q on node j are each
// other's peers, each watching only the other's node: the route between
// them has no proxy left and no other node matters to it.
func requireDirect(t *testing.T, tn *testNet, i int, p PortName, j int, q PortName) {
	t.Helper()
	check := func(i int, p PortName, j int, q PortName) {
		t.Helper()
		pp := tn.nodes[i].ports[p]
		if pp == nil || pp.state != stateReceiving {
			t.Fatalf("port %v on node %d is not a receiving port", p, i)
		}
		want := Address{Node: tn.nodes[j].Name(), Port: q}
		if pp.peer != want {
			t.Fatalf("port %v on node %d sends to %v, want %v", p, i, pp.peer, want)
		}
		if pp.sources.len() != 1 || pp.sources.count(want.Node) != 1 {
			t.Fatalf("port %v on node %d watches %v, want only node %d", p, i, pp.sources, j)
		}
	}
	check(i, p, j, q)
	check(j, q, i, p)
}

func requireCounts(t *testing.T, tn *testNet, want ...int) {
	t.Helper()
	if got := tn.portCounts(); !slices.Equal(got, want) {
		var dumps string
		for i, n := range tn.nodes {
			if !tn.dead[i] {
				dumps += fmt.Sprintf("\n  node %d:%s", i, n.dump())
			}
		}
		t.Fatalf("port counts %v, want %v%s", got, want, dumps)
	}
}

func requireOpen(t *testing.T, n *Node, p PortName) {
	t.Helper()
	if s := mustStatus(t, n, p); s.PeerClosed {
		t.Fatalf("port %v: peer reported closed: %+v", p, s)
	}
}

func requireLost(t *testing.T, n *Node, p PortName) {
	t.Helper()
	if s := mustStatus(t, n, p); !s.PeerClosed || s.Reason != ReasonNodeLost || s.Readable {
		t.Fatalf("port %v: status %+v, want the peer lost and nothing left to read", p, s)
	}
}

func closeAll(t *testing.T, tn *testNet, ports ...struct {
	node int
	port PortName
}) {
	t.Helper()
	for _, p := range ports {
		if err := tn.nodes[p.node].ClosePort(p.port); err != nil {
			t.Fatal(err)
		}
		tn.run()
	}
	tn.requireNoPorts()
}

type at = struct {
	node int
	port PortName
}

// A chain A→B→C→D made by moving one end three times collapses to A→D,
// and then B and C may die without the pipe noticing.
func TestCollapseChain(t *testing.T) {
	tn := newTestNet(t, 4)
	n := tn.nodes
	a, b := n[0].CreatePortPair()
	sent := 0
	send := func() {
		sent++
		mustSend(t, n[0], a, sent)
	}
	send()
	for hop := 1; hop <= 3; hop++ {
		b = tn.move(b, hop-1, hop)
		send()
	}
	tn.run()
	for i := 1; i <= sent; i++ {
		requireBodies(t, n[3], b, i)
	}
	requireNone(t, n[3], b)
	requireCounts(t, tn, 1, 0, 0, 1)
	requireDirect(t, tn, 0, a, 3, b)

	tn.kill(1)
	tn.kill(2)
	requireOpen(t, n[0], a)
	requireOpen(t, n[3], b)
	mustSend(t, n[0], a, "after")
	mustSend(t, n[3], b, "back")
	tn.run()
	requireBodies(t, n[3], b, "after")
	requireBodies(t, n[0], a, "back")
	closeAll(t, tn, at{0, a}, at{3, b})
}

// The sender switches to the proxy's target while messages it sent through
// the proxy are still on their way: later messages arrive first and wait,
// and the reader still sees one ordered stream.
func TestCollapseKeepsOrderWithMessagesInFlight(t *testing.T) {
	tn := newTestNet(t, 3)
	n := tn.nodes
	a, b := n[0].CreatePortPair()
	b = tn.move(b, 0, 1)
	tn.run()
	requireDirect(t, tn, 0, a, 1, b)
	b = tn.move(b, 1, 2) // proxy X on node 1
	for i := 1; i <= 3; i++ {
		mustSend(t, n[0], a, i) // to X
	}
	tn.step(2, 1) // the move is acknowledged: X tells a's node it moved and asks for its referrer
	tn.step(1, 0) // PeerMoved
	tn.step(1, 0) // ObserveProxy: a now sends to node 2 and acks 3
	if got := n[0].ports[a].peer; got != (Address{Node: n[2].Name(), Port: b}) {
		t.Fatalf("a sends to %v after the observe-proxy", got)
	}
	for i := 4; i <= 6; i++ {
		mustSend(t, n[0], a, i) // straight to node 2
	}
	for tn.step(0, 2) {
	}
	requireNone(t, n[2], b) // 4..6 wait for 1..3
	tn.run()
	requireBodies(t, n[2], b, 1, 2, 3, 4, 5, 6)
	requireCounts(t, tn, 1, 0, 1)
	requireDirect(t, tn, 0, a, 2, b)
	closeAll(t, tn, at{0, a}, at{2, b})
}

// Both ends move at the same time, each leaving a proxy that must find the
// other end's new port.
func TestCollapseBothEndsMoveAtOnce(t *testing.T) {
	for _, dest := range [][2]int{{1, 2}, {1, 1}} {
		t.Run(fmt.Sprintf("to nodes %d and %d", dest[0], dest[1]), func(t *testing.T) {
			tn := newTestNet(t, 3)
			n := tn.nodes
			a, b := n[0].CreatePortPair()
			mustSend(t, n[0], a, "a1")
			mustSend(t, n[0], b, "b1")
			a = tn.move(a, 0, dest[0])
			b = tn.move(b, 0, dest[1])
			mustSend(t, n[dest[0]], a, "a2")
			mustSend(t, n[dest[1]], b, "b2")
			tn.run()
			requireBodies(t, n[dest[1]], b, "a1", "a2")
			requireBodies(t, n[dest[0]], a, "b1", "b2")
			requireDirect(t, tn, dest[0], a, dest[1], b)
			if c := n[0].PortCount(); c != 0 {
				t.Fatalf("node 0 keeps %d ports:%s", c, n[0].dump())
			}
			closeAll(t, tn, at{dest[0], a}, at{dest[1], b})
		})
	}
}

// A pipe end passed back and forth between two nodes twenty times leaves
// no proxy behind.
func TestCollapseBounce(t *testing.T) {
	tn := newTestNet(t, 2)
	n := tn.nodes
	x, y := n[0].CreatePortPair()
	c, d := n[0].CreatePortPair()
	d = tn.move(d, 0, 1)
	carrier := [2]PortName{c, d}
	at0, sent := 0, 0
	for range 20 {
		sent++
		mustSend(t, n[0], y, sent)
		mustSend(t, n[at0], carrier[at0], "x", x)
		sent++
		mustSend(t, n[0], y, sent) // x is in flight
		tn.run()
		at0 = 1 - at0
		x = mustGet(t, n[at0], carrier[at0]).Ports[0]
	}
	for i := 1; i <= sent; i++ {
		requireBodies(t, n[at0], x, i)
	}
	requireCounts(t, tn, 3, 1) // x, y, c; d
	requireDirect(t, tn, 0, x, 0, y)
	requireDirect(t, tn, 0, c, 1, d)
	closeAll(t, tn, at{0, x}, at{0, y}, at{0, c}, at{1, d})
}

// The port asked to switch is closing: the observe-proxy finds nothing, and
// the proxy drains by the closure instead.
func TestCollapseRacesClose(t *testing.T) {
	t.Run("referrer closes", func(t *testing.T) {
		tn := newTestNet(t, 3)
		n := tn.nodes
		a, b := n[0].CreatePortPair()
		b = tn.move(b, 0, 1)
		tn.run()
		b = tn.move(b, 1, 2)
		mustSend(t, n[0], a, 1)
		tn.step(2, 1) // X asks node 0
		if err := n[0].ClosePort(a); err != nil {
			t.Fatal(err)
		}
		tn.run()
		requireBodies(t, n[2], b, 1)
		if s := mustStatus(t, n[2], b); !s.PeerClosed || s.Reason != ReasonPeerClosed {
			t.Fatalf("status %+v", s)
		}
		requireCounts(t, tn, 0, 0, 1)
		closeAll(t, tn, at{2, b})
	})
	t.Run("far end closes", func(t *testing.T) {
		tn := newTestNet(t, 3)
		n := tn.nodes
		a, b := n[0].CreatePortPair()
		b = tn.move(b, 0, 1)
		tn.run()
		b = tn.move(b, 1, 2)
		mustSend(t, n[0], a, 1)
		tn.step(2, 1) // X asks node 0
		mustSend(t, n[2], b, "bye")
		if err := n[2].ClosePort(b); err != nil {
			t.Fatal(err)
		}
		tn.run()
		requireBodies(t, n[0], a, "bye")
		if s := mustStatus(t, n[0], a); !s.PeerClosed || s.Reason != ReasonPeerClosed {
			t.Fatalf("status %+v", s)
		}
		requireCounts(t, tn, 1, 0, 0)
		closeAll(t, tn, at{0, a})
	})
}

// The referrer moves on while the observe-proxy is on its way: the old
// node ignores it, and the proxy asks the new node when it learns of it.
func TestCollapseRacesFurtherMove(t *testing.T) {
	tn := newTestNet(t, 4)
	n := tn.nodes
	a, b := n[0].CreatePortPair()
	b = tn.move(b, 0, 1)
	tn.run()
	b = tn.move(b, 1, 2)
	mustSend(t, n[0], a, 1)
	tn.step(2, 1) // X asks node 0
	a = tn.move(a, 0, 3)
	mustSend(t, n[3], a, "from 3")
	mustSend(t, n[2], b, "from 2")
	tn.run()
	requireBodies(t, n[2], b, 1, "from 3")
	requireBodies(t, n[3], a, "from 2")
	requireCounts(t, tn, 0, 0, 1, 1)
	requireDirect(t, tn, 3, a, 2, b)
	closeAll(t, tn, at{3, a}, at{2, b})
}

// The referrer is attached to a message sitting on its node when it is
// asked to switch: it switches, and carries its new peer when it moves.
func TestCollapseReferrerInTransit(t *testing.T) {
	tn := newTestNet(t, 3)
	n := tn.nodes
	a, b := n[0].CreatePortPair()
	c, d := n[0].CreatePortPair()
	b = tn.move(b, 0, 1)
	tn.run()
	b = tn.move(b, 1, 2)
	mustSend(t, n[0], a, 1)
	mustSend(t, n[0], d, "carrier", a) // a waits in c's queue
	tn.step(2, 1)
	tn.step(1, 0) // PeerMoved
	tn.step(1, 0) // ObserveProxy reaches a in transit
	if got := n[0].ports[a].peer; got != (Address{Node: n[2].Name(), Port: b}) {
		t.Fatalf("a in transit sends to %v", got)
	}
	c = tn.move(c, 0, 1)
	tn.run()
	m := mustGet(t, n[1], c)
	a = m.Ports[0]
	mustSend(t, n[1], a, 2)
	tn.run()
	requireBodies(t, n[2], b, 1, 2)
	requireDirect(t, tn, 1, a, 2, b)
	requireDirect(t, tn, 1, c, 0, d)
	closeAll(t, tn, at{1, a}, at{2, b}, at{1, c}, at{0, d})
}

// The proxy's node dies after it asked to be bypassed but before the ack,
// with a message still to forward: the pipe is broken, and both ends say
// so after what arrived in sequence.
func TestCollapseLostProxyBeforeAck(t *testing.T) {
	tn := newTestNet(t, 3)
	n := tn.nodes
	a, b := n[0].CreatePortPair()
	b = tn.move(b, 0, 1)
	tn.run()
	b = tn.move(b, 1, 2)
	mustSend(t, n[0], a, 1)
	mustSend(t, n[0], a, 2)
	tn.step(2, 1) // X asks node 0; the ask is lost with node 1
	tn.step(0, 1) // 1 reaches X and goes on; 2 stays behind
	tn.step(1, 2)
	tn.kill(1)
	tn.run()
	requireBodies(t, n[2], b, 1)
	requireLost(t, n[2], b)
	requireLost(t, n[0], a)
	closeAll(t, tn, at{0, a}, at{2, b})
}

// Events from a node whose stint has not started yet wait at the proxy
// (authority.go): the referrer's events from node 4 arrive before the
// event from node 3 that starts node 4's stint, which travels behind
// message 1. Once it arrives, they are applied in order: the proxy learns
// node 0 and asks it, the route collapses, and the pipe is whole.
func TestCollapseWaitsForStintStart(t *testing.T) {
	tn := newTestNet(t, 5)
	n := tn.nodes
	a, b := n[3].CreatePortPair()
	b = tn.move(b, 3, 1)
	tn.run()
	mustSend(t, n[3], a, 1) // held on the link 3->1 below
	a = tn.move(a, 3, 4)
	b = tn.move(b, 1, 2) // proxy X on node 1, target on node 2
	tn.step(4, 3)        // a's move from 3 is acknowledged: PeerMoved to X, behind message 1
	mustSend(t, n[4], a, 2)
	a = tn.move(a, 4, 0) // a on node 0
	tn.step(0, 4)        // a's move from 4 is acknowledged: PeerMoved to X, behind message 2
	tn.step(2, 1)        // X's move is acknowledged: it asks node 3
	for tn.step(4, 1) {  // 2 and the PeerMoved from 4 wait at X for node 4's stint
	}
	x := n[1].ports[n[1].proxyTo[Address{Node: n[2].Name(), Port: b}]]
	if x == nil || len(x.rare().held) != 2 || x.rare().asked[n[0].Name()] || n[1].held[n[4].Name()] != 2 {
		t.Fatalf("X does not hold node 4's two events:%s", n[1].dump())
	}
	tn.run()
	if c := n[1].PortCount(); c != 0 || len(n[1].held) != 0 {
		t.Fatalf("node 1 keeps %d ports, holds %v:%s", c, n[1].held, n[1].dump())
	}
	requireBodies(t, n[2], b, 1, 2)
	mustSend(t, n[0], a, 3)
	tn.run()
	requireBodies(t, n[2], b, 3)
	if st := mustStatus(t, n[2], b); st.PeerClosed {
		t.Fatalf("status %+v, want open", st)
	}
	closeAll(t, tn, at{0, a}, at{2, b})
}

// The root makes a pipe and gives its ends to two leaves: afterwards the
// leaves talk directly, ask to watch each other, and the root holds
// nothing of the pipe, so it may go.
func TestCollapseRootBetweenLeaves(t *testing.T) {
	tn := newTestNet(t, 3)
	n := tn.nodes
	a, b := n[0].CreatePortPair()
	mustSend(t, n[0], a, "early")
	a = tn.move(a, 0, 1)
	b = tn.move(b, 0, 2)
	for _, i := range []int{1, 2} {
		n[i].TakeWatchedNodes()
	}
	tn.run()
	requireCounts(t, tn, 0, 1, 1)
	requireDirect(t, tn, 1, a, 2, b)
	for i, other := range map[int]int{1: 2, 2: 1} {
		if w := n[i].TakeWatchedNodes(); !slices.Contains(w, n[other].Name()) {
			t.Fatalf("node %d asked to watch %v, not node %d", i, w, other)
		}
	}
	tn.kill(0)
	mustSend(t, n[1], a, "late")
	tn.run()
	requireBodies(t, n[2], b, "early", "late")
	requireOpen(t, n[1], a)
	closeAll(t, tn, at{1, a}, at{2, b})
}

// Events no well-behaved node sends are refused with an EventError, change
// nothing on other pipes, and never panic.
func TestBadCollapseEvents(t *testing.T) {
	tn := newTestNet(t, 3)
	n := tn.nodes
	a, b := n[0].CreatePortPair()
	b = tn.move(b, 0, 1)
	tn.run()
	b = tn.move(b, 1, 2) // X on node 1 → b on node 2
	proxy := n[1].proxyTo[Address{Node: n[2].Name(), Port: b}]
	other, otherPeer := n[0].CreatePortPair()
	remote := n[1].Name()
	aAddr := Address{Node: n[0].Name(), Port: a}
	xAddr := Address{Node: remote, Port: proxy}
	bAddr := Address{Node: n[2].Name(), Port: b}

	for _, c := range []struct {
		name string
		node int
		from NodeName
		ev   Event
		want error
	}{
		{"observe-proxy for another node's proxy", 0, n[2].Name(), ObserveProxyEvent{Proxy: xAddr, ProxyTarget: bAddr, Referrer: a}, ErrBadEvent},
		{"observe-proxy with a zero target", 0, remote, ObserveProxyEvent{Proxy: xAddr, Referrer: a}, ErrBadEvent},
		{"observe-proxy to itself", 0, remote, ObserveProxyEvent{Proxy: xAddr, ProxyTarget: xAddr, Referrer: a}, ErrBadEvent},
		{"observe-proxy making a port its own peer", 0, remote, ObserveProxyEvent{Proxy: xAddr, ProxyTarget: aAddr, Referrer: a}, ErrBadEvent},
		{"observe-proxy onto another port's peer", 0, remote, ObserveProxyEvent{Proxy: xAddr, ProxyTarget: Address{Node: n[0].Name(), Port: otherPeer}, Referrer: a}, ErrBadEvent},
		{"nil observe-proxy", 0, remote, (*ObserveProxyEvent)(nil), ErrBadEvent},
		{"ack for a receiving port", 0, remote, ObserveProxyAckEvent{Target: a, LastSeq: 0}, ErrBadEvent},
		{"ack for a proxy that did not ask", 1, n[0].Name(), ObserveProxyAckEvent{Target: proxy, LastSeq: 0}, ErrBadEvent},
		{"nil ack", 1, n[0].Name(), (*ObserveProxyAckEvent)(nil), ErrBadEvent},
	} {
		err := n[c.node].AcceptEvent(c.from, c.ev)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// Unknown ports are not errors: they may have gone meanwhile.
	if err := n[0].AcceptEvent(remote, ObserveProxyEvent{Proxy: Address{Node: remote, Port: PortName{0x77}}, ProxyTarget: bAddr, Referrer: a}); err != nil {
		t.Errorf("observe-proxy nobody sends to: %v", err)
	}
	if err := n[0].AcceptEvent(remote, ObserveProxyEvent{Proxy: xAddr, ProxyTarget: bAddr, Referrer: PortName{0x78}}); err != nil {
		t.Errorf("observe-proxy for an unknown referrer: %v", err)
	}
	if err := n[0].AcceptEvent(remote, ObserveProxyEvent{Proxy: xAddr, ProxyTarget: bAddr, Referrer: other}); err != nil {
		t.Errorf("observe-proxy for a port that sends elsewhere: %v", err)
	}
	if err := n[1].AcceptEvent(n[0].Name(), ObserveProxyAckEvent{Target: PortName{0x77}}); err != nil {
		t.Errorf("ack for an unknown port: %v", err)
	}
	// a still sends to X, other still works.
	if got := n[0].ports[a].peer; got != xAddr {
		t.Fatalf("a sends to %v after bad events", got)
	}
	mustSend(t, n[0], other, "unharmed")

	// The real collapse: X is acknowledged by node 0. Then a second ack, one
	// below what X forwarded, a message and a closure past the bypass.
	mustSend(t, n[0], a, 1)
	tn.run()
	requireBodies(t, n[2], b, 1)
	requireDirect(t, tn, 0, a, 2, b)
	b = tn.move(b, 2, 1) // a new proxy Y on node 2, to node 1
	mustSend(t, n[0], a, 2)
	tn.step(1, 2)       // Y's move acknowledged: it asks node 0
	for tn.step(2, 0) { // a switches to node 1 and acks 2
	}
	y := n[2].proxyTo[Address{Node: n[1].Name(), Port: b}]
	if n[2].ports[y] == nil {
		t.Fatal("Y already gone")
	}
	requireErr(t, n[2].AcceptEvent(n[1].Name(), ObserveProxyAckEvent{Target: y, Sender: b, LastSeq: 2}), ErrBadEvent) // not asked there
	requireErr(t, n[2].AcceptEvent(n[0].Name(), ObserveProxyAckEvent{Target: y, Sender: a, LastSeq: 0}), ErrBadSequence)
	// Y was cut off by the impossible ack; the pipe reports the loss.
	tn.run()
	if s := mustStatus(t, n[1], b); !s.PeerClosed {
		t.Fatalf("status %+v after an impossible ack", s)
	}
	for i, node := range n {
		if node.internalErr != nil {
			t.Fatalf("node %d: %v", i, node.internalErr)
		}
	}
}

// A bypassed proxy takes nothing its referrer sent past it, forwards the
// rest in order, and then tells its target where the referrer lives.
func TestBypassedProxyRefusesLaterEvents(t *testing.T) {
	tn := newTestNet(t, 1)
	n := tn.nodes[0]
	r0, r1, r2 := testNodeName(7), testNodeName(8), testNodeName(9)
	// A port whose peer lives on r0, moved here from r1 and on to r2:
	// proxy x forwards to r2.
	x, d := adoptAndMoveOn(t, n, r0, r1, r2)
	n.TakeOutgoing()
	requireErr(t, n.AcceptEvent(r1, ObserveProxyAckEvent{Target: x, Sender: PortName{3}}), ErrBadEvent) // not asked yet
	if err := n.AcceptEvent(r2, PortAcceptedEvent{Target: d.Name}); err != nil {
		t.Fatal(err)
	}
	target := Address{Node: r2, Port: d.Name}
	want := []sent{
		{To: r0, Event: PeerMovedEvent{Target: PortName{2}, Sender: x, NewNode: r2, NewPort: d.Name}},
		{To: r1, Event: ObserveProxyEvent{Proxy: Address{Node: n.Name(), Port: x}, ProxyTarget: target, Referrer: PortName{3}}},
	}
	if out := n.TakeOutgoing(); !slices.Equal(sentOf(out), want) {
		t.Fatalf("after the move was accepted: %#v", out)
	}
	// The port on r1 switched after sending 1 and 2, which have not arrived.
	if err := n.AcceptEvent(r1, ObserveProxyAckEvent{Target: x, Sender: PortName{3}, LastSeq: 2}); err != nil {
		t.Fatal(err)
	}
	requireErr(t, n.AcceptEvent(r1, UserEvent{Target: x, Sender: PortName{3}, Seq: 3, Body: "past the bypass"}), ErrBadSequence)
	requireErr(t, n.AcceptEvent(r1, ClosureEvent{Target: x, Sender: PortName{3}, LastSeq: 2}), ErrBadEvent)
	requireErr(t, n.AcceptEvent(r1, ObserveProxyAckEvent{Target: x, Sender: PortName{3}, LastSeq: 2}), ErrBadEvent)
	for _, seq := range []uint64{2, 1} {
		if err := n.AcceptEvent(r1, UserEvent{Target: x, Sender: PortName{3}, Seq: seq, Body: seq}); err != nil {
			t.Fatal(err)
		}
	}
	want = []sent{
		{To: r2, Event: UserEvent{Target: d.Name, Sender: x, Seq: 1, Ports: []Descriptor{}, Body: uint64(1)}},
		{To: r2, Event: UserEvent{Target: d.Name, Sender: x, Seq: 2, Ports: []Descriptor{}, Body: uint64(2)}},
		{To: r2, Event: PeerMovedEvent{Target: d.Name, Sender: x, NewNode: r1, NewPort: PortName{3}}},
	}
	out := n.TakeOutgoing()
	if fmt.Sprint(sentOf(out)) != fmt.Sprint(want) {
		t.Fatalf("after the last messages:\n got %v\nwant %v", out, want)
	}
	if n.PortCount() != 0 {
		t.Fatalf("the bypassed proxy stayed:%s", n.dump())
	}
	if len(tn.dropped) != 1 || tn.dropped[0] != "past the bypass" {
		t.Fatalf("dropped %v", tn.dropped)
	}
	if n.internalErr != nil {
		t.Fatal(n.internalErr)
	}
}

// A proxy's own peer address is where its end sent when it moved; once the
// other end's route collapsed, that node may be long gone from the pipe,
// and its death must not break it.
func TestCollapseStalePeerNodeLost(t *testing.T) {
	tn := newTestNet(t, 4)
	n := tn.nodes
	a, b := n[0].CreatePortPair()
	b = tn.move(b, 0, 1)
	tn.run()
	b = tn.move(b, 1, 3) // proxy X on node 1, its peer a on node 0
	a = tn.move(a, 0, 2) // a leaves node 0 too
	tn.step(3, 1)        // X asks node 0
	tn.step(2, 0)        // a's proxy on node 0 asks node 1
	tn.step(1, 0)        // a's proxy learns node 3 and asks it
	tn.step(1, 0)        // X's ask finds no referrer on node 0
	tn.step(0, 3)        // b switches to node 2
	tn.step(3, 0)        // a's proxy is bypassed and goes
	tn.step(0, 2)        // a learns b sends from node 3
	tn.step(0, 1)        // X learns a lives on node 2 and asks it
	if c := n[0].PortCount(); c != 0 {
		t.Fatalf("node 0 still holds %d ports:%s", c, n[0].dump())
	}
	if n[1].ProxyCount() != 1 {
		t.Fatal("X is gone already")
	}
	tn.kill(0) // X's peer's node: nothing of the pipe is there any more
	requireOpen(t, n[2], a)
	requireOpen(t, n[3], b)
	mustSend(t, n[2], a, "a")
	mustSend(t, n[3], b, "b")
	tn.run()
	requireBodies(t, n[3], b, "a")
	requireBodies(t, n[2], a, "b")
	requireCounts(t, tn, 0, 0, 1, 1)
	requireDirect(t, tn, 2, a, 3, b)
	closeAll(t, tn, at{2, a}, at{3, b})
}

// Each way a port comes to depend on another node is reported by
// TakeWatchedNodes, so that the runtime connects to it and hears if it is
// lost.
func TestWatchedNodes(t *testing.T) {
	n := newTestNet(t, 1).nodes[0]
	r0, r1, r2, r3 := testNodeName(6), testNodeName(7), testNodeName(8), testNodeName(9)
	p, err := n.AdoptPort(r1, Descriptor{Name: PortName{1}, Peer: Address{Node: r0, Port: PortName{2}}, Proxy: PortName{4}, NextSendSeq: 1, NextRecvSeq: 1})
	if err != nil {
		t.Fatal(err)
	}
	if w := n.TakeWatchedNodes(); !slices.Equal(w, []NodeName{r0}) {
		t.Fatalf("after adopting a port whose peer is on r0: %v", w)
	}
	if err := n.AcceptEvent(r1, PeerMovedEvent{Target: p, Sender: PortName{4}, NewNode: r2, NewPort: PortName{5}}); err != nil {
		t.Fatal(err)
	}
	if w := n.TakeWatchedNodes(); !slices.Equal(w, []NodeName{r2}) {
		t.Fatalf("after the sender moved to r2: %v", w)
	}
	if err := n.AcceptEvent(r0, ObserveProxyEvent{Proxy: Address{Node: r0, Port: PortName{2}}, ProxyTarget: Address{Node: r3, Port: PortName{3}}, Referrer: p}); err != nil {
		t.Fatal(err)
	}
	if w := n.TakeWatchedNodes(); !slices.Equal(w, []NodeName{r3}) {
		t.Fatalf("after switching to a peer on r3: %v", w)
	}
	if w := n.TakeWatchedNodes(); len(w) != 0 {
		t.Fatalf("second take: %v", w)
	}
}
