package ports

import "slices"

type portState uint8

const (
	stateReceiving portState = iota + 1
	stateProxying
)

// queuedMessage is a message held by a port, with attached ports named
// locally. It is kept and passed by value (in a port's queue, in local and
// held events), so that a message allocates no record of its own on its way
// through this node.
type queuedMessage struct {
	seq   uint64
	ports []PortName
	body  any
}

// port is one port's state. A port is only ever touched by its Node, under
// the caller's serialisation.
//
// The fields every port uses are here; those only ports that moved,
// proxies and vouching use are in a portRare made on first use (see rare
// and rareForWrite), so that a plain pipe's two ports stay small: an idle
// pipe is mostly its ports.
type port struct {
	name PortName

	// peer is where this end sends: the other end's address as this end
	// knows it, possibly a proxy on the way there. An ObserveProxyEvent from
	// that proxy moves it one hop closer. A proxy keeps the value it had when
	// it moved, to tell the other end about losses.
	peer Address

	nextSend uint64 // next sequence number to assign when sending
	// nextRecv is the next sequence number to release (to the user, or
	// forwarded by a proxy); nextMissing is the lowest number at or above
	// nextRecv that has not arrived, so [nextRecv, nextMissing) is queued.
	nextRecv    uint64
	nextMissing uint64
	queue       *seqQueue // nil until the first message
	// lastRecv: see peerClosed.
	lastRecv uint64

	// sources counts, per node, the sending stints that may still have
	// messages in flight to this port (see PeerMovedEvent), for node
	// loss. An ack, which may overtake the start of the stint it ends,
	// may take a count below zero for a while.
	sources nodeCounts
	// stints holds the live stints that entitle a port on a node to
	// address this port (authority.go): started by the pipe, an adoption
	// or a PeerMovedEvent, ended by a PeerMovedEvent. An end marker is
	// applied only once its stint is live (before, it is held), so the
	// set is exact. Nearly always one entry.
	stints stintSet

	// ext holds the state only some ports need; nil until rareForWrite
	// makes it.
	ext *portRare

	state portState

	// peerClosed: the peer will send nothing after lastRecv. lost: that
	// bound was set by a loss, not announced by the peer, so later arrivals
	// beyond it are dropped quietly rather than reported as bad (the lost
	// node is portRare.lostNode).
	peerClosed bool
	lost       bool
	// lostBefore: the closure was a loss cut off where this end lived
	// before it moved here (Descriptor.PeerLost). Unlike lost it only
	// says how to report the closure: what that node had queued is still
	// on its way here, and this end is still cut off if its route goes.
	lostBefore bool

	// announceMove: a proxy whose move its peer has not been told about;
	// it tells once the new node acknowledges the port (PortAcceptedEvent).
	announceMove bool

	// Route collapsing (collapse.go), for proxies. observing: the move was
	// acknowledged and the proxy is asking for its referrer (the port whose
	// peer it is; portRare.asked). acked: the referrer now sends past it
	// (portRare.ackSeq, portRare.handover).
	observing bool
	acked     bool

	// inTransit: a receiving port attached to a message sitting on this
	// node; the message owns it.
	inTransit bool

	// releasing guards the loop that applies held events (portRare.held).
	releasing bool
	// disowned: the node this port was adopted from was lost before it
	// vouched for it, and had no standing at its peer here: what this
	// port sends to that peer is dropped.
	disowned bool
	// unvouched: this port was adopted with a peer on this node, and the
	// node it came from has not yet told that peer (vouch.go): its events
	// to the peer are held there (portRare.vouchWaits).
	unvouched bool
}

// portRare is the state of a port that only ports that moved, proxies and
// vouching use. A plain pipe's ports never make one.
type portRare struct {
	// target is where a proxy forwards to.
	target Address
	// lostNode is the node whose loss closed the port (port.lost).
	lostNode NodeName

	// asked holds the nodes a proxy asked for its referrer (collapse.go),
	// the only ones whose ack it takes, and the stints it asked for.
	// ackSeq is the last sequence number routed through an acked proxy,
	// and handover the referrer (its node and port), which this proxy
	// watches until its target knows.
	asked      map[NodeName]bool
	askedPorts []stintID
	ackSeq     uint64
	handover   stintID

	// held keeps, in arrival order, events from nodes whose stint at this
	// port has not started yet (authority.go).
	held []heldEvent
	// adoptedFrom is the node this port was adopted from, whose count of
	// ports here it is part of; zero for ports made here, and once that
	// node is lost.
	adoptedFrom NodeName
	// movedAway holds, per node, the sequence number from which this
	// port's sender no longer sends from that node: the sender was moved
	// from there to this node (this node adopted it, and its descriptor
	// says what it sends next). Until the node's stint here ends, it may
	// still deliver what it sent before, and nothing numbered from there
	// on, nor a closure: a node that gave the sender away cannot forge its
	// traffic (authority.go). A new stint of the node clears its entry.
	movedAway map[NodeName]uint64
	// lossReported holds the stints that reported this port's sender lost
	// (a closure with Lost) before they started here; the report takes
	// effect when the stint does. One entry per stint at most, each
	// counted as a held event of its node (Config.MaxHeldEvents), so a
	// node naming ports it makes up grows it only within its hold.
	lossReported map[stintID]bool
	// endedEarly holds ports of this node whose stint here ended before
	// it started: the end marker of a port of this node is a local event,
	// applied at once, and may come before the marker that starts its
	// stint, which comes from another node (a remote end marker is held
	// instead, see authority.go). When that start comes, it starts
	// nothing. Bounded by this node's own moves.
	endedEarly []PortName
	// vouchWaits, on the peer of unvouched ports (port.unvouched), lists
	// them, with the node each waits for.
	vouchWaits []vouchWait
	// deferredObserve is the proxy's request to be bypassed, when it came
	// while this port waited to be vouched for: it is answered then.
	deferredObserve *ObserveProxyEvent
}

// noRare is what rare returns for a port without a portRare: every field
// zero, maps nil. Nothing ever writes to it.
var noRare portRare

// rare returns p's rarely used state for reading (and for deleting from
// its maps, which is a no-op on noRare's nil maps); it makes nothing.
// Writes go through rareForWrite.
func (p *port) rare() *portRare {
	if p.ext == nil {
		return &noRare
	}
	return p.ext
}

// rareForWrite returns p's rarely used state, making it on first use:
// the one place that does.
func (p *port) rareForWrite() *portRare {
	if p.ext == nil {
		p.ext = &portRare{}
	}
	return p.ext
}

func newPort(name PortName, peer Address, nextSend, nextRecv uint64) *port {
	return &port{
		name:        name,
		state:       stateReceiving,
		peer:        peer,
		nextSend:    nextSend,
		nextRecv:    nextRecv,
		nextMissing: nextRecv,
	}
}

// enqueue stores m, which the caller has checked is new and in range.
func (p *port) enqueue(m queuedMessage) {
	if p.queue == nil {
		p.queue = &seqQueue{}
	}
	p.queue.put(m)
	for p.queue.has(p.nextMissing) {
		p.nextMissing++
	}
}

// queued reports whether message seq waits in the queue.
func (p *port) queued(seq uint64) bool {
	return p.queue.has(seq)
}

// has reports whether seq was already received (taken, forwarded or queued).
func (p *port) has(seq uint64) bool {
	return seq < p.nextRecv || p.queued(seq)
}

// next removes and returns the message to release now; ok is false when it
// has not arrived.
func (p *port) next() (m queuedMessage, ok bool) {
	m, ok = p.queue.take(p.nextRecv)
	if !ok {
		return queuedMessage{}, false
	}
	p.nextRecv++
	return m, true
}

// takeAbove removes and returns, in sequence order, the queued messages
// after seq.
func (p *port) takeAbove(seq uint64) []queuedMessage {
	out := p.queue.takeAbove(seq)
	if p.nextMissing > seq+1 {
		p.nextMissing = max(seq+1, p.nextRecv)
	}
	return out
}

// receivedAll reports whether every message up to the peer's announced
// last one has arrived.
func (p *port) receivedAll() bool {
	return p.peerClosed && p.nextMissing > p.lastRecv
}

// drained reports whether the reader has seen the end: the peer closed and
// everything up to its last message was released.
func (p *port) drained() bool {
	return p.peerClosed && p.nextRecv > p.lastRecv
}

// waitsOn reports whether a loss of node may cost this pipe messages: a
// sender may still have something in flight to this port from there, or
// this proxy forwards there, or this receiving port sends there, or this
// bypassed proxy is the only one that knows its referrer now sends from
// there.
//
// A proxy does not watch its peer's node: that peer may be long bypassed,
// and the receiving port at the end of the route watches its own peer.
func (p *port) waitsOn(node NodeName) bool {
	if p.state == stateProxying && p.rare().target.Node == node {
		return true
	}
	if p.lost {
		return false // already cut off
	}
	if p.state == stateProxying && p.acked && p.rare().handover.node == node {
		return true
	}
	if p.receivedAll() {
		return false // nothing more to come, nothing to lose
	}
	if next, moved := p.rare().movedAway[node]; moved && p.nextMissing >= next && !(p.state == stateReceiving && p.peer.Node == node) {
		return false // everything the sender sent from there has arrived
	}
	if p.state == stateReceiving && p.peer.Node == node {
		return true
	}
	return p.sources.count(node) > 0
}

// startStint makes (node, name) a live stint of p. A new stint of node
// ends the restriction on what node may send (portRare.movedAway).
func (p *port) startStint(node NodeName, name PortName) {
	delete(p.rare().movedAway, node)
	p.stints.add(stintID{node, name})
}

// endStint ends stint (node, name) of p, if it is live.
func (p *port) endStint(node NodeName, name PortName) {
	s := stintID{node, name}
	p.stints.removeWhere(func(t stintID) bool { return t == s })
}

// live reports whether (node, name) is a live stint of p.
func (p *port) live(node NodeName, name PortName) bool {
	return p.stints.has(stintID{node, name})
}

// liveNode reports whether some port of node has a live stint at p.
func (p *port) liveNode(node NodeName) bool {
	return p.stints.any(func(s stintID) bool { return s.node == node })
}

// endStint ends stint (node, name) of p, as a PeerMovedEvent from it
// says. A stint of this node's that has not started yet is noted, so
// that its start, on its way, starts nothing.
func (n *Node) endStint(p *port, node NodeName, name PortName) {
	if node == n.name && !p.live(node, name) {
		r := p.rareForWrite()
		r.endedEarly = append(r.endedEarly, name)
		return
	}
	p.endStint(node, name)
	if r := p.rare(); len(r.askedPorts) > 0 {
		// It will not answer an ask any more: its end marker came, and
		// it would have come to the proxy's target had it switched.
		// (So asks are bounded by the stints.)
		r.askedPorts = slices.DeleteFunc(r.askedPorts, func(s stintID) bool { return s == stintID{node, name} })
	}
}

// startStint starts stint (node, name) of p, as a PeerMovedEvent says,
// unless it is one of this node's that ended already.
func (n *Node) startStint(p *port, node NodeName, name PortName) {
	if node == n.name {
		if i := slices.Index(p.rare().endedEarly, name); i >= 0 {
			r := p.rareForWrite()
			r.endedEarly = slices.Delete(r.endedEarly, i, i+1)
			if len(r.endedEarly) == 0 {
				r.endedEarly = nil
			}
			return
		}
	}
	p.startStint(node, name)
}

// forgetStints ends every stint of node at p.
func (p *port) forgetStints(node NodeName) {
	p.stints.removeWhere(func(s stintID) bool { return s.node == node })
}

// noteLossReport keeps stint s's early report that the sender was lost.
func (p *port) noteLossReport(s stintID) {
	r := p.rareForWrite()
	if r.lossReported == nil {
		r.lossReported = map[stintID]bool{}
	}
	r.lossReported[s] = true
}

// dropLossReports forgets p's early loss reports of node (every node when
// node is zero), and their count in the hold.
func (n *Node) dropLossReports(p *port, node NodeName) {
	for s := range p.rare().lossReported {
		if node.IsZero() || s.node == node {
			delete(p.rare().lossReported, s)
			n.unhold(s.node)
		}
	}
}

// noteMovedAway records that p's sender, which sends numbers from next on,
// was moved here from node.
func (p *port) noteMovedAway(node NodeName, next uint64) {
	r := p.rareForWrite()
	if r.movedAway == nil {
		r.movedAway = map[NodeName]uint64{}
	}
	r.movedAway[node] = max(r.movedAway[node], next)
}

func (p *port) addSource(node NodeName, delta int) {
	if p.sources.add(node, delta) == 0 {
		p.sources.remove(node)
	}
}
