package ports

import (
	"errors"
	"fmt"
	"testing"
)

func TestMoveWithQueuedMessages(t *testing.T) {
	tn := newTestNet(t, 2)
	n0, n1 := tn.nodes[0], tn.nodes[1]
	a, b := n0.CreatePortPair()
	c, d := n0.CreatePortPair()
	d1 := tn.move(d, 0, 1)
	for i := 1; i <= 3; i++ {
		mustSend(t, n0, a, i)
	}
	mustSend(t, n0, b, "b before move")
	mustSend(t, n0, c, "carrier", b)
	requireErr(t, n0.SendMessage(b, Message{}), ErrPortInTransit)
	for i := 4; i <= 5; i++ {
		mustSend(t, n0, a, i) // reaches b's proxy, which forwards
	}
	tn.run()
	m := mustGet(t, n1, d1)
	if m.Body != "carrier" || len(m.Ports) != 1 {
		t.Fatalf("carrier %+v", m)
	}
	b1 := m.Ports[0]
	requireBodies(t, n1, b1, 1, 2, 3, 4, 5)
	requireNone(t, n1, b1)
	requireBodies(t, n0, a, "b before move")
	mustSend(t, n1, b1, "b after move")
	tn.run()
	requireBodies(t, n0, a, "b after move")
	if got := n0.PortCount(); got != 2 { // a and c; the proxies were bypassed
		t.Fatalf("node 0 has %d ports, want 2:%s", got, n0.dump())
	}
	for _, p := range []struct {
		n *Node
		p PortName
	}{{n0, a}, {n1, b1}, {n0, c}, {n1, d1}} {
		if err := p.n.ClosePort(p.p); err != nil {
			t.Fatal(err)
		}
		tn.run()
	}
	tn.requireNoPorts()
}

// nest builds three pipes each holding messages, the inner pipe's receiving
// end travelling inside the middle's queue, and the middle's inside the
// outer's. It returns the outer receiving end and the expected contents.
func nest(t *testing.T, n *Node) (PortName, []PortName) {
	var senders []PortName
	var inner PortName
	for level := 3; level >= 1; level-- {
		s, r := n.CreatePortPair()
		senders = append(senders, s)
		mustSend(t, n, s, fmt.Sprintf("L%d-1", level))
		if level < 3 {
			mustSend(t, n, s, fmt.Sprintf("L%d-carrier", level), inner)
		}
		mustSend(t, n, s, fmt.Sprintf("L%d-2", level))
		inner = r
	}
	return inner, senders
}

// takeNest checks the contents nest made, now on node n.
func takeNest(t *testing.T, n *Node, outer PortName) []PortName {
	t.Helper()
	var ends []PortName
	p := outer
	for level := 1; level <= 3; level++ {
		ends = append(ends, p)
		requireBodies(t, n, p, fmt.Sprintf("L%d-1", level))
		var next PortName
		if level < 3 {
			m := mustGet(t, n, p)
			if m.Body != fmt.Sprintf("L%d-carrier", level) || len(m.Ports) != 1 {
				t.Fatalf("level %d carrier %+v", level, m)
			}
			next = m.Ports[0]
		}
		requireBodies(t, n, p, fmt.Sprintf("L%d-2", level))
		requireNone(t, n, p)
		p = next
	}
	return ends
}

func TestNestedMoveThreeLevels(t *testing.T) {
	for _, via := range []string{"direct", "through a proxy"} {
		t.Run(via, func(t *testing.T) {
			tn := newTestNet(t, 3)
			n0 := tn.nodes[0]
			c, d := n0.CreatePortPair()
			dest := 1
			dd := tn.move(d, 0, 1)
			if via == "through a proxy" {
				dd = tn.move(dd, 1, 2) // the carrier reaches node 1's proxy first
				dest = 2
			}
			outer, senders := nest(t, n0)
			mustSend(t, n0, c, "carrier", outer)
			tn.run()
			nd := tn.nodes[dest]
			m := mustGet(t, nd, dd)
			if len(m.Ports) != 1 {
				t.Fatalf("carrier %+v", m)
			}
			ends := takeNest(t, nd, m.Ports[0])
			for i, s := range senders {
				mustSend(t, n0, s, "after")
				tn.run()
				requireBodies(t, nd, ends[2-i], "after")
				if err := n0.ClosePort(s); err != nil {
					t.Fatal(err)
				}
			}
			for _, e := range append(ends, dd) {
				if err := nd.ClosePort(e); err != nil {
					t.Fatal(err)
				}
			}
			if err := n0.ClosePort(c); err != nil {
				t.Fatal(err)
			}
			tn.run()
			tn.requireNoPorts()
		})
	}
}

func TestPortPassedBackAndForth(t *testing.T) {
	tn := newTestNet(t, 2)
	n := tn.nodes
	x, y := n[0].CreatePortPair()
	c, d := n[0].CreatePortPair()
	d = tn.move(d, 0, 1)
	carrier := [2]PortName{c, d}
	var toX, toY int // messages sent to each end
	var gotX, gotY int
	take := func(node int, p PortName, got *int) {
		for {
			m, ok, err := n[node].GetMessage(p)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				return
			}
			if m.Body != *got+1 {
				t.Fatalf("body %v, want %d", m.Body, *got+1)
			}
			*got++
		}
	}
	at := 0
	for trip := range 20 {
		// Traffic both ways, partly delivered, while x moves.
		toX++
		mustSend(t, n[0], y, toX)
		toY++
		mustSend(t, n[at], x, toY)
		take(at, x, &gotX)
		mustSend(t, n[at], carrier[at], "x", x)
		toX++
		mustSend(t, n[0], y, toX) // x is in flight
		for range trip % 3 {
			tn.step(0, 1)
			tn.step(1, 0)
		}
		tn.run()
		at = 1 - at
		m := mustGet(t, n[at], carrier[at])
		x = m.Ports[0]
		take(0, y, &gotY)
	}
	tn.run()
	take(at, x, &gotX)
	take(0, y, &gotY)
	if gotX != toX || gotY != toY {
		t.Fatalf("x took %d of %d, y took %d of %d", gotX, toX, gotY, toY)
	}
	if at != 0 {
		t.Fatal("x should be home")
	}
	for _, p := range []PortName{x, y, c} {
		if err := n[0].ClosePort(p); err != nil {
			t.Fatal(err)
		}
	}
	tn.run()
	if err := n[1].ClosePort(d); err != nil {
		t.Fatal(err)
	}
	tn.run()
	tn.requireNoPorts()
}

func TestClosureAfterMessagesAcrossProxies(t *testing.T) {
	tn := newTestNet(t, 3)
	n0, n2 := tn.nodes[0], tn.nodes[2]
	a, b := n0.CreatePortPair()
	mustSend(t, n0, a, 1)
	b = tn.move(b, 0, 1) // message 1 travels behind the descriptor
	mustSend(t, n0, a, 2)
	b = tn.move(b, 1, 2)
	mustSend(t, n0, a, 3)
	if err := n0.ClosePort(a); err != nil {
		t.Fatal(err)
	}
	// Let the closure overtake the messages where links allow.
	tn.step(0, 1)
	tn.step(0, 1)
	tn.run()
	for want := 1; want <= 3; want++ {
		if s := mustStatus(t, n2, b); s.PeerClosed {
			t.Fatalf("peer closed before message %d", want)
		}
		requireBodies(t, n2, b, want)
	}
	if s := mustStatus(t, n2, b); !s.PeerClosed || s.Reason != ReasonPeerClosed {
		t.Fatalf("status %+v", s)
	}
	if c := tn.portCounts(); c[0] != 0 || c[1] != 0 {
		t.Fatalf("proxies left behind a closed pipe: %v", c)
	}
	if err := n2.ClosePort(b); err != nil {
		t.Fatal(err)
	}
	tn.run()
	tn.requireNoPorts()
}

func TestLostNodePeer(t *testing.T) {
	tn := newTestNet(t, 2)
	n0 := tn.nodes[0]
	a, b := n0.CreatePortPair()
	mustSend(t, n0, a, "to b")
	tn.move(b, 0, 1)
	tn.run()
	tn.kill(1)
	s := mustStatus(t, n0, a)
	if !s.PeerClosed || s.Reason != ReasonNodeLost || s.LostNode != tn.nodes[1].Name() {
		t.Fatalf("status %+v", s)
	}
	requireErr(t, n0.SendMessage(a, Message{}), ErrPeerClosed)
	if err := n0.ClosePort(a); err != nil {
		t.Fatal(err)
	}
	tn.run()
	tn.requireNoPorts()
}

// A node that dies while it still forwards part of a pipe breaks the pipe:
// both ends learn, after what arrived in sequence.
func TestLostNodeInTheMiddle(t *testing.T) {
	tn := newTestNet(t, 3)
	n0, n2 := tn.nodes[0], tn.nodes[2]
	a, b := n0.CreatePortPair()
	mustSend(t, n0, a, 1)
	b = tn.move(b, 0, 1)
	b = tn.move(b, 1, 2)
	// No move is acknowledged yet, so no proxy is bypassed: the route goes
	// through node 1.
	mustSend(t, n0, a, 2)
	mustSend(t, n0, a, 3)
	tn.step(0, 1) // 1 reaches node 1's proxy and goes on; 2 and 3 stay behind
	tn.step(1, 2)
	tn.kill(1)
	tn.run()
	requireBodies(t, n2, b, 1)
	s := mustStatus(t, n2, b)
	if !s.PeerClosed || s.Reason != ReasonNodeLost {
		t.Fatalf("node 2 status %+v", s)
	}
	if s := mustStatus(t, n0, a); !s.PeerClosed || s.Reason != ReasonNodeLost {
		t.Fatalf("node 0 status %+v", s)
	}
	for _, p := range []struct {
		n *Node
		p PortName
	}{{n0, a}, {n2, b}} {
		if err := p.n.ClosePort(p.p); err != nil {
			t.Fatal(err)
		}
	}
	tn.run()
	tn.requireNoPorts()
}

// A message in flight from a node the peer end has left is lost with that
// node: the receiver must not wait for it forever.
func TestLostNodeSwallowsMessageFromFormerLocation(t *testing.T) {
	tn := newTestNet(t, 3)
	n0, n1, n2 := tn.nodes[0], tn.nodes[1], tn.nodes[2]
	a, b := n0.CreatePortPair()
	b = tn.move(b, 0, 1)
	tn.run()
	mustSend(t, n1, b, 1) // in flight 1->0, to be lost
	b = tn.move(b, 1, 2)
	tn.step(1, 2)
	mustSend(t, n2, b, 2)
	if err := n2.ClosePort(b); err != nil {
		t.Fatal(err)
	}
	tn.step(2, 0)
	tn.step(2, 0)
	tn.kill(1)
	tn.run()
	s := mustStatus(t, n0, a)
	if !s.PeerClosed || s.Reason != ReasonNodeLost || s.Readable {
		t.Fatalf("status %+v", s)
	}
	if err := n0.ClosePort(a); err != nil {
		t.Fatal(err)
	}
	tn.run()
	tn.requireNoPorts()
}

// A node that dies after the closure was observed but before the messages
// it carried arrived.
func TestLostNodeAfterClosureKeepsPrefix(t *testing.T) {
	tn := newTestNet(t, 3)
	n0, n2 := tn.nodes[0], tn.nodes[2]
	a, b := n0.CreatePortPair()
	b = tn.move(b, 0, 1)
	b = tn.move(b, 1, 2)
	// The moves are not acknowledged yet: the route goes through node 1.
	for i := 1; i <= 3; i++ {
		mustSend(t, n0, a, i)
	}
	if err := n0.ClosePort(a); err != nil {
		t.Fatal(err)
	}
	tn.step(0, 1) // message 1 to node 1, forwarded
	tn.step(1, 2)
	tn.kill(1)
	tn.run()
	requireBodies(t, n2, b, 1)
	requireNone(t, n2, b)
	if s := mustStatus(t, n2, b); !s.PeerClosed || s.Reason != ReasonNodeLost {
		t.Fatalf("status %+v", s)
	}
	if err := n2.ClosePort(b); err != nil {
		t.Fatal(err)
	}
	tn.run()
	tn.requireNoPorts()
}

func TestMoveRefusals(t *testing.T) {
	tn := newTestNet(t, 2)
	n0 := tn.nodes[0]
	a, _ := n0.CreatePortPair()
	tn.kill(1)
	if _, err := n0.MovePort(a, tn.nodes[1].Name()); err == nil {
		t.Fatal("MovePort to a lost node succeeded")
	}
	if _, err := n0.MovePort(a, NodeName{}); err == nil {
		t.Fatal("MovePort to the zero node succeeded")
	}
	if _, err := n0.AdoptPort(n0.Name(), Descriptor{}); err == nil {
		t.Fatal("AdoptPort from self succeeded")
	}
}

// A loss keeps everything that arrived in sequence, including messages that
// arrived out of order before the gap closed.
func TestLostNodeKeepsReorderedPrefix(t *testing.T) {
	n := newTestNet(t, 1).nodes[0]
	remote := testNodeName(9)
	p, err := n.AdoptPort(remote, Descriptor{Name: PortName{2}, Peer: Address{Node: remote, Port: PortName{1}}, Proxy: PortName{1}, NextSendSeq: 1, NextRecvSeq: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{2, 4, 1} {
		if err := n.AcceptEvent(remote, UserEvent{Target: p, Sender: PortName{1}, Seq: seq, Body: seq}); err != nil {
			t.Fatal(err)
		}
	}
	n.LostNode(remote)
	requireBodies(t, n, p, uint64(1), uint64(2))
	requireNone(t, n, p)
	if s := mustStatus(t, n, p); !s.PeerClosed || s.Reason != ReasonNodeLost || s.LostNode != remote {
		t.Fatalf("status %+v", s)
	}
	// Late arrivals after the cut are dropped quietly.
	if err := n.AcceptEvent(remote, UserEvent{Target: p, Sender: PortName{1}, Seq: 3, Body: "late"}); err != nil {
		t.Fatalf("late arrival: %v", err)
	}
	requireNone(t, n, p)
}

// TestNextNode: while a port's peer is a proxy on this node (the end just
// moved away), what the port sends leaves for the node the proxy forwards
// to; once the route collapsed, for the peer's node; a pipe within one node
// stays there.
func TestNextNode(t *testing.T) {
	tn := newTestNet(t, 2)
	n0, n1 := tn.nodes[0], tn.nodes[1]
	a, b := n0.CreatePortPair()
	if got, err := n0.NextNode(a); err != nil || got != n0.Name() {
		t.Fatalf("NextNode of a local pipe: %v, %v; want this node", got, err)
	}
	tn.move(b, 0, 1)
	if peer, err := n0.Peer(a); err != nil || peer.Node != n0.Name() {
		t.Fatalf("before the collapse, a's peer is %v, %v; want the proxy on node 0", peer, err)
	}
	if got, err := n0.NextNode(a); err != nil || got != n1.Name() {
		t.Fatalf("NextNode through the proxy: %v, %v; want node 1", got, err)
	}
	tn.run()
	if got, err := n0.NextNode(a); err != nil || got != n1.Name() {
		t.Fatalf("NextNode after the collapse: %v, %v; want node 1", got, err)
	}
	if _, err := n0.NextNode(b); !errors.Is(err, ErrUnknownPort) {
		t.Fatalf("NextNode of a port gone: %v, want ErrUnknownPort", err)
	}
}
