package ports

import (
	"errors"
	"testing"
)

// Laundering through a descriptor naming a third node's port: a hostile
// node (1) hands node 0 a made-up descriptor whose peer is port t of node
// 2, whose real sender lives on node 3. Node 0 cannot check it, so its
// port speaks to t as node 0; but it is a stint of its own, (node 0, the
// forged port), which no honest event starts. What it sends is held at t
// and never applied. When the real end later moves to node 0, that move
// is accepted (it starts a different stint), its traffic flows in order,
// and the forged port's events still are not applied.
func TestForgedDescriptorNamingAThirdNodesPortIsNeverApplied(t *testing.T) {
	tn := newTestNet(t, 4)
	n := tn.nodes
	tp, f := n[2].CreatePortPair() // t on node 2; its sender f goes to node 3
	f = tn.move(f, 2, 3)
	tn.run()
	mustSend(t, n[3], f, "h1")
	tn.run()
	requireBodies(t, n[2], tp, "h1")
	inbox, forged := launder(t, tn, 1, Address{Node: n[2].Name(), Port: tp}, 2)
	// The application uses the port it was given. Seq 2 is the next the
	// real sender will use too.
	mustSend(t, n[0], forged, "forged 2")
	tn.run() // fails on any refusal: held, not charged
	if st := mustStatus(t, n[2], tp); st.Readable || st.PeerClosed {
		t.Fatalf("the forged port reached t: %+v", st)
	}
	if got := n[2].held[n[0].Name()]; got != 1 {
		t.Fatalf("node 2 holds %d events of node 0, want the forged message", got)
	}

	// The real end moves to node 0, the node the forged port is on: the
	// move is accepted (tn.move and tn.run fail on any error) and its
	// traffic arrives in order, the forged message never.
	f = tn.move(f, 3, 0)
	mustSend(t, n[0], f, "h2")
	mustSend(t, n[0], f, "h3")
	tn.run()
	requireBodies(t, n[2], tp, "h2", "h3")
	mustSend(t, n[2], tp, "back")
	tn.run()
	requireBodies(t, n[0], f, "back")
	if got := n[2].held[n[0].Name()]; got != 1 {
		t.Fatalf("node 2 holds %d events of node 0, want the forged message still", got)
	}

	// The forged port closes: its closure is held too, t stays open.
	if err := n[0].ClosePort(forged); err != nil {
		t.Fatal(err)
	}
	tn.run()
	requireOpen(t, n[2], tp)
	mustSend(t, n[0], f, "h4")
	tn.run()
	requireBodies(t, n[2], tp, "h4")
	// The hostile node is cut off; nothing it caused is applied later.
	tn.kill(1)
	mustSend(t, n[0], f, "h5")
	tn.run()
	requireBodies(t, n[2], tp, "h5")
	requireOpen(t, n[2], tp)
	closeAll(t, tn, at{2, tp}, at{0, f}, at{0, inbox})
}

// launder plays the hostile node h's part: over a pipe of its own to node
// 0 (inbox is node 0's end), it hands node 0 a made-up descriptor whose
// peer is peer and whose next number is nextSend. Node 0 adopts it: forged
// is the port, read off inbox.
func launder(t *testing.T, tn *testNet, h int, peer Address, nextSend uint64) (inbox, forged PortName) {
	t.Helper()
	n := tn.nodes
	inbox, out := n[0].CreatePortPair()
	out = tn.move(out, 0, h)
	tn.run()
	forged = PortName{0xF0, 1}
	err := n[0].AcceptEvent(n[h].Name(), UserEvent{Target: inbox, Sender: out, Seq: 1, Body: "carrier", Ports: []Descriptor{{
		Name: forged, Peer: peer, Proxy: PortName{0xF0, 2}, NextSendSeq: nextSend, NextRecvSeq: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if m := mustGet(t, n[0], inbox); len(m.Ports) != 1 || m.Ports[0] != forged {
		t.Fatalf("carrier brought %v", m.Ports)
	}
	return inbox, forged
}

// The laundered port's application writes more than node 0's hold at node
// 2: node 2 refuses the laundered stint, not node 0, which only relayed a
// descriptor it could not check. Node 0 stays connected, its honest pipe
// to node 2 keeps working in order, and nothing of the laundered port
// stays held.
func TestLaunderedPortPastTheHoldIsRefusedNotCharged(t *testing.T) {
	tn := newTestNet(t, 4)
	n := tn.nodes
	tp, f := n[2].CreatePortPair()
	f = tn.move(f, 2, 3)
	inbox, forged := launder(t, tn, 1, Address{Node: n[2].Name(), Port: tp}, 1)
	// Another of node 0's pipes to node 2, honest, moving while the flood
	// is held: its stint must not be refused.
	hp, hq := n[2].CreatePortPair()
	hq = tn.move(hq, 2, 0)
	mustSend(t, n[0], hq, "honest 1")
	for i := range DefaultMaxHeldEvents + 100 {
		mustSend(t, n[0], forged, i)
		if i%512 == 0 {
			tn.run() // fails on any refusal charged to node 0
		}
	}
	mustSend(t, n[0], hq, "honest 2")
	tn.run()
	requireBodies(t, n[2], hp, "honest 1", "honest 2")
	if st := mustStatus(t, n[2], tp); st.Readable || st.PeerClosed {
		t.Fatalf("the laundered port reached t: %+v", st)
	}
	if got := n[2].held[n[0].Name()]; got > DefaultMaxHeldEvents/2 {
		t.Fatalf("node 2 holds %d events of node 0 after refusing the laundered stint", got)
	}
	mustSend(t, n[3], f, "h1")
	f = tn.move(f, 3, 0)
	mustSend(t, n[0], f, "h2")
	tn.run()
	requireBodies(t, n[2], tp, "h1", "h2")
	if err := n[0].ClosePort(forged); err != nil {
		t.Fatal(err)
	}
	tn.kill(1)
	tn.run()
	requireOpen(t, n[2], tp)
	mustSend(t, n[0], f, "h3")
	tn.run()
	requireBodies(t, n[2], tp, "h3")
	closeAll(t, tn, at{2, tp}, at{0, f}, at{0, inbox}, at{2, hp}, at{0, hq})
}

// A made-up descriptor's sequence numbers are the forger's choice: a
// laundered port that numbers its messages beyond node 2's reordering
// window is refused as a stint, not charged to node 0, which numbered
// them as the descriptor said.
func TestLaunderedPortBeyondTheWindowIsRefusedNotCharged(t *testing.T) {
	tn := newTestNet(t, 4)
	n := tn.nodes
	tp, f := n[2].CreatePortPair()
	f = tn.move(f, 2, 3)
	inbox, forged := launder(t, tn, 1, Address{Node: n[2].Name(), Port: tp}, 1<<20)
	mustSend(t, n[0], forged, "far ahead 1")
	mustSend(t, n[0], forged, "far ahead 2")
	tn.run() // fails on any refusal charged to node 0
	if got := n[2].held[n[0].Name()]; got != 1 {
		t.Fatalf("node 2 holds %d events of node 0, want the mark of the refused stint", got)
	}
	if len(tn.dropped) != 2 {
		t.Fatalf("dropped %v, want both messages of the laundered port", tn.dropped)
	}
	mustSend(t, n[3], f, "h1")
	tn.run()
	requireBodies(t, n[2], tp, "h1")
	tn.kill(1)
	closeAll(t, tn, at{2, tp}, at{3, f}, at{0, inbox}, at{0, forged})
}

// Messages beyond the window from stints made up one per message leave a
// mark each: the marks stay within the hold, and a hold of nothing but
// marks is charged to the node that made them up.
func TestStintsBeyondTheWindowStayWithinTheHold(t *testing.T) {
	tn, a, _, _, _ := forgeryNet(t, true)
	n := tn.nodes
	var err error
	for i := 0; err == nil && i <= DefaultMaxHeldEvents; i++ {
		err = n[0].AcceptEvent(n[1].Name(), UserEvent{Target: a, Sender: PortName{0x30, byte(i), byte(i >> 8)}, Seq: 1 << 30, Body: "made up"})
	}
	var ee *EventError
	if !errors.Is(err, ErrTooManyHeld) || !errors.As(err, &ee) || ee.From != n[1].Name() {
		t.Fatalf("marks past the hold: %v, want ErrTooManyHeld charged to node 1", err)
	}
	if got := n[0].held[n[1].Name()]; got > DefaultMaxHeldEvents {
		t.Fatalf("node 0 holds %d events of node 1, more than the hold", got)
	}
}
