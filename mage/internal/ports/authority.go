package ports

import (
	"fmt"
	"slices"
)

// Authority: who may address a port (see Capabilities in the package
// documentation). A stint of a port, a port on some node that feeds it
// (port.stints), addresses it with user messages, closures and
// PeerMovedEvents; an event is applied only if the pair (sending node,
// sending port) is a live stint. A stint's first events may overtake the
// event that starts it, which comes from another node, so an event from a
// stint that is not live is held while some other stint could still start
// it, and refused otherwise.

// verdict is what the authority rule decides for an event.
type verdict uint8

const (
	verdictApply  verdict = iota + 1 // the stint may address the port now
	verdictHold                      // the stint may yet start: keep the event aside
	verdictRefuse                    // no one can start the stint: ErrNotAuthorized
	verdictDrop                      // p was cut off by a loss: late events are moot
)

// heldEvent is an event kept aside until its stint starts. A user
// message's ports are already adopted (later events for them may follow
// on the same link).
type heldEvent struct {
	// from and sender are the stint the event came from: the sending node
	// and the port there that emitted it.
	from   NodeName
	sender PortName
	user   queuedMessage // the event when ev is nil (see isUser)
	ev     Event         // a ClosureEvent or PeerMovedEvent, or nil
	// vouch: the event was sent by sender, a port of this node (from is
	// then this node), that waits to be vouched for (vouch.go).
	// vouchTaken: this held PeerMovedEvent already vouched.
	vouch      bool
	vouchTaken bool
}

// isUser reports whether h holds a user message (in h.user).
func (h heldEvent) isUser() bool { return h.ev == nil }

// authorize decides about a stint event (user message, closure or
// PeerMovedEvent) from port sender on node from for port p.
func (n *Node) authorize(p *port, from NodeName, sender PortName) verdict {
	switch {
	case p.holds(from, sender):
		return verdictHold // behind the events already held from there
	case p.live(from, sender):
		return verdictApply
	case p.lost:
		// The stint that would have vouched for the sender may have died
		// with the lost node; nothing more is delivered anyway.
		return verdictDrop
	case p.rare().lossReported[stintID{from, sender}]:
		// The stint reported the sender lost, or was refused to make room
		// in the hold (refuseHogs): its start cuts the pipe off, so what
		// else it sends is moot.
		return verdictDrop
	case p.mayStart(n.name, from, sender), n.senderLeaving(p):
		return verdictHold
	}
	return verdictRefuse
}

// pastMove decides about an event from node from that p's sender could
// only send after coming back to from: it moved away from there (see
// port.rare().movedAway), and from's new stint, which some other stint
// starts, may not have arrived yet. It is held while another stint could
// start it, and refused otherwise.
func (n *Node) pastMove(p *port, from NodeName, sender PortName) verdict {
	if p.mayStart(n.name, from, sender) || n.senderLeaving(p) {
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
// the stint the sender went on to may address p, and only then does this
// node start it.
func (n *Node) senderLeaving(p *port) bool {
	return n.leaving[Address{Node: n.name, Port: p.name}] > 0
}

// holds reports whether p holds an event from stint (node, sender).
func (p *port) holds(node NodeName, sender PortName) bool {
	for _, h := range p.rare().held {
		if h.from == node && h.sender == sender {
			return true
		}
	}
	return false
}

// mayStart reports whether stint (from, sender) at p could still begin:
// another stint, on a node other than this one, is live at p (it could
// move the sender there, or hand its proxy's place to it), or events of
// another stint are held (among them, maybe, such a move). A stint on
// this node is the caller's concern (senderLeaving).
func (p *port) mayStart(self, from NodeName, sender PortName) bool {
	me := stintID{from, sender}
	if p.stints.any(func(s stintID) bool { return s.node != self && s != me }) {
		return true
	}
	return slices.ContainsFunc(p.rare().held, func(h heldEvent) bool { return stintID{h.from, h.sender} != me })
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

// roomToHold makes room for one more event held at p from stint (from,
// sender), or says why there is none. A node whose hold is full may
// well be innocent: a port it adopted from a made-up descriptor, which
// names a port here, is a stint that never starts, and whatever its
// application writes is held (see Capabilities in the package
// documentation). So the stints of that node that hold the most are
// refused first (refuseHogs), which charges nobody; only a hold that
// is spread over single events, so that refusing stints frees little,
// is charged to the node. refused reports that the event's own stint
// was refused, or p went: the event is then dropped, not held.
func (n *Node) roomToHold(p *port, from NodeName, sender, target PortName, seq uint64) (refused bool, err error) {
	if n.held[from] < n.limits.MaxHeldEvents {
		return false, nil
	}
	if !n.refuseHogs(from) {
		return false, &EventError{From: from, Target: target, Seq: seq, Err: ErrTooManyHeld,
			Detail: fmt.Sprintf("%d events already wait for this node's authority, in stints holding one event each", n.held[from])}
	}
	return n.ports[p.name] != p || p.rare().lossReported[stintID{from, sender}], nil
}

// refuseHogs refuses, most held events first, stints of node from that
// are not live and hold at least two events, until at least half of the
// node's hold is free. It refuses nothing, and reports false, when that
// would free less than a quarter: the hold is then spread over stints
// of an event each, which is no laundered port's doing but a flood of
// made-up stints. Its cost, a pass over the ports, is paid at most once
// per quarter of a hold.
func (n *Node) refuseHogs(from NodeName) bool {
	type hog struct {
		p *port
		s stintID
	}
	counts := map[hog]int{}
	for _, p := range n.ports {
		for _, h := range p.rare().held {
			if h.from == from && !h.vouch && !p.live(h.from, h.sender) {
				counts[hog{p, stintID{h.from, h.sender}}]++
			}
		}
	}
	hogs := make([]hog, 0, len(counts))
	for k, c := range counts {
		if c >= 2 {
			hogs = append(hogs, k)
		}
	}
	slices.SortFunc(hogs, func(a, b hog) int {
		if c := counts[b] - counts[a]; c != 0 {
			return c
		}
		if c := comparePorts(a.p.name, b.p.name); c != 0 {
			return c
		}
		return compareStints(a.s, b.s)
	})
	freed, chosen := 0, 0
	for _, k := range hogs {
		if freed >= n.limits.MaxHeldEvents/2 {
			break
		}
		freed += counts[k] - 1 // the refusal keeps a mark of one event
		chosen++
	}
	if freed < max(1, n.limits.MaxHeldEvents/4) {
		return false
	}
	for _, k := range hogs[:chosen] {
		if n.ports[k.p.name] == k.p {
			n.refuseStint(k.p, k.s)
		}
	}
	return true
}

// refuseStint drops what stint s holds at p and marks it as if it had
// reported p's sender lost: what it sends from now on is dropped, and if
// it ever starts (an honest stint that sent too much before its start
// arrived), the pipe is cut off on both sides, so that nothing is lost
// unnoticed. The mark counts as one held event of s's node.
func (n *Node) refuseStint(p *port, s stintID) {
	n.dropHeldWhere(p, func(h heldEvent) bool { return !h.vouch && h.from == s.node && h.sender == s.port })
	if !p.rare().lossReported[s] && !p.receivedAll() {
		p.noteLossReport(s)
		n.held[s.node]++
	}
}

// heldEnd reports whether p holds the end of stint (from, sender), its
// PeerMovedEvent. A stint sends nothing after its end but, maybe, a
// report that its target was lost (a closure it relays goes before).
func (p *port) heldEnd(from NodeName, sender PortName) bool {
	return slices.ContainsFunc(p.rare().held, func(h heldEvent) bool {
		_, moved := h.ev.(PeerMovedEvent)
		return moved && h.from == from && h.sender == sender
	})
}

// afterEnd is the refusal of an event that comes behind its stint's end
// marker, held.
func afterEnd(from NodeName, target PortName, seq uint64, what string) error {
	return &EventError{From: from, Target: target, Seq: seq, Err: ErrNotAuthorized,
		Detail: what + " from a stint whose end, its peer-moved event, came already"}
}

func notAuthorized(from NodeName, target PortName, seq uint64, what string) error {
	return &EventError{From: from, Target: target, Seq: seq, Err: ErrNotAuthorized,
		Detail: what + " from a node with no stint at the port"}
}

// releaseHeld applies, in arrival order per stint, the events held on p
// whose stints are now live. Applying one may start further
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

// nextReleasable returns the index of the first held event whose stint
// is live and holds nothing earlier, or -1. The events of this node's own
// ports that wait to be vouched for (vouch.go) keep their order per port
// too: once vouched for, such a port's events are as any local event,
// which needs no stint.
func (p *port) nextReleasable() int {
	var blocked []stintID
	for i, h := range p.rare().held {
		s := stintID{h.from, h.sender}
		if slices.Contains(blocked, s) {
			continue
		}
		if h.vouch {
			if !p.awaitsVouch(h.sender) {
				return i
			}
		} else if p.live(h.from, h.sender) && !p.waitsForReturn(h) {
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
			n.vouch(p, h.from, ev.NewPort)
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
	if ev.Sender.IsZero() {
		return &EventError{From: from, Target: ev.Target, Seq: ev.Seq, Err: ErrBadEvent, Detail: "user message from the zero port"}
	}
	p := n.ports[ev.Target]
	v := verdictApply
	if p != nil {
		if v = n.authorize(p, from, ev.Sender); v == verdictRefuse {
			return notAuthorized(from, ev.Target, ev.Seq, "user message")
		}
		if next, moved := p.rare().movedAway[from]; moved && v == verdictApply && ev.Seq >= next {
			if v = n.pastMove(p, from, ev.Sender); v == verdictRefuse {
				return &EventError{From: from, Target: ev.Target, Seq: ev.Seq, Err: ErrNotAuthorized,
					Detail: fmt.Sprintf("user message from a node the sender moved away from at %d", next)}
			}
		}
		if err := n.checkWindow(p, from, ev); err != nil && v != verdictDrop {
			if v != verdictHold || p.live(from, ev.Sender) {
				return err
			}
			// A stint that has not started is no one's to charge (a
			// laundered port's numbers are what a made-up descriptor
			// said): it is refused, as a hog of the hold would be, its
			// mark within the hold.
			refused, err := n.roomToHold(p, from, ev.Sender, ev.Target, ev.Seq)
			if err != nil {
				return err
			}
			if !refused {
				n.refuseStint(p, stintID{from, ev.Sender})
			}
			v = verdictDrop
		}
		if v == verdictHold {
			if p.heldEnd(from, ev.Sender) {
				return afterEnd(from, ev.Target, ev.Seq, "user message")
			}
			refused, err := n.roomToHold(p, from, ev.Sender, ev.Target, ev.Seq)
			if err != nil {
				return err
			}
			if refused {
				v = verdictDrop
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
		n.hold(p, heldEvent{from: from, sender: ev.Sender, user: m})
		return nil
	}
	return n.deliver(from, ev.Target, m)
}

// acceptRemoteClosure handles a ClosureEvent from another node.
func (n *Node) acceptRemoteClosure(from NodeName, ev ClosureEvent) error {
	if ev.Sender.IsZero() {
		return &EventError{From: from, Target: ev.Target, Err: ErrBadEvent, Detail: "closure from the zero port"}
	}
	p := n.ports[ev.Target]
	if p == nil {
		return nil // closed or removed meanwhile
	}
	v := n.authorize(p, from, ev.Sender)
	if _, moved := p.rare().movedAway[from]; moved && v == verdictApply && !ev.Lost {
		if v = n.pastMove(p, from, ev.Sender); v == verdictRefuse {
			return &EventError{From: from, Target: ev.Target, Seq: ev.LastSeq, Err: ErrNotAuthorized,
				Detail: "closure from a node the sender moved away from"}
		}
	}
	if ev.Lost && v != verdictApply && !p.holds(from, ev.Sender) {
		if p.state == stateReceiving && p.peer == (Address{Node: from, Port: ev.Sender}) {
			// The proxy this port sends to lost its target: the pipe is
			// broken, which the port this one sends to could make so
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
		// It counts as a held event of its node.
		if s := (stintID{from, ev.Sender}); !p.receivedAll() && !p.rare().lossReported[s] {
			if refused, err := n.roomToHold(p, from, ev.Sender, ev.Target, 0); err != nil || refused {
				return err
			}
			p.noteLossReport(s)
			n.held[from]++
		}
		return nil
	}
	switch v {
	case verdictRefuse:
		return notAuthorized(from, ev.Target, 0, "closure")
	case verdictDrop:
		return nil
	case verdictHold:
		if !ev.Lost && p.heldEnd(from, ev.Sender) {
			return afterEnd(from, ev.Target, ev.LastSeq, "closure")
		}
		if refused, err := n.roomToHold(p, from, ev.Sender, ev.Target, 0); err != nil || refused {
			return err
		}
		n.hold(p, heldEvent{from: from, sender: ev.Sender, ev: ev})
		return nil
	}
	return n.acceptClosure(from, ev)
}

// acceptRemotePeerMoved handles a PeerMovedEvent from another node. Its
// end marker is applied only once the stint it ends is live; before, it
// is held with that stint's other events. So a node can end only a stint
// it has, and a flood of markers is held (within MaxHeldEvents) or
// refused.
func (n *Node) acceptRemotePeerMoved(from NodeName, ev PeerMovedEvent) error {
	switch {
	case ev.NewNode.IsZero() || ev.NewPort.IsZero() || ev.Sender.IsZero():
		return &EventError{From: from, Target: ev.Target, Err: ErrBadEvent, Detail: "peer moved with a zero name"}
	case ev.NewNode == from && ev.NewPort == ev.Sender:
		return &EventError{From: from, Target: ev.Target, Err: ErrBadEvent, Detail: "peer moved to the stint it ends"}
	}
	p := n.ports[ev.Target]
	if p == nil {
		return nil
	}
	v := n.authorize(p, from, ev.Sender)
	switch v {
	case verdictRefuse:
		return notAuthorized(from, ev.Target, 0, "peer-moved event")
	case verdictDrop:
		return nil
	case verdictHold:
		if p.heldEnd(from, ev.Sender) {
			return afterEnd(from, ev.Target, 0, "peer-moved event")
		}
		if refused, err := n.roomToHold(p, from, ev.Sender, ev.Target, 0); err != nil || refused {
			return err
		}
		h := heldEvent{from: from, sender: ev.Sender, ev: ev}
		if ev.NewNode == n.name && p.live(from, ev.Sender) {
			n.vouch(p, from, ev.NewPort)
			h.vouchTaken = true
		}
		n.hold(p, h)
		n.releaseHeld(p) // what the vouched-for port sent may go now
		return nil
	}
	if p.live(ev.NewNode, ev.NewPort) {
		return &EventError{From: from, Target: ev.Target, Err: ErrBadEvent, Detail: "peer moved to a stint that is live already"}
	}
	if ev.NewNode == n.name {
		n.vouch(p, from, ev.NewPort)
	}
	return n.acceptPeerMoved(from, ev)
}

// acceptRemoteAck handles an ObserveProxyAckEvent from another node. Only
// a node the proxy asked may send one. It is applied at once: it may
// overtake the start of the stint it ends (see port.sources), and the
// messages it covers are forwarded whenever they are released.
func (n *Node) acceptRemoteAck(from NodeName, ev ObserveProxyAckEvent) error {
	p := n.ports[ev.Target]
	if p == nil || (p.state == stateProxying && p.lost) {
		return nil // cut off meanwhile; the ack is moot
	}
	if p.state != stateProxying || !p.rare().asked[from] ||
		!slices.Contains(p.rare().askedPorts, stintID{from, ev.Sender}) {
		return &EventError{From: from, Target: ev.Target, Seq: ev.LastSeq,
			Err:    &causeError{text: ErrNotAuthorized.Error(), errs: []error{ErrNotAuthorized, ErrBadEvent}},
			Detail: "observe-proxy ack this proxy did not ask for"}
	}
	return n.acceptObserveProxyAck(from, ev)
}
