package ports

import (
	"errors"
	"testing"
)

// FuzzHostileEvents feeds a hostile node's arbitrary sequence of events,
// decoded from the input, into honest nodes that run two pipes, mixed with
// the honest traffic. It checks that nothing panics, that the honest pipes
// deliver every message in order, that every error names the hostile node,
// and that the hold stays within its bound.
func FuzzHostileEvents(f *testing.F) {
	f.Add([]byte{0, 0, 2, 1, 0, 1, 2, 3, 4, 5, 6, 0, 0, 9, 200, 1})
	f.Add([]byte{2, 1, 1, 3, 0, 0, 5, 0, 1, 1, 2, 2, 3, 3, 4, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		tn := newTestNet(t, 3)
		n := tn.nodes
		hostile := testNodeName(9)
		a, b := n[0].CreatePortPair()
		b = tn.move(b, 0, 1)
		c, d := n[0].CreatePortPair()
		d = tn.move(d, 0, 2)
		tn.run()
		// Names the hostile node could know or guess.
		names := []PortName{a, b, c, d, {}, {1}}
		nodes := []NodeName{hostile, n[0].Name(), n[1].Name(), n[2].Name(), {}}
		sent := 0
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			x := data[0]
			data = data[1:]
			return x
		}
		for len(data) > 0 {
			kind, target, to := next(), names[int(next())%len(names)], next()%3
			seq := uint64(next())
			// The sending port it claims: one it could know, or one of
			// its own.
			sender := names[int(next())%len(names)]
			if x := next(); x%2 == 0 {
				sender = PortName{0xF1, x}
			}
			var ev Event
			switch kind % 7 {
			case 0:
				ev = UserEvent{Target: target, Sender: sender, Seq: seq, Body: "hostile"}
			case 1:
				name := PortName{0xF0, next()}
				peer := Address{Node: nodes[int(next())%len(nodes)], Port: names[int(next())%len(names)]}
				// A peer on a third node is laundering: the adopting
				// node cannot check it, and its port's events reach that
				// node as its own, a stint that never starts there.
				ev = UserEvent{Target: target, Sender: sender, Seq: seq, Body: "hostile", Ports: []Descriptor{{
					Name: name, Peer: peer, Proxy: PortName{0xF2, next()}, NextSendSeq: 1, NextRecvSeq: 1}}}
			case 2:
				ev = ClosureEvent{Target: target, Sender: sender, LastSeq: seq, Lost: next()%2 == 0}
			case 3:
				ev = PeerMovedEvent{Target: target, Sender: sender, NewNode: nodes[int(next())%len(nodes)],
					NewPort: names[int(next())%len(names)]}
			case 4:
				ev = PortAcceptedEvent{Target: target}
			case 5:
				ev = ObserveProxyEvent{Proxy: Address{Node: nodes[int(next())%len(nodes)], Port: target},
					ProxyTarget: Address{Node: nodes[int(next())%len(nodes)], Port: names[int(next())%len(names)]},
					Referrer:    names[int(next())%len(names)]}
			case 6:
				ev = ObserveProxyAckEvent{Target: target, Sender: sender, LastSeq: seq}
			}
			err := n[to].AcceptEvent(hostile, ev)
			var ee *EventError
			if err != nil && (!errors.As(err, &ee) || ee.From != hostile) {
				t.Fatalf("error not charged to the hostile node: %v", err)
			}
			tn.collect()
			// Honest traffic, delivered at once: any error here fails.
			mustSend(t, n[1], b, sent)
			mustSend(t, n[2], d, sent)
			sent++
			tn.run()
			for i := range n {
				// Events are held within the bound: from the hostile
				// node; from the node itself (the ports it adopted from
				// the hostile node whose peers are its own wait to be
				// vouched for); and from the other honest node, whose
				// ports adopted from the hostile node name this node's
				// ports (laundering: stints that never start).
				for _, c := range n[i].held {
					if c > DefaultMaxHeldEvents {
						t.Fatalf("node %d holds %v", i, n[i].held)
					}
				}
			}
		}
		for i := range sent {
			requireBodies(t, n[0], a, i)
			requireBodies(t, n[0], c, i)
		}
	})
}
