package ports

import (
	"fmt"
)

// route sends m, whose sequence number is set, from port sender of this
// node to the port at to. Attached ports stay local when to is on this
// node and move with the message otherwise.
func (n *Node) route(sender PortName, to Address, m queuedMessage) {
	if to.Node == n.name {
		n.local = append(n.local, localEvent{target: to.Port, user: m})
		return
	}
	descs := make([]Descriptor, 0, len(m.ports))
	moved := make([]*port, 0, len(m.ports))
	for _, name := range m.ports {
		a := n.ports[name]
		if a == nil || a.state != stateReceiving {
			// An attached port stays a receiving port until its message
			// leaves this node, and closes only with the message.
			n.noteBug(&PortError{Op: "route", Port: name, Err: ErrUnknownPort})
			continue
		}
		descs = append(descs, n.convertToProxy(a, to.Node))
		moved = append(moved, a)
	}
	n.emitUser(to.Node, UserEvent{Target: to.Port, Sender: sender, Seq: m.seq, Ports: descs, Body: m.body})
	// Only now, after the event carrying their descriptors, may the moved
	// ports' queued messages follow them.
	for _, a := range moved {
		n.pump(a)
	}
}

// convertToProxy turns receiving port a into a proxy to a new port on node
// to and returns the new port's descriptor. The caller forwards a's queue
// (pump) once the descriptor is on its way.
func (n *Node) convertToProxy(a *port, to NodeName) Descriptor {
	d := Descriptor{
		Name:        n.newPortName(),
		Peer:        a.peer,
		NextSendSeq: a.nextSend,
		NextRecvSeq: a.nextRecv,
		PeerClosed:  a.peerClosed,
		PeerLastSeq: a.lastRecv,
		PeerLost:    a.peerClosed && (a.lost || a.lostBefore),
		Proxy:       a.name,
	}
	n.forgetReferrer(a)
	a.state = stateProxying
	a.rareForWrite().target = Address{Node: to, Port: d.Name}
	a.inTransit = false
	n.proxyTo[a.rare().target] = a.name
	// The end's stint on this node is over. Its peer keeps watching this
	// node until the new one has the port: if this node died with the
	// descriptor still on its way, no one else would know.
	n.setAnnounceMove(a, true)
	return d
}

// pump forwards, in sequence order, what proxy p holds, and removes p once
// it has forwarded the peer's last message.
func (n *Node) pump(p *port) {
	for p.state == stateProxying {
		m, ok := p.next()
		if !ok {
			break
		}
		n.route(p.name, p.rare().target, m)
	}
	n.maybeRemoveProxy(p)
}

// maybeRemoveProxy removes proxy p once it has nothing left to do, and its
// move was acknowledged (until then it is the only one that can tell the
// peer if the port's new node dies with the port on its way). Nothing is
// left to do when it forwarded the last message of a closed or cut-off
// pipe, or, once bypassed, the last message routed through it: then it
// tells its target where the sender lives now, behind everything it
// forwarded, and goes.
func (n *Node) maybeRemoveProxy(p *port) {
	if p.state != stateProxying || p.announceMove {
		return
	}
	switch {
	case p.drained():
		n.removePort(p)
	case p.acked && p.nextRecv > p.rare().ackSeq:
		r := p.rare()
		n.emit(r.target.Node, PeerMovedEvent{Target: r.target.Port, Sender: p.name, NewNode: r.handover.node, NewPort: r.handover.port})
		n.removePort(p)
	}
}

// deliver hands message m to port target on this node.
func (n *Node) deliver(from NodeName, target PortName, m queuedMessage) error {
	p := n.ports[target]
	if p == nil {
		n.discard(m)
		return nil
	}
	if m.seq == 0 || p.has(m.seq) {
		n.discard(m)
		return &EventError{From: from, Target: target, Seq: m.seq, Err: ErrBadSequence,
			Detail: fmt.Sprintf("zero or already received; next expected %d", p.nextRecv)}
	}
	if p.peerClosed && m.seq > p.lastRecv {
		n.discard(m)
		if p.lost {
			return nil // cut off by a loss: late arrivals are expected
		}
		return &EventError{From: from, Target: target, Seq: m.seq, Err: ErrBadSequence,
			Detail: fmt.Sprintf("beyond the peer's last message %d", p.lastRecv)}
	}
	if p.state == stateProxying {
		if p.acked && m.seq > p.rare().ackSeq {
			// The sender switched to the proxy's target after ackSeq.
			n.discard(m)
			return &EventError{From: from, Target: target, Seq: m.seq, Err: ErrBadSequence,
				Detail: fmt.Sprintf("beyond the last message %d routed through this bypassed proxy", p.rare().ackSeq)}
		}
		p.enqueue(m)
		n.pump(p)
		return nil
	}
	p.enqueue(m)
	if m.seq == p.nextRecv {
		n.markChanged(target)
	}
	return nil
}

// checkDescriptors validates the descriptors of a message from node from
// as a whole, before any is adopted, so that a refused message changes
// nothing.
func (n *Node) checkDescriptors(from NodeName, ds []Descriptor) error {
	if len(ds) == 0 {
		return nil
	}
	if n.adopted[from]+len(ds) > n.limits.MaxPortsPerNode {
		return fmt.Errorf("%w: %d alive from this node, %d more, limit %d",
			ErrTooManyPorts, n.adopted[from], len(ds), n.limits.MaxPortsPerNode)
	}
	for i, d := range ds {
		if err := n.checkDescriptor(d); err != nil {
			return err
		}
		for _, prev := range ds[:i] {
			if prev.Name == d.Name || prev.Peer == d.Peer || prev.Peer == (Address{Node: n.name, Port: d.Name}) ||
				d.Peer == (Address{Node: n.name, Port: prev.Name}) {
				return ErrBadDescriptor
			}
		}
	}
	return nil
}

// checkDescriptor validates one descriptor against this node's ports.
func (n *Node) checkDescriptor(d Descriptor) error {
	switch {
	case d.Name.IsZero(), d.Peer.Node.IsZero(), d.Peer.Port.IsZero(), d.Proxy.IsZero(),
		d.NextSendSeq == 0, d.NextRecvSeq == 0,
		d.Peer == Address{Node: n.name, Port: d.Name},
		d.PeerClosed && d.PeerLastSeq+1 < d.NextRecvSeq,
		d.PeerLost && !d.PeerClosed:
		return ErrBadDescriptor
	}
	if _, used := n.ports[d.Name]; used {
		return ErrPortExists
	}
	if _, used := n.referrers.get(d.Peer); used && d.Peer.Node == n.name {
		// Only one port anywhere sends to a given port. For a port of
		// another node this node cannot tell which of two claims is
		// true (one may come from a forged descriptor): both are
		// adopted, and each is a stint of its own there, which only the
		// honest one's move starts (see Capabilities).
		return ErrBadDescriptor
	}
	return nil
}

// adopt creates the receiving port d describes, moved here from node from.
func (n *Node) adopt(from NodeName, d Descriptor, inTransit bool) error {
	if err := n.checkDescriptors(from, []Descriptor{d}); err != nil {
		return err
	}
	n.adoptChecked(from, d, inTransit)
	return nil
}

// adoptChecked creates the receiving port d describes, which
// checkDescriptors accepted.
func (n *Node) adoptChecked(from NodeName, d Descriptor, inTransit bool) {
	p := newPort(d.Name, d.Peer, d.NextSendSeq, d.NextRecvSeq)
	// Until the proxy left on from is bypassed or this end moves again,
	// everything for it comes through that proxy.
	p.addSource(from, 1)
	p.startStint(from, d.Proxy)
	p.inTransit = inTransit
	p.peerClosed, p.lastRecv, p.lostBefore = d.PeerClosed, d.PeerLastSeq, d.PeerLost
	p.rareForWrite().adoptedFrom = from
	n.adopted[from]++
	if peer := n.ports[d.Peer.Port]; d.Peer.Node == n.name && peer != nil && peer.state == stateReceiving && from != n.name {
		peer.noteMovedAway(from, d.NextSendSeq)
	}
	n.ports[d.Name] = p
	n.referrers.set(d.Peer, d.Name)
	n.noteUnvouched(p, from)
	n.noteWatched(d.Peer.Node)
	n.emit(from, PortAcceptedEvent{Target: d.Name})
	switch {
	case n.lost[from]:
		n.cutOff(p, from)
	case n.lost[d.Peer.Node]:
		n.cutOff(p, d.Peer.Node)
	}
}

// checkAttachments validates the ports to be attached to a message sent
// from p.
func (n *Node) checkAttachments(p *port, names []PortName) error {
	bad := func(name PortName, why string, also ...error) error {
		return portErr("attach", name, &causeError{
			text: "ports: invalid attachment: " + why,
			errs: append([]error{ErrInvalidAttachment}, also...),
		})
	}
	self := Address{Node: n.name, Port: p.name}
	for i, name := range names {
		a := n.ports[name]
		switch {
		case a == nil:
			return bad(name, "unknown port", ErrUnknownPort)
		case a.state != stateReceiving || a.inTransit:
			return bad(name, "port in transit", ErrPortInTransit)
		case name == p.name:
			return bad(name, "the sending port")
		case p.peer == Address{Node: n.name, Port: name} || a.peer == self:
			return bad(name, "the sending port's peer")
		}
		for _, prev := range names[:i] {
			if prev == name {
				return bad(name, "attached twice")
			}
		}
		if n.carriesPeerOf(a, p) {
			return bad(name, "carries the sending port's peer")
		}
	}
	return nil
}

// carriesPeerOf reports whether a's queue holds, at any depth, the other
// end of p's pipe as far as this node can tell.
func (n *Node) carriesPeerOf(a, p *port) bool {
	self := Address{Node: n.name, Port: p.name}
	stack := []*port{a}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for m := range cur.queue.all() {
			for _, name := range m.ports {
				c := n.ports[name]
				if c == nil || c.state != stateReceiving {
					continue
				}
				if p.peer == (Address{Node: n.name, Port: name}) || c.peer == self {
					return true
				}
				stack = append(stack, c)
			}
		}
	}
	return false
}
