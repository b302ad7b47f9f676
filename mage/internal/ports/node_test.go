package ports

import (
	"errors"
	"slices"
	"testing"
)

func TestPairSendGetClose(t *testing.T) {
	tn := newTestNet(t, 1)
	n := tn.nodes[0]
	a, b := n.CreatePortPair()
	if a == b || a.IsZero() || b.IsZero() {
		t.Fatalf("bad names %v %v", a, b)
	}
	if s := mustStatus(t, n, b); s.Readable || s.PeerClosed {
		t.Fatalf("fresh port status %+v", s)
	}
	for i := range 3 {
		mustSend(t, n, a, i)
	}
	mustSend(t, n, b, "back")
	if got := n.TakeOutgoing(); len(got) != 0 {
		t.Fatalf("same-node pipe produced outgoing events: %v", got)
	}
	if s := mustStatus(t, n, b); !s.Readable {
		t.Fatalf("status %+v, want readable", s)
	}
	for i := range 3 {
		m := mustGet(t, n, b)
		if m.Body != i || m.Seq != uint64(i+1) {
			t.Fatalf("got body %v seq %d, want %d seq %d", m.Body, m.Seq, i, i+1)
		}
	}
	requireNone(t, n, b)
	requireBodies(t, n, a, "back")
	if err := n.ClosePort(a); err != nil {
		t.Fatal(err)
	}
	s := mustStatus(t, n, b)
	if !s.PeerClosed || s.Reason != ReasonPeerClosed || s.Readable {
		t.Fatalf("status after peer close %+v", s)
	}
	requireErr(t, n.SendMessage(b, Message{}), ErrPeerClosed)
	if n.PortCount() != 1 {
		t.Fatalf("PortCount %d, want 1", n.PortCount())
	}
	if err := n.ClosePort(b); err != nil {
		t.Fatal(err)
	}
	tn.requireNoPorts()
	if len(n.TakeOutgoing()) != 0 {
		t.Fatal("outgoing events on a single node")
	}
}

func TestPeerClosedOnlyAfterAllTaken(t *testing.T) {
	tn := newTestNet(t, 1)
	n := tn.nodes[0]
	a, b := n.CreatePortPair()
	mustSend(t, n, a, 1)
	mustSend(t, n, a, 2)
	if err := n.ClosePort(a); err != nil {
		t.Fatal(err)
	}
	for _, want := range []any{1, 2} {
		if s := mustStatus(t, n, b); s.PeerClosed || !s.Readable {
			t.Fatalf("before taking %v: %+v", want, s)
		}
		requireBodies(t, n, b, want)
	}
	if s := mustStatus(t, n, b); !s.PeerClosed || s.Readable {
		t.Fatalf("after taking all: %+v", s)
	}
	changed := n.TakeStatusChanges()
	if !containsPort(changed, b) {
		t.Fatalf("status changes %v lack %v", changed, b)
	}
}

func withoutAccepts(out []Outgoing) []Outgoing {
	return slices.DeleteFunc(out, func(o Outgoing) bool {
		_, ok := o.Event().(PortAcceptedEvent)
		return ok
	})
}

func containsPort(ps []PortName, p PortName) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

func TestStatusChangesDeduplicated(t *testing.T) {
	n := newTestNet(t, 1).nodes[0]
	a, b := n.CreatePortPair()
	n.TakeStatusChanges()
	mustSend(t, n, a, 1)
	mustSend(t, n, a, 2)
	got := n.TakeStatusChanges()
	if len(got) != 1 || got[0] != b {
		t.Fatalf("changes %v, want [%v]", got, b)
	}
	if got := n.TakeStatusChanges(); len(got) != 0 {
		t.Fatalf("second take %v", got)
	}
}

func TestReorderQueue(t *testing.T) {
	n := newTestNet(t, 1).nodes[0]
	remote := testNodeName(9)
	peer := Address{Node: remote, Port: PortName{1}}
	p, err := n.AdoptPort(remote, Descriptor{Name: PortName{2}, Peer: peer, Proxy: peer.Port, NextSendSeq: 1, NextRecvSeq: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{3, 2} {
		if err := n.AcceptEvent(remote, UserEvent{Target: p, Sender: peer.Port, Seq: seq, Body: seq}); err != nil {
			t.Fatal(err)
		}
		if s := mustStatus(t, n, p); s.Readable {
			t.Fatalf("readable with seq 1 missing")
		}
		requireNone(t, n, p)
	}
	if err := n.AcceptEvent(remote, UserEvent{Target: p, Sender: peer.Port, Seq: 1, Body: uint64(1)}); err != nil {
		t.Fatal(err)
	}
	requireBodies(t, n, p, uint64(1), uint64(2), uint64(3))
	requireNone(t, n, p)

	// A closure naming seq 5 holds PeerClosed back until 4 and 5 are taken.
	if err := n.AcceptEvent(remote, ClosureEvent{Target: p, Sender: peer.Port, LastSeq: 5}); err != nil {
		t.Fatal(err)
	}
	out := withoutAccepts(n.TakeOutgoing())
	if len(out) != 1 || out[0].To != remote || out[0].Event() != (ClosureEvent{Target: peer.Port, Sender: p, LastSeq: 0}) {
		t.Fatalf("closure answer %#v", out)
	}
	for _, seq := range []uint64{5, 4} {
		if s := mustStatus(t, n, p); s.PeerClosed {
			t.Fatal("peer closed before its messages arrived")
		}
		if err := n.AcceptEvent(remote, UserEvent{Target: p, Sender: peer.Port, Seq: seq, Body: seq}); err != nil {
			t.Fatal(err)
		}
	}
	requireBodies(t, n, p, uint64(4), uint64(5))
	if s := mustStatus(t, n, p); !s.PeerClosed || s.Reason != ReasonPeerClosed {
		t.Fatalf("status %+v", s)
	}
}

func TestAttachPortSameNode(t *testing.T) {
	tn := newTestNet(t, 1)
	n := tn.nodes[0]
	a, b := n.CreatePortPair()
	c, d := n.CreatePortPair()
	mustSend(t, n, d, "queued on c")
	mustSend(t, n, a, "carrier", c)
	// c belongs to the message now.
	requireErr(t, n.SendMessage(c, Message{}), ErrPortInTransit)
	_, _, err := n.GetMessage(c)
	requireErr(t, err, ErrPortInTransit)
	requireErr(t, n.ClosePort(c), ErrPortInTransit)
	m := mustGet(t, n, b)
	if m.Body != "carrier" || len(m.Ports) != 1 || m.Ports[0] != c {
		t.Fatalf("got %+v", m)
	}
	requireBodies(t, n, c, "queued on c")
	mustSend(t, n, c, "from c")
	requireBodies(t, n, d, "from c")
	for _, p := range []PortName{a, b, c, d} {
		if err := n.ClosePort(p); err != nil {
			t.Fatal(err)
		}
	}
	tn.requireNoPorts()
}

func TestCloseDiscardsQueuedRecursively(t *testing.T) {
	tn := newTestNet(t, 1)
	n := tn.nodes[0]
	a, b := n.CreatePortPair()
	c, d := n.CreatePortPair()
	e, f := n.CreatePortPair()
	mustSend(t, n, f, "inner")     // queued on e
	mustSend(t, n, d, "middle", e) // queued on c, carries e
	mustSend(t, n, a, "outer", c)  // queued on b, carries c
	if err := n.ClosePort(b); err != nil {
		t.Fatal(err)
	}
	if len(tn.dropped) != 3 {
		t.Fatalf("dropped %v, want 3 bodies", tn.dropped)
	}
	for _, p := range []PortName{a, d, f} {
		if s := mustStatus(t, n, p); !s.PeerClosed {
			t.Fatalf("port %v: peer not closed: %+v", p, s)
		}
		if err := n.ClosePort(p); err != nil {
			t.Fatal(err)
		}
	}
	tn.requireNoPorts()
}

func TestSendErrors(t *testing.T) {
	n := newTestNet(t, 1).nodes[0]
	a, b := n.CreatePortPair()
	c, d := n.CreatePortPair()
	unknown := PortName{0xEE}

	requireErr(t, n.SendMessage(unknown, Message{}), ErrUnknownPort)
	requireErr(t, n.SendMessage(a, Message{Ports: []PortName{a}}), ErrInvalidAttachment)
	requireErr(t, n.SendMessage(a, Message{Ports: []PortName{b}}), ErrInvalidAttachment)
	requireErr(t, n.SendMessage(a, Message{Ports: []PortName{unknown}}), ErrInvalidAttachment)
	requireErr(t, n.SendMessage(a, Message{Ports: []PortName{c, c}}), ErrInvalidAttachment)
	_, _, err := n.GetMessage(unknown)
	requireErr(t, err, ErrUnknownPort)
	_, err = n.Status(unknown)
	requireErr(t, err, ErrUnknownPort)
	requireErr(t, n.ClosePort(unknown), ErrUnknownPort)
	// Failed sends change nothing: c is still the caller's, nothing arrived.
	requireNone(t, n, b)
	mustSend(t, n, c, "c works")
	requireBodies(t, n, d, "c works")

	// b travels inside c's queue; c may not then go to b's peer.
	mustSend(t, n, d, "carries b", b)
	err = n.SendMessage(a, Message{Ports: []PortName{c}})
	requireErr(t, err, ErrInvalidAttachment)
	var pe *PortError
	if !errors.As(err, &pe) || pe.Port != c {
		t.Fatalf("error %v does not name the attachment", err)
	}
	// An attached port is in transit.
	requireErr(t, n.SendMessage(d, Message{Ports: []PortName{b}}), ErrPortInTransit)
	requireErr(t, n.SendMessage(b, Message{}), ErrPortInTransit)

	// Closed ports are unknown.
	if err := n.ClosePort(a); err != nil {
		t.Fatal(err)
	}
	requireErr(t, n.SendMessage(a, Message{}), ErrUnknownPort)
	requireErr(t, n.ClosePort(a), ErrUnknownPort)

	if _, err := n.MovePort(c, n.Name()); !errors.Is(err, ErrInvalidNode) {
		t.Fatalf("MovePort to self: %v", err)
	}
}

func TestBadRemoteEvents(t *testing.T) {
	tn := newTestNet(t, 1)
	n := tn.nodes[0]
	remote := testNodeName(9)
	peer := Address{Node: remote, Port: PortName{1}}
	p, err := n.AdoptPort(remote, Descriptor{Name: PortName{2}, Peer: peer, Proxy: peer.Port, NextSendSeq: 1, NextRecvSeq: 1})
	if err != nil {
		t.Fatal(err)
	}

	// Unknown target: not an error; carried ports are bound and closed so
	// their peers learn, the body is dropped.
	carriedPeer := Address{Node: remote, Port: PortName{7}}
	err = n.AcceptEvent(remote, UserEvent{Target: PortName{0x55}, Seq: 1, Body: "lost",
		Sender: peer.Port, Ports: []Descriptor{{Name: PortName{8}, Peer: carriedPeer, Proxy: PortName{6}, NextSendSeq: 4, NextRecvSeq: 1}}})
	if err != nil {
		t.Fatalf("unknown target: %v", err)
	}
	out := n.TakeOutgoing()
	want := []sent{
		{To: remote, Event: PortAcceptedEvent{Target: p}},
		{To: remote, Event: PortAcceptedEvent{Target: PortName{8}}},
		{To: remote, Event: ClosureEvent{Target: carriedPeer.Port, Sender: PortName{8}, LastSeq: 3}},
	}
	if !slices.Equal(sentOf(out), want) {
		t.Fatalf("outgoing after unknown target %#v", out)
	}
	if len(tn.dropped) != 1 || tn.dropped[0] != "lost" || n.PortCount() != 1 {
		t.Fatalf("dropped %v, ports %d", tn.dropped, n.PortCount())
	}

	if err := n.AcceptEvent(remote, UserEvent{Target: p, Sender: peer.Port, Seq: 1, Body: "one"}); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []Event{
		UserEvent{Target: p, Sender: peer.Port, Seq: 1, Body: "dup queued"},
		UserEvent{Target: p, Sender: peer.Port, Seq: 0, Body: "zero"},
	} {
		requireErr(t, n.AcceptEvent(remote, ev), ErrBadSequence)
	}
	requireBodies(t, n, p, "one")
	requireErr(t, n.AcceptEvent(remote, UserEvent{Target: p, Sender: peer.Port, Seq: 1, Body: "dup taken"}), ErrBadSequence)
	var ee *EventError
	err = n.AcceptEvent(remote, UserEvent{Target: p, Sender: peer.Port, Seq: 1})
	if !errors.As(err, &ee) || ee.Seq != 1 || ee.From != remote || ee.Target != p {
		t.Fatalf("error %#v", err)
	}
	requireErr(t, n.AcceptEvent(remote, UserEvent{Target: p, Sender: peer.Port, Seq: 2, Ports: []Descriptor{{Name: p, Peer: peer, Proxy: PortName{6}, NextSendSeq: 1, NextRecvSeq: 1}}}), ErrPortExists)
	requireErr(t, n.AcceptEvent(remote, UserEvent{Target: p, Sender: peer.Port, Seq: 2, Ports: []Descriptor{{Name: PortName{9}}}}), ErrBadDescriptor)
	requireErr(t, n.AcceptEvent(remote, PeerMovedEvent{Target: p}), ErrBadEvent)
	requireErr(t, n.AcceptEvent(remote, nil), ErrBadEvent)
	requireErr(t, n.AcceptEvent(n.Name(), ClosureEvent{Target: p}), ErrInvalidNode)

	// Closure at 3, then a message beyond it.
	if err := n.AcceptEvent(remote, ClosureEvent{Target: p, Sender: peer.Port, LastSeq: 3}); err != nil {
		t.Fatal(err)
	}
	requireErr(t, n.AcceptEvent(remote, UserEvent{Target: p, Sender: peer.Port, Seq: 4}), ErrBadSequence)
	requireErr(t, n.AcceptEvent(remote, ClosureEvent{Target: p, Sender: peer.Port, LastSeq: 9}), ErrBadSequence)
	if n.internalErr != nil {
		t.Fatal(n.internalErr)
	}
}

func TestNamesAndEnums(t *testing.T) {
	n := NodeName{0xde, 0xad, 0xbe, 0xef, 1}
	if n.String() != "deadbeef010000000000000000000000" {
		t.Fatalf("NodeName.String %q", n.String())
	}
	if (PortName{0x01, 0x02, 0x03, 0x04}).String() != "01020304000000000000000000000000" {
		t.Fatal("PortName.String")
	}
	for r, want := range map[CloseReason]string{ReasonNone: "none", ReasonPeerClosed: "peer closed", ReasonNodeLost: "node lost", 9: "CloseReason(9)"} {
		if r.String() != want {
			t.Fatalf("%d.String() = %q", r, r.String())
		}
	}
	err := portErr("send", PortName{1}, ErrPeerClosed)
	if err.Error() != "ports: send 01000000000000000000000000000000: peer closed" {
		t.Fatalf("PortError text %q", err.Error())
	}
}

// TestTakeReusesItsArrays: in a steady flow of messages to another node and
// from it, TakeOutgoing and TakeStatusChanges hand back arrays the node
// reuses, so a message sent allocates nothing (its record is a value, its
// event unboxed), and a status change nothing; and what a Take returned is
// forgotten by the next, so sent messages can be freed.
func TestTakeReusesItsArrays(t *testing.T) {
	tn := newTestNet(t, 2)
	n0, n1 := tn.nodes[0], tn.nodes[1]
	a, b := n0.CreatePortPair()
	tn.move(b, 0, 1)
	tn.run()
	peer, err := n0.Peer(a)
	if err != nil || peer.Node != n1.Name() {
		t.Fatalf("peer %v, %v; want a port on node 1", peer, err)
	}
	body := new(int)
	send := func() {
		if err := n0.SendMessage(a, Message{Body: body}); err != nil {
			t.Fatal(err)
		}
		if out := n0.TakeOutgoing(); len(out) != 1 {
			t.Fatalf("%d outgoing events, want 1", len(out))
		}
	}
	send() // the arrays exist from here on
	send()
	if allocs := testing.AllocsPerRun(100, send); allocs != 0 {
		t.Fatalf("sending allocates %.1f times per message, want 0", allocs)
	}
	if u, ok := n0.spareOutgoing[:1][0].User(); !ok || u.Body != body {
		t.Fatal("the last events taken were not kept for the caller")
	}
	n0.TakeOutgoing()
	if o := n0.spareOutgoing[:1][0]; o.control != nil || o.user.Body != nil {
		t.Fatalf("a taken event is still referenced after the next take: %v", o.Event())
	}

	n0.markChanged(a)
	n0.TakeStatusChanges()
	n0.markChanged(a)
	n0.TakeStatusChanges()
	if allocs := testing.AllocsPerRun(100, func() {
		n0.markChanged(a)
		if got := n0.TakeStatusChanges(); len(got) != 1 || got[0] != a {
			t.Fatalf("status changes %v, want [%v]", got, a)
		}
	}); allocs != 0 {
		t.Fatalf("marking and taking a status change allocates %.1f times, want 0", allocs)
	}
}
