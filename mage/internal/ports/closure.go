package ports

import (
	"fmt"
	"slices"
)

// closePorts closes receiving ports and, recursively, the ports attached
// to the messages queued on them.
func (n *Node) closePorts(names ...PortName) {
	work := slices.Clone(names)
	for len(work) > 0 {
		name := work[len(work)-1]
		work = work[:len(work)-1]
		p := n.ports[name]
		if p == nil || p.state != stateReceiving {
			continue
		}
		if !p.peerClosed {
			// Once the peer's closure was observed, this port already
			// answered with its last sequence number; nothing to add.
			n.toPeer(p, ClosureEvent{Target: p.peer.Port, Sender: p.name, LastSeq: p.nextSend - 1})
		}
		n.removePort(p)
		for _, m := range p.takeAbove(0) {
			n.drop(m.body)
			work = append(work, m.ports...)
		}
	}
}

// discard drops messages this node will not deliver.
func (n *Node) discard(ms ...queuedMessage) {
	var attached []PortName
	for _, m := range ms {
		n.drop(m.body)
		attached = append(attached, m.ports...)
	}
	if len(attached) > 0 {
		n.closePorts(attached...)
	}
}

// acceptClosure handles a ClosureEvent.
func (n *Node) acceptClosure(from NodeName, ev ClosureEvent) error {
	p := n.ports[ev.Target]
	if p == nil {
		return nil // closed or removed meanwhile
	}
	if ev.Lost {
		n.cutOff(p, NodeName{})
		return nil
	}
	if p.state == stateProxying && p.acked {
		// The sender switched past this proxy before it could close, so
		// its closure goes to the proxy's target.
		return &EventError{From: from, Target: ev.Target, Err: ErrBadEvent,
			Detail: "closure sent to a bypassed proxy"}
	}
	if p.peerClosed {
		if p.lost || ev.LastSeq == p.lastRecv {
			return nil
		}
		return &EventError{From: from, Target: ev.Target, Err: ErrBadSequence,
			Detail: fmt.Sprintf("closure repeated with last sequence number %d, was %d", ev.LastSeq, p.lastRecv)}
	}
	if ev.LastSeq+1 < p.nextRecv {
		// The peer claims less than was already released: treat the pipe as
		// broken rather than trust either number.
		n.cutOff(p, NodeName{})
		return &EventError{From: from, Target: ev.Target, Err: ErrBadSequence,
			Detail: fmt.Sprintf("closure after %d, but %d was already received", ev.LastSeq, p.nextRecv-1)}
	}
	p.peerClosed, p.lastRecv = true, ev.LastSeq
	var err error
	if extra := p.takeAbove(ev.LastSeq); len(extra) > 0 {
		n.discard(extra...)
		err = &EventError{From: from, Target: ev.Target, Seq: extra[0].seq, Err: ErrBadSequence,
			Detail: fmt.Sprintf("beyond the peer's last message %d", ev.LastSeq)}
	}
	switch p.state {
	case stateReceiving:
		// Answer toward the closed peer with this end's last sequence number
		// (it can send nothing more now), so that the proxies on that route
		// know when they are done.
		n.toPeer(p, ClosureEvent{Target: p.peer.Port, Sender: p.name, LastSeq: p.nextSend - 1})
		if p.receivedAll() {
			n.dropHeld(p, NodeName{}) // nothing more is delivered
		}
		n.markChanged(p.name)
	case stateProxying:
		target := p.rare().target
		n.emit(target.Node, ClosureEvent{Target: target.Port, Sender: p.name, LastSeq: ev.LastSeq})
		n.maybeRemoveProxy(p)
	}
	return err
}

// acceptPeerMoved handles a PeerMovedEvent: the sending stint (from,
// ev.Sender) is over, (ev.NewNode, ev.NewPort) begins. A proxy looking for
// its referrer asks the new stint.
func (n *Node) acceptPeerMoved(from NodeName, ev PeerMovedEvent) error {
	if ev.NewNode.IsZero() || ev.NewPort.IsZero() {
		return &EventError{From: from, Target: ev.Target, Err: ErrBadEvent, Detail: "peer moved to the zero node"}
	}
	p := n.ports[ev.Target]
	if p == nil {
		return nil
	}
	p.addSource(from, -1)
	p.addSource(ev.NewNode, 1)
	n.endStint(p, from, ev.Sender)
	n.startStint(p, ev.NewNode, ev.NewPort)
	n.noteWatched(ev.NewNode)
	if n.lost[ev.NewNode] && p.waitsOn(ev.NewNode) {
		n.lose(p, ev.NewNode)
		return nil
	}
	if p.state == stateProxying && p.observing && !p.acked && !p.peerClosed {
		n.observe(p, stintID{ev.NewNode, ev.NewPort})
	}
	// The new stint may be what events held from ev.NewNode wait for.
	n.releaseHeld(p)
	if s := (stintID{ev.NewNode, ev.NewPort}); p.rare().lossReported[s] && n.ports[p.name] == p {
		// That stint reported the sender lost, behind what it sent.
		delete(p.rare().lossReported, s)
		n.unhold(s.node)
		n.cutOff(p, NodeName{})
	}
	return nil
}

// acceptPortAccepted handles a PortAcceptedEvent: the port moved from here
// to node from arrived, so the peer may stop watching this node for it,
// and this proxy may start asking to be bypassed.
func (n *Node) acceptPortAccepted(from NodeName, ev PortAcceptedEvent) {
	p := n.ports[n.proxyTo[Address{Node: from, Port: ev.Target}]]
	if p == nil || p.state != stateProxying || !p.announceMove {
		return // removed meanwhile, or a repeat
	}
	n.setAnnounceMove(p, false)
	n.toPeer(p, PeerMovedEvent{Target: p.peer.Port, Sender: p.name, NewNode: from, NewPort: ev.Target})
	n.maybeRemoveProxy(p)
	if n.ports[p.name] == p {
		n.startObserving(p)
	}
}

// lose cuts p off because node is lost and p waits on it.
func (n *Node) lose(p *port, node NodeName) {
	if p.state == stateProxying && p.rare().target.Node == node {
		// Everything forwarded from here is gone: the end on the other
		// side of the pipe must learn, and nothing here is worth keeping.
		n.toPeer(p, ClosureEvent{Target: p.peer.Port, Sender: p.name, Lost: true})
		n.removePort(p)
		n.discard(p.takeAbove(0)...)
		return
	}
	n.cutOff(p, node)
}

// cutOff ends p's wait for its peer because a node on the route was lost
// (node is zero when the loss was reported by another node): what arrived
// in sequence is kept, the rest and anything later is dropped.
func (n *Node) cutOff(p *port, node NodeName) {
	if p.lost || (p.receivedAll() && p.state == stateReceiving) {
		return
	}
	answered := p.peerClosed
	p.peerClosed, p.lost, p.rareForWrite().lostNode = true, true, node
	p.lastRecv = p.nextMissing - 1
	n.discard(p.takeAbove(p.lastRecv)...)
	n.dropHeld(p, NodeName{}) // moot now: nothing more is delivered
	n.dropLossReports(p, NodeName{})
	switch p.state {
	case stateReceiving:
		if !answered {
			n.toPeer(p, ClosureEvent{Target: p.peer.Port, Sender: p.name, LastSeq: p.nextSend - 1, Lost: true})
		}
		n.markChanged(p.name)
	case stateProxying:
		for m, ok := p.next(); ok; m, ok = p.next() {
			n.route(p.name, p.rare().target, m)
		}
		target := p.rare().target
		n.emit(target.Node, ClosureEvent{Target: target.Port, Sender: p.name, Lost: true})
		n.maybeRemoveProxy(p)
	}
}
