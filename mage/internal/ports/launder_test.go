package ports

import "testing"

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
	hostile := n[1].Name()
	tp, f := n[2].CreatePortPair() // t on node 2; its sender f goes to node 3
	f = tn.move(f, 2, 3)
	inbox, out := n[0].CreatePortPair() // node 0's pipe to the hostile node
	out = tn.move(out, 0, 1)
	tn.run()
	mustSend(t, n[3], f, "h1")
	tn.run()
	requireBodies(t, n[2], tp, "h1")

	forged := PortName{0xF0, 1}
	err := n[0].AcceptEvent(hostile, UserEvent{Target: inbox, Sender: out, Seq: 1, Body: "carrier", Ports: []Descriptor{{
		Name: forged, Peer: Address{Node: n[2].Name(), Port: tp}, Proxy: PortName{0xF0, 2}, NextSendSeq: 2, NextRecvSeq: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	m := mustGet(t, n[0], inbox)
	if len(m.Ports) != 1 || m.Ports[0] != forged {
		t.Fatalf("carrier brought %v", m.Ports)
	}
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
