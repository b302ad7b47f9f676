package ports

import "slices"

// Vouching: a port adopted here whose peer is a port of this node.
//
// A descriptor names the peer its port sends to, and this node cannot tell
// from the descriptor alone whether the node that sent it really held that
// pipe end: a node that once knew the name of one of this node's ports
// could describe a port "sending" to it, and the events of that port would
// then reach the peer as events of this node's own, which no authority
// check refuses. The honest node that moves a pipe end here always tells
// the peer afterwards: once this node accepted the port, the node it came
// from sends the peer a PeerMovedEvent naming this node (acceptPortAccepted),
// and that event passes the authority check of a remote event. So until
// such an event from the node the port came from reaches the peer, the
// port's events to its peer wait, held at the peer in order (heldEvent.vouch
// names the port); when it arrives they are applied, and the port sends
// as any other. A forged port's events wait for ever and touch nothing;
// when the node that sent it is lost, they are dropped, and the forged
// port, which counts that node as its source, is cut off.

// vouchWait is a port of this node that waits for the node it was adopted
// from to vouch for it (see above), kept on the peer it sends to.
type vouchWait struct {
	port PortName
	from NodeName
}

// noteUnvouched records, when p's peer is a port of this node, that p's
// events to it wait until from vouches for p.
func (n *Node) noteUnvouched(p *port, from NodeName) {
	if p.peer.Node != n.name || from == n.name {
		return
	}
	peer := n.ports[p.peer.Port]
	if peer == nil {
		return // closed meanwhile: p's events to it go nowhere anyway
	}
	p.unvouched = true
	r := peer.rareForWrite()
	r.vouchWaits = append(r.vouchWaits, vouchWait{port: p.name, from: from})
}

// awaitsVouch reports whether p holds the events of port name until the
// node it came from vouches for it.
func (p *port) awaitsVouch(name PortName) bool {
	return slices.ContainsFunc(p.rare().vouchWaits, func(w vouchWait) bool { return w.port == name })
}

// vouch takes a PeerMovedEvent from node from that names port name of
// this node as p's new stint: from vouches for that port, if it moved it
// here. That port's held events become releasable. It reports whether
// there was such a port.
func (n *Node) vouch(p *port, from NodeName, name PortName) bool {
	i := slices.IndexFunc(p.rare().vouchWaits, func(w vouchWait) bool { return w.from == from && w.port == name })
	if i < 0 {
		return false
	}
	if q := n.ports[p.rare().vouchWaits[i].port]; q != nil {
		n.vouched(q)
	}
	r := p.rareForWrite()
	r.vouchWaits = slices.Delete(r.vouchWaits, i, i+1)
	if len(p.rare().vouchWaits) == 0 {
		p.rareForWrite().vouchWaits = nil
	}
	return true
}

// vouchEarly takes the word of the PeerMovedEvents held on p that vouch
// for a port here, from nodes whose stint at p is live: such a node may
// address p now, and its event is held only to keep its order behind
// others of the same node, which may themselves wait for what the
// vouched-for port sends (its move onward starts their stint).
func (n *Node) vouchEarly(p *port) {
	for i := range p.rare().held {
		h := &p.rare().held[i]
		if pm, ok := h.ev.(PeerMovedEvent); ok && !h.vouchTaken && pm.NewNode == n.name && p.live(h.from, h.sender) {
			h.vouchTaken = true
			n.vouch(p, h.from, pm.NewPort)
		}
	}
}

// settleVouches decides, when node is lost, about the ports here that
// wait for node to vouch for them and send to p. If node still had a live
// stint at p, it held the pipe's end and could have addressed p itself:
// its word is taken as given, and what those ports sent goes on. Otherwise
// node had no standing at p, and those ports are disowned: what they sent
// to p and will send is dropped, and p is untouched.
func (n *Node) settleVouches(p *port, node NodeName) {
	if len(p.rare().vouchWaits) == 0 {
		return
	}
	standing := p.liveNode(node)
	var disowned []PortName
	r := p.rareForWrite()
	r.vouchWaits = slices.DeleteFunc(r.vouchWaits, func(w vouchWait) bool {
		if w.from != node {
			return false
		}
		if q := n.ports[w.port]; q != nil {
			if standing {
				n.vouched(q)
			} else {
				q.unvouched, q.disowned, q.rareForWrite().deferredObserve = false, true, nil
			}
		}
		if !standing {
			disowned = append(disowned, w.port)
		}
		return true
	})
	if len(p.rare().vouchWaits) == 0 {
		p.rareForWrite().vouchWaits = nil
	}
	for _, name := range disowned {
		n.dropHeldWhere(p, func(h heldEvent) bool { return h.vouch && h.sender == name })
	}
	n.releaseHeld(p)
}

// toPeer sends ev from p to p's peer, held there while p waits to be
// vouched for.
func (n *Node) toPeer(p *port, ev Event) {
	if p.disowned {
		return
	}
	if q := n.vouchHolder(p); q != nil {
		n.hold(q, heldEvent{from: n.name, sender: p.name, ev: ev, vouch: true})
		return
	}
	n.emit(p.peer.Node, ev)
}

// routeToPeer routes m from p to p's peer, held there while p waits to be
// vouched for.
func (n *Node) routeToPeer(p *port, m queuedMessage) {
	if p.disowned {
		n.discard(m)
		return
	}
	if q := n.vouchHolder(p); q != nil {
		n.hold(q, heldEvent{from: n.name, sender: p.name, user: m, vouch: true})
		return
	}
	n.route(p.name, p.peer, m)
}

// vouchHolder returns p's peer when it holds p's events until p is vouched
// for, or nil.
func (n *Node) vouchHolder(p *port) *port {
	if !p.unvouched {
		return nil
	}
	if q := n.ports[p.peer.Port]; p.peer.Node == n.name && q != nil && q.awaitsVouch(p.name) {
		return q
	}
	p.unvouched = false // the peer went: nothing to wait for
	return nil
}

// vouched ends q's wait: its held events may go, and a request of its
// peer, a proxy, to be bypassed is answered behind them (as a local event,
// so after the release).
func (n *Node) vouched(q *port) {
	q.unvouched = false
	if ev := q.rare().deferredObserve; ev != nil {
		q.rareForWrite().deferredObserve = nil
		n.local = append(n.local, localEvent{target: ev.Proxy.Port, ev: *ev})
	}
}
