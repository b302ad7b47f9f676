package ports

import "testing"

// A node that never held a pipe's end describes a port "sending" to one of
// the receiving node's own ports: the adopted port's messages and its
// closure wait at that port for a word the forger cannot give, so the
// pipe's real traffic flows on, untouched; when the forger is lost, they
// are dropped and the forged port is cut off.
func TestForgedDescriptorNamingALocalPortIsHeldUntilVouched(t *testing.T) {
	tn := newTestNet(t, 3)
	n := tn.nodes
	a, b := n[0].CreatePortPair()
	b = tn.move(b, 0, 1)
	// Node 2 is hostile: it holds the carrier pipe's other end, nothing else.
	inbox, forged := launder(t, tn, 2, Address{Node: n[0].Name(), Port: a}, 1)
	// The application uses the port it was given: it writes, then closes.
	mustSend(t, n[0], forged, "forged 1")
	if err := n[0].ClosePort(forged); err != nil {
		t.Fatal(err)
	}
	if st := mustStatus(t, n[0], a); st.PeerClosed || st.Readable {
		t.Fatalf("the forged port reached its peer: %+v", st)
	}
	if n[0].held[n[0].Name()] != 2 {
		t.Fatalf("held %v, want the forged port's 2 events", n[0].held)
	}
	// The real end goes on, in order.
	mustSend(t, n[1], b, "h1")
	tn.run()
	requireBodies(t, n[0], a, "h1")
	tn.kill(2)
	if len(n[0].held) != 0 || len(n[0].ports[a].rare().held) != 0 || len(n[0].ports[a].rare().vouchWaits) != 0 {
		t.Fatalf("after the forger was lost: held %v, on the port %d, waits %v", n[0].held, len(n[0].ports[a].rare().held), n[0].ports[a].rare().vouchWaits)
	}
	mustSend(t, n[1], b, "h2")
	tn.run()
	requireBodies(t, n[0], a, "h2")
	closeAll(t, tn, at{0, a}, at{1, b}, at{0, inbox})
}

// The honest case: a pipe's end comes back to the node of its peer. Its
// messages wait until the node it came from says it moved, and then
// arrive in order; nothing is refused and nothing is left held.
func TestEndReturningToItsPeersNodeIsVouchedFor(t *testing.T) {
	tn := newTestNet(t, 2)
	n := tn.nodes
	a, b := n[0].CreatePortPair()
	b = tn.move(b, 0, 1)
	tn.run()
	mustSend(t, n[1], b, "from 1")
	back, err := n[1].MovePort(b, n[0].Name())
	if err != nil {
		t.Fatal(err)
	}
	b, err = n[0].AdoptPort(n[1].Name(), back)
	if err != nil {
		t.Fatal(err)
	}
	// Before node 1 heard that the end arrived: held.
	mustSend(t, n[0], b, "from 0")
	if !n[0].ports[b].unvouched {
		t.Fatal("the returned end is not waiting to be vouched for")
	}
	tn.run()
	requireBodies(t, n[0], a, "from 1", "from 0")
	if len(n[0].held) != 0 || n[0].ports[b].unvouched || len(n[0].ports[a].rare().vouchWaits) != 0 {
		t.Fatalf("after the run: held %v, unvouched %v, waits %v", n[0].held, n[0].ports[b].unvouched, n[0].ports[a].rare().vouchWaits)
	}
	mustSend(t, n[0], a, "back")
	requireBodies(t, n[0], b, "back")
	closeAll(t, tn, at{0, a}, at{0, b})
}
