package ports

import (
	"fmt"
	"slices"
)

// Authority: who may address a port (see Capabilities in the package
// documentation). A sender of a port's messages addresses it with user
// messages, closures, PeerMovedEvents and acks; only a node with a live
// stint at the port (port.sources) may do so. A node's first events from
// a new stint may overtake the event that starts the stint, which comes
// from another node, so an event from a node without a live stint is held
// while some other node could still start one for it, and refused
// otherwise.

// verdict is what the authority rule decides for an event.
type verdict uint8

const (
	verdictApply  verdict = iota + 1 // from may address the port now
	verdictHold                      // from may yet be given a stint: keep the event aside
	verdictRefuse                    // no one can give from a stint: ErrNotAuthorized
	verdictDrop                      // p was cut off by a loss: late events are moot
)

// heldEvent is an event kept aside until its sender's stint starts. A
// user message's ports are already adopted (later events for them may
// follow on the same link).
type heldEvent struct {
	from NodeName
	user queuedMessage // the event when ev is nil (see isUser)
	ev   Event         // a ClosureEvent or PeerMovedEvent, or nil
	// vouch names the port of this node that sent the event, when it
	// waits to be vouched for (vouch.go); from is then this node.
	// vouchTaken: this held PeerMovedEvent already vouched.
	vouch      PortName
	vouchTaken bool
}

// isUser reports whether h holds a user message (in h.user).
func (h heldEvent) isUser() bool { return h.ev == nil }

// authorize decides about a stint event (user message, closure or
// PeerMovedEvent) from node from for port p.
func (n *Node) authorize(p *port, from NodeName) verdict {
	switch {
	case p.holds(from):
		return verdictHold // behind the events already held from there
	case p.live(from):
		return verdictApply
	case p.lost:
		// The stint that would have vouched for from may have died with
		// the lost node; nothing more is delivered anyway.
		return verdictDrop
	case p.mayStart(n.name, from), n.senderLeaving(p):
		return verdictHold
	}
	return verdictRefuse
}

// pastMove decides about an event from node from that p's sender could
// only send after coming back to from: it moved away from there (see
// port.rare().movedAway), and from's new stint, which some other node starts,
// may not have arrived yet. It is held while another node could start it,
// and refused otherwise.
func (n *Node) pastMove(p *port, from NodeName) verdict {
	if p.mayStart(n.name, from) || n.senderLeaving(p) {
		return verdictHold
	}
	return verdictRefuse
}

// waitsForReturn reports whether held event h is one that its sender's
// node may send only once a new stint of it started (pastMove).
func (p *port) waitsForReturn(h heldEvent) bool {
	next, moved := p.rare().movedAway[h.from]
	if !moved {
		return false
	}
	if h.isUser() {
		return h.user.seq >= next
	}
	c, ok := h.ev.(ClosureEvent)
	return ok && !c.Lost
}

// senderLeaving reports whether p's sender was moved away from this node
// by a proxy that has not heard yet that the port arrived: until it hears,
// the nodes the sender went on to may address p, and only then does this
// node start their stints.
func (n *Node) senderLeaving(p *port) bool {
	return n.leaving[Address{Node: n.name, Port: p.name}] > 0
}

// holds reports whether p holds an event from node.
func (p *port) holds(node NodeName) bool {
	for _, h := range p.rare().held {
		if h.from == node {
			return true
		}
	}
	return false
}

// mayStart reports whether a stint of node from at p could still begin:
// a node other than this one and from has a live stint at p (it could move
// the sender to from, or hand its proxy's place to from), or may have one
// its count hides (see below), or holds events (among them, maybe, such a
// move). A stint on this node is the caller's
// concern (senderLeaving).
func (p *port) mayStart(self, from NodeName) bool {
	otherLive := func(node NodeName, c int) bool { return c > 0 && node != self && node != from }
	if p.stints.any(otherLive) || p.rare().proxyStints.any(otherLive) {
		return true
	}
	for node := range p.rare().movedAway {
		if c, ok := p.stints.get(node); ok && c == 0 && node != self && node != from {
			// node moved the sender here, and its count says it has no
			// stint left; but a node that held the sender twice (it went
			// on to from, came back and came here) counts the end of its
			// second stint against the start of its first while the
			// marker that ends the first, and starts from's, is on its way.
			return true
		}
	}
	for _, h := range p.rare().held {
		if h.from != from {
			return true
		}
	}
	return false
}

// hold keeps h aside on p, within the bound of events held from one node.
func (n *Node) hold(p *port, h heldEvent) {
	if p.state == stateReceiving && p.receivedAll() {
		// Nothing more is delivered: whatever it would have said is moot.
		if h.isUser() {
			n.discard(h.user)
		}
		return
	}
	r := p.rareForWrite()
	r.held = append(r.held, h)
	n.held[h.from]++
}

// checkHold reports whether one more event from node from may be held.
func (n *Node) checkHold(from NodeName, target PortName, seq uint64) error {
	if n.held[from] >= n.limits.MaxHeldEvents {
		return &EventError{From: from, Target: target, Seq: seq, Err: ErrTooManyHeld,
			Detail: fmt.Sprintf("%d events already wait for this node's authority", n.held[from])}
	}
	return nil
}

func notAuthorized(from NodeName, target PortName, seq uint64, what string) error {
	return &EventError{From: from, Target: target, Seq: seq, Err: ErrNotAuthorized,
		Detail: what + " from a node with no stint at the port"}
}

// releaseHeld applies, in arrival order per node, the events held on p
// whose senders now have a live stint. Applying one may start further
// stints (a released PeerMovedEvent); the loop runs until none is ready.
// Errors of released events are dropped with the events: the node that
// sent one has since been given a stint, so the event is the sender's own
// affair, and the caller's error must not charge the node whose event
// released it.
func (n *Node) releaseHeld(p *port) {
	if p.releasing {
		return // the outer loop goes on
	}
	p.releasing = true
	defer func() { p.releasing = false }()
	for n.ports[p.name] == p {
		n.vouchEarly(p)
		i := p.nextReleasable()
		if i < 0 {
			return
		}
		h := p.rare().held[i]
		r := p.rareForWrite()
		r.held = slices.Delete(r.held, i, i+1)
		n.unhold(h.from)
		n.applyHeld(p, h)
	}
}

// nextReleasable returns the index of the first held event whose sender
// has a live stint and holds nothing earlier, or -1. The events of this
// node's own ports that wait to be vouched for (vouch.go) keep their order
// per port, not per node: two stays of the sender here are ordered by
// their sequence numbers and stint counts, not by arrival.
func (p *port) nextReleasable() int {
	type sender struct {
		node NodeName
		port PortName
	}
	var blocked []sender
	for i, h := range p.rare().held {
		s := sender{h.from, h.vouch}
		if slices.Contains(blocked, s) {
			continue
		}
		if !h.vouch.IsZero() {
			// An event of a port of this node: once vouched for, it
			// is as any local event, which needs no stint.
			if !p.awaitsVouch(h.vouch) {
				return i
			}
		} else if p.live(h.from) && !p.waitsForReturn(h) {
			return i
		}
		blocked = append(blocked, s)
	}
	return -1
}

func (n *Node) applyHeld(p *port, h heldEvent) {
	if h.isUser() {
		_ = n.deliver(h.from, p.name, h.user)
		return
	}
	switch ev := h.ev.(type) {
	case ClosureEvent:
		_ = n.acceptClosure(h.from, ev)
	case PeerMovedEvent:
		if ev.NewNode == n.name && !h.vouchTaken {
			n.vouch(p, h.from)
		}
		_ = n.acceptPeerMoved(h.from, ev)
	}
}

func (n *Node) unhold(node NodeName) {
	if n.held[node]--; n.held[node] <= 0 {
		delete(n.held, node)
	}
}

// dropHeld discards what p holds from node (every node when node is zero).
func (n *Node) dropHeld(p *port, node NodeName) {
	n.dropHeldWhere(p, func(h heldEvent) bool { return node.IsZero() || h.from == node })
}

// dropHeldWhere drops the events held on p that drop selects.
func (n *Node) dropHeldWhere(p *port, drop func(heldEvent) bool) {
	if len(p.rare().held) == 0 {
		return
	}
	var dropped []queuedMessage
	kept := p.rare().held[:0]
	for _, h := range p.rare().held {
		if !drop(h) {
			kept = append(kept, h)
			continue
		}
		n.unhold(h.from)
		if h.isUser() {
			dropped = append(dropped, h.user)
		}
	}
	clear(p.rare().held[len(kept):])
	p.rareForWrite().held = kept
	if len(p.rare().held) == 0 {
		p.rareForWrite().held = nil
	}
	n.discard(dropped...)
}

// checkWindow refuses a user message for p whose sequence number lies
// beyond the reordering window.
func (n *Node) checkWindow(p *port, from NodeName, ev UserEvent) error {
	if ev.Seq > p.nextRecv && ev.Seq-p.nextRecv >= n.limits.ReorderWindow {
		return &EventError{From: from, Target: ev.Target, Seq: ev.Seq, Err: ErrOutsideWindow,
			Detail: fmt.Sprintf("next expected %d, window %d", p.nextRecv, n.limits.ReorderWindow)}
	}
	return nil
}

// acceptRemoteUser handles a user message from another node: the
// authority rule and the bounds first, so that a refused message changes
// nothing; then its ports are adopted, and it is delivered or held.
func (n *Node) acceptRemoteUser(from NodeName, ev UserEvent) error {
	p := n.ports[ev.Target]
	v := verdictApply
	if p != nil {
		if v = n.authorize(p, from); v == verdictRefuse {
			return notAuthorized(from, ev.Target, ev.Seq, "user message")
		}
		if next, moved := p.rare().movedAway[from]; moved && v == verdictApply && ev.Seq >= next {
			if v = n.pastMove(p, from); v == verdictRefuse {
				return &EventError{From: from, Target: ev.Target, Seq: ev.Seq, Err: ErrNotAuthorized,
					Detail: fmt.Sprintf("user message from a node the sender moved away from at %d", next)}
			}
		}
		if err := n.checkWindow(p, from, ev); err != nil {
			return err
		}
		if v == verdictHold {
			if err := n.checkHold(from, ev.Target, ev.Seq); err != nil {
				return err
			}
		}
	}
	if err := n.checkDescriptors(from, ev.Ports); err != nil {
		return &EventError{From: from, Target: ev.Target, Seq: ev.Seq, Err: err, Detail: "attached port"}
	}
	// Bind the carried ports here first, even if the target is gone: then
	// closing them tells their peers, instead of leaving them waiting.
	m := queuedMessage{seq: ev.Seq, body: ev.Body, ports: make([]PortName, 0, len(ev.Ports))}
	for _, d := range ev.Ports {
		n.adoptChecked(from, d, true)
		m.ports = append(m.ports, d.Name)
	}
	switch v {
	case verdictDrop:
		n.discard(m)
		return nil
	case verdictHold:
		n.hold(p, heldEvent{from: from, user: m})
		return nil
	}
	return n.deliver(from, ev.Target, m)
}

// acceptRemoteClosure handles a ClosureEvent from another node.
func (n *Node) acceptRemoteClosure(from NodeName, ev ClosureEvent) error {
	p := n.ports[ev.Target]
	if p == nil {
		return nil // closed or removed meanwhile
	}
	v := n.authorize(p, from)
	if _, moved := p.rare().movedAway[from]; moved && v == verdictApply && !ev.Lost {
		if v = n.pastMove(p, from); v == verdictRefuse {
			return &EventError{From: from, Target: ev.Target, Seq: ev.LastSeq, Err: ErrNotAuthorized,
				Detail: "closure from a node the sender moved away from"}
		}
	}
	if ev.Lost && v != verdictApply && !p.holds(from) {
		if p.state == stateReceiving && p.peer.Node == from {
			// The proxy this port sends to lost its target: the pipe is
			// broken, which the node this port sends to could make so
			// anyway.
			return n.acceptClosure(from, ev)
		}
		if v != verdictHold {
			// A bypassed proxy whose target was lost may say so late; the
			// ports that depend on the lost node hear of it themselves.
			// Such a closure changes nothing, and proves nothing against
			// its sender.
			return nil
		}
		// The sender's new node may report its end lost before the
		// stint that lets it address this port started. The report is
		// kept aside, not queued behind (or ahead of) other held events,
		// and cuts the pipe off once that stint starts (acceptPeerMoved).
		if !p.receivedAll() {
			p.noteLossReport(from)
		}
		return nil
	}
	switch v {
	case verdictRefuse:
		return notAuthorized(from, ev.Target, 0, "closure")
	case verdictDrop:
		return nil
	case verdictHold:
		if err := n.checkHold(from, ev.Target, 0); err != nil {
			return err
		}
		n.hold(p, heldEvent{from: from, ev: ev})
		return nil
	}
	return n.acceptClosure(from, ev)
}

// maxStintDebt bounds how far below zero a node's count of stints at a
// port may go through PeerMovedEvents that overtake the starts they end.
const maxStintDebt = 64

// acceptRemotePeerMoved handles a PeerMovedEvent from another node.
func (n *Node) acceptRemotePeerMoved(from NodeName, ev PeerMovedEvent) error {
	if ev.NewNode.IsZero() {
		return &EventError{From: from, Target: ev.Target, Err: ErrBadEvent, Detail: "peer moved to the zero node"}
	}
	p := n.ports[ev.Target]
	if p == nil {
		return nil
	}
	v := n.authorize(p, from)
	counts := &p.stints
	if ev.Bypassed {
		counts = &p.rareForWrite().proxyStints
	}
	if c, known := counts.get(from); known && v == verdictHold && !p.holds(from) {
		if c <= -maxStintDebt {
			// Honest markers overtake starts by a move or two; a node
			// that keeps ending stints it never had is flooding.
			return &EventError{From: from, Target: ev.Target, Err: ErrNotAuthorized,
				Detail: fmt.Sprintf("peer-moved event from a node that ended %d more stints at the port than it had", -c)}
		}
		// A node that had a stint here may have had two at once (the
		// proxy forwarding here and the sender itself), whose end markers
		// counts cannot tell apart: the end of one may arrive after the
		// other's was taken for it. Sums come right once all arrived. (So
		// a former sender can pass its spent count on while another node
		// could still start a stint here; where none could, it is refused.)
		v = verdictApply
	}
	if v == verdictRefuse && n.senderSettledHere(p) {
		return n.acceptLateMarker(p, from, ev)
	}
	switch v {
	case verdictRefuse:
		return notAuthorized(from, ev.Target, 0, "peer-moved event")
	case verdictDrop:
		return nil
	case verdictHold:
		if err := n.checkHold(from, ev.Target, 0); err != nil {
			return err
		}
		h := heldEvent{from: from, ev: ev}
		if ev.NewNode == n.name && p.live(from) {
			n.vouch(p, from)
			h.vouchTaken = true
		}
		n.hold(p, h)
		n.releaseHeld(p) // what the vouched-for port sent may go now
		return nil
	}
	if ev.NewNode == n.name {
		n.vouch(p, from)
	}
	return n.acceptPeerMoved(from, ev)
}

// acceptRemoteAck handles an ObserveProxyAckEvent from another node. Only
// a node the proxy asked may send one. It is applied at once: it may
// overtake the start of the stint it ends (see port.stints), and the
// messages it covers are forwarded whenever they are released.
func (n *Node) acceptRemoteAck(from NodeName, ev ObserveProxyAckEvent) error {
	p := n.ports[ev.Target]
	if p == nil || (p.state == stateProxying && p.lost) {
		return nil // cut off meanwhile; the ack is moot
	}
	if p.state != stateProxying || !p.rare().asked[from] {
		return &EventError{From: from, Target: ev.Target, Seq: ev.LastSeq,
			Err:    &causeError{text: ErrNotAuthorized.Error(), errs: []error{ErrNotAuthorized, ErrBadEvent}},
			Detail: "observe-proxy ack this proxy did not ask for"}
	}
	return n.acceptObserveProxyAck(from, ev)
}

// senderSettledHere reports whether p's sender lives on this node (not
// in transit) and
// everything it sent from its earlier homes has arrived: from then on no
// other node may deliver a message or a closure to p, and a peer-moved
// event from elsewhere can only be the late end marker of an earlier
// stint. Counts cannot always tell those apart from forgeries (a node
// that held the sender twice counts the end of its second stint against
// the start of its first while the first's marker is on its way), and
// with the sender here they need not: see acceptLateMarker.
func (n *Node) senderSettledHere(p *port) bool {
	if p.state != stateReceiving {
		return false
	}
	// p's peer address may still name a proxy the sender left behind;
	// the sender names p.
	self := Address{Node: n.name, Port: p.name}
	referrer, _ := n.referrers.get(self)
	q := n.ports[referrer]
	if q == nil || q.peer != self || q.state != stateReceiving || q.inTransit || q.rare().adoptedFrom.IsZero() {
		return false
	}
	next, moved := p.rare().movedAway[q.rare().adoptedFrom]
	return moved && p.nextMissing >= next
}

// acceptLateMarker takes a peer-moved event that authorize refused, at a
// port whose sender has settled here, as bookkeeping only: it ends a
// stint of from (a dormant one first, else its count goes below zero, a
// debt bounded by maxStintDebt) and starts one of the new node that pays
// off that node's debt, or else stays dormant. Neither grants authority:
// the new node cannot deliver anything to p, so a forged marker changes
// nothing a later event could use, and an honest one keeps the counts
// right for when the sender moves on.
func (n *Node) acceptLateMarker(p *port, from NodeName, ev PeerMovedEvent) error {
	if p.rare().dormant[from] > 0 {
		r := p.rareForWrite()
		if r.dormant[from]--; r.dormant[from] == 0 {
			delete(r.dormant, from) // no spent entries kept
		}
	} else {
		counts, add := &p.stints, p.addStint
		if ev.Bypassed {
			counts, add = &p.rareForWrite().proxyStints, p.addProxyStint
		}
		if c := counts.count(from); c <= -maxStintDebt {
			return &EventError{From: from, Target: ev.Target, Err: ErrNotAuthorized,
				Detail: fmt.Sprintf("peer-moved event from a node that ended %d more stints at the port than it had", -c)}
		}
		add(from, -1)
	}
	if p.stints.count(ev.NewNode) < 0 {
		p.addStint(ev.NewNode, 1)
		return nil
	}
	if p.rare().dormant == nil {
		p.rareForWrite().dormant = map[NodeName]int{}
	}
	p.rareForWrite().dormant[ev.NewNode]++
	return nil
}
