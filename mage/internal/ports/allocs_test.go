package ports

import (
	"testing"
)

// allocRuns is how many messages each allocation count averages over:
// enough that a rare allocation of the runtime's own rounds away.
const allocRuns = 1000

// TestNoAllocationPerLocalMessage: a message between the two ends of a
// pipe on one node, sent, taken and its status change taken, allocates
// nothing once the node's arrays and the port's queue exist.
func TestNoAllocationPerLocalMessage(t *testing.T) {
	n := NewNode(Config{Name: testNodeName(0)})
	a, b := n.CreatePortPair()
	body := new(int)
	var seq uint64
	roundTrip := func() {
		seq++
		if err := n.SendMessage(a, Message{Body: body}); err != nil {
			t.Fatal(err)
		}
		if got := n.TakeStatusChanges(); len(got) != 1 || got[0] != b {
			t.Fatalf("status changes %v, want [%v]", got, b)
		}
		m, ok, err := n.GetMessage(b)
		if err != nil || !ok || m.Seq != seq || m.Body != body {
			t.Fatalf("GetMessage: %+v, %v, %v; want message %d", m, ok, err, seq)
		}
		if out := n.TakeOutgoing(); len(out) != 0 {
			t.Fatalf("a local message sent %d events to other nodes", len(out))
		}
	}
	roundTrip()
	roundTrip()
	if allocs := testing.AllocsPerRun(allocRuns, roundTrip); allocs != 0 {
		t.Fatalf("a message between local ports allocates %.1f times, want 0", allocs)
	}
}

// TestNoAllocationPerMessageThroughProxy: a message sent from a port whose
// peer just moved to another node goes through the proxy left behind, out
// as a user event, into the moved port there and to its reader, and none of
// it allocates. The move stays unacknowledged, so the proxy stays.
func TestNoAllocationPerMessageThroughProxy(t *testing.T) {
	n0 := NewNode(Config{Name: testNodeName(0)})
	n1 := NewNode(Config{Name: testNodeName(1)})
	a, b := n0.CreatePortPair()
	d, err := n0.MovePort(b, n1.Name())
	if err != nil {
		t.Fatal(err)
	}
	moved, err := n1.AdoptPort(n0.Name(), d)
	if err != nil {
		t.Fatal(err)
	}
	// Held back, so that the proxy stays: the PortAcceptedEvent.
	if out := n1.TakeOutgoing(); len(out) != 1 {
		t.Fatalf("%d events after the adoption, want the acknowledgement", len(out))
	}
	if n0.ProxyCount() != 1 {
		t.Fatalf("%d proxies on the sending node, want 1", n0.ProxyCount())
	}
	body := new(int)
	var seq uint64
	send := func() {
		seq++
		if err := n0.SendMessage(a, Message{Body: body}); err != nil {
			t.Fatal(err)
		}
		out := n0.TakeOutgoing()
		if len(out) != 1 || out[0].To != n1.Name() {
			t.Fatalf("%d events out of the proxy, want one for node 1", len(out))
		}
		u, ok := out[0].User()
		if !ok || u.Target != moved || u.Seq != seq || u.Body != body {
			t.Fatalf("event out of the proxy %+v, want message %d for %v", out[0].Event(), seq, moved)
		}
		n0.TakeStatusChanges()
		if err := n1.AcceptEvent(n0.Name(), u); err != nil {
			t.Fatal(err)
		}
		if got := n1.TakeStatusChanges(); len(got) != 1 || got[0] != moved {
			t.Fatalf("status changes %v, want [%v]", got, moved)
		}
		m, ok, err := n1.GetMessage(moved)
		if err != nil || !ok || m.Seq != seq || m.Body != body {
			t.Fatalf("GetMessage: %+v, %v, %v; want message %d", m, ok, err, seq)
		}
		if out := n1.TakeOutgoing(); len(out) != 0 {
			t.Fatalf("receiving a message sent %d events", len(out))
		}
	}
	send()
	send()
	if allocs := testing.AllocsPerRun(allocRuns, send); allocs != 0 {
		t.Fatalf("a message through a proxy to another node allocates %.1f times, want 0", allocs)
	}
	if err := n0.internalErr; err != nil {
		t.Fatal(err)
	}
	if err := n1.internalErr; err != nil {
		t.Fatal(err)
	}
}

// TestNoAllocationPerReorderedMessage: messages that arrive out of order
// wait in the port's queue, held by value; taking them in order allocates
// nothing once the queue has grown to the reordering seen.
func TestNoAllocationPerReorderedMessage(t *testing.T) {
	remote := testNodeName(1)
	n := NewNode(Config{Name: testNodeName(0)})
	p, err := n.AdoptPort(remote, Descriptor{Name: PortName{7}, Peer: Address{Node: remote, Port: PortName{8}}, Proxy: PortName{8}, NextSendSeq: 1, NextRecvSeq: 1})
	if err != nil {
		t.Fatal(err)
	}
	n.TakeOutgoing()
	const burst = 16
	bodies := make([]*int, burst)
	for i := range bodies {
		bodies[i] = new(int)
	}
	next := uint64(1)
	reordered := func() {
		// Sent as next+burst-1 down to next: none is readable until the
		// last arrives.
		for i := burst - 1; i >= 0; i-- {
			ev := UserEvent{Target: p, Sender: PortName{8}, Seq: next + uint64(i), Body: bodies[i]}
			if err := n.AcceptEvent(remote, ev); err != nil {
				t.Fatal(err)
			}
		}
		n.TakeStatusChanges()
		for i := range burst {
			m, ok, err := n.GetMessage(p)
			if err != nil || !ok || m.Seq != next+uint64(i) || m.Body != bodies[i] {
				t.Fatalf("GetMessage: %+v, %v, %v; want message %d", m, ok, err, next+uint64(i))
			}
		}
		if _, ok, _ := n.GetMessage(p); ok {
			t.Fatal("a message more than was sent")
		}
		next += burst
	}
	reordered()
	reordered()
	if allocs := testing.AllocsPerRun(allocRuns/burst, reordered); allocs != 0 {
		t.Fatalf("%d reordered messages allocate %.1f times, want 0", burst, allocs)
	}
}
