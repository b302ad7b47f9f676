package ports

import (
	"crypto/rand"
	"io"
	"slices"
)

// Config configures a Node.
type Config struct {
	// Name is this node's name; it must not be zero.
	Name NodeName
	// Rand is the source of port names: crypto/rand in production (the
	// default when nil), a seeded generator in simulations.
	Rand io.Reader
	// DropBody, when set, is called for the Body of every message the node
	// discards, so the runtime can close the OS handles inside. It must not
	// call back into the Node.
	DropBody func(body any)

	// The bounds below limit what other nodes can make this node keep.
	// Zero takes the default (DefaultReorderWindow and so on); each is
	// enforced with an *EventError charged to the sending node.

	// ReorderWindow is how far ahead of the next expected sequence number
	// a user message may be. One beyond it is refused (ErrOutsideWindow)
	// and not stored, so a port's reorder queue holds at most this many.
	ReorderWindow uint64
	// MaxPortsPerNode is how many ports adopted from one node (descriptors
	// it sent) may be alive here at once (ErrTooManyPorts). It also bounds
	// what one node can add to the indexes of peers and proxy targets.
	MaxPortsPerNode int
	// MaxHeldEvents is how many events from one node may wait, across all
	// ports, for the event that confirms its authority. At the bound, the
	// node's stints that hold the most are refused (authority.go,
	// refuseHogs); a hold that refusing would not free is ErrTooManyHeld.
	MaxHeldEvents int
	// MaxLostNodes is how many lost nodes the node remembers, so that a
	// port that comes to depend on one is cut off at once. The oldest is
	// forgotten first.
	MaxLostNodes int
}

// Defaults for the zero fields of Config.
const (
	DefaultReorderWindow   = 1 << 16
	DefaultMaxPortsPerNode = 16384
	DefaultMaxHeldEvents   = 4096
	DefaultMaxLostNodes    = 4096
)

func (c Config) withDefaults() Config {
	if c.ReorderWindow == 0 {
		c.ReorderWindow = DefaultReorderWindow
	}
	if c.MaxPortsPerNode <= 0 {
		c.MaxPortsPerNode = DefaultMaxPortsPerNode
	}
	if c.MaxHeldEvents <= 0 {
		c.MaxHeldEvents = DefaultMaxHeldEvents
	}
	if c.MaxLostNodes <= 0 {
		c.MaxLostNodes = DefaultMaxLostNodes
	}
	return c
}

// Node is the port state machine of one node.
//
// A Node does no I/O, starts no goroutines and takes no locks: the caller
// serialises every method call (the runtime holds one mutex around the Node
// and its channel hand-off). Events for other nodes collect until
// TakeOutgoing; the caller must send them in the order returned, over links
// that keep per-destination order. Events between ports of this node are
// handled before each method returns.
type Node struct {
	name     NodeName
	rand     io.Reader
	nameBuf  []byte // newPortName's, made on first use
	dropBody func(any)
	limits   Config

	ports map[PortName]*port
	// lost holds the nodes reported lost, lostOrder the same in the order
	// reported, so the oldest can be forgotten (Config.MaxLostNodes).
	lost      map[NodeName]bool
	lostOrder []NodeName
	// adopted counts, per node, the live ports adopted from it
	// (Config.MaxPortsPerNode); held counts the events held from it
	// (Config.MaxHeldEvents).
	adopted map[NodeName]int
	held    map[NodeName]int
	// leaving counts, by the address they were sending to, the proxies
	// whose move was not acknowledged yet (announceMove).
	leaving map[Address]int
	// proxyTo finds a proxy by its target, for PortAcceptedEvent.
	proxyTo map[Address]PortName
	// referrers finds a receiving port by its peer, so that no two ports
	// here send to one port of this node (see referrerIndex).
	referrers referrerIndex

	// local holds events between this node's own ports; flush empties it
	// before every method returns.
	local    []localEvent
	outgoing []Outgoing
	// spareOutgoing and spareChanged are the arrays the last
	// TakeOutgoing and TakeStatusChanges returned, reused by the next
	// call, so that a steady flow of messages allocates no new ones.
	spareOutgoing []Outgoing

	changed      []PortName
	changedSet   map[PortName]bool
	spareChanged []PortName

	// watched collects, for TakeWatchedNodes, other nodes that a port
	// started to depend on.
	watched    []NodeName
	watchedSet map[NodeName]bool

	// internalErr keeps the first error an event between this node's own
	// ports produced. Such an error is a bug in this package; tests check it.
	internalErr error
}

// localEvent is an event between ports of this node: the user message in
// user when ev is nil. User messages keep their attached ports as local
// names and never become descriptors.
type localEvent struct {
	target PortName
	user   queuedMessage
	ev     Event
}

// NewNode returns an empty node. It panics if cfg.Name is zero.
func NewNode(cfg Config) *Node {
	if cfg.Name.IsZero() {
		panic("ports: Config.Name is zero")
	}
	r := cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	return &Node{
		name:       cfg.Name,
		rand:       r,
		dropBody:   cfg.DropBody,
		limits:     cfg.withDefaults(),
		ports:      map[PortName]*port{},
		lost:       map[NodeName]bool{},
		adopted:    map[NodeName]int{},
		held:       map[NodeName]int{},
		leaving:    map[Address]int{},
		proxyTo:    map[Address]PortName{},
		referrers:  newReferrerIndex(cfg.Name),
		changedSet: map[PortName]bool{},
		watchedSet: map[NodeName]bool{},
	}
}

// Name returns the node's name.
func (n *Node) Name() NodeName { return n.name }

// CreatePortPair creates two receiving ports that are each other's peer.
func (n *Node) CreatePortPair() (PortName, PortName) {
	a := n.newPortName()
	n.ports[a] = nil // reserve the name while drawing the second
	b := n.newPortName()
	pa := newPort(a, Address{n.name, b}, 1, 1)
	pb := newPort(b, Address{n.name, a}, 1, 1)
	pa.addSource(n.name, 1)
	pb.addSource(n.name, 1)
	pa.startStint(n.name, b)
	pb.startStint(n.name, a)
	n.ports[a], n.ports[b] = pa, pb
	n.referrers.set(pa.peer, a)
	n.referrers.set(pb.peer, b)
	return a, b
}

// SendMessage sends m from the receiving port from to its peer and assigns
// the message its sequence number (m.Seq is ignored).
//
// Every port in m.Ports must be a receiving port of this node that the
// caller owns (not attached to another message), not from itself, not
// from's peer, and must not carry from's peer in its queue; each appears
// once. On success the attached ports are consumed: the message owns them
// and the caller must forget their names. On error nothing has changed.
//
// Sending a pipe's end over the same pipe is refused when this node can see
// it (the ends are named as each other's peers). After both ends have moved
// it cannot see it, and such a message would chase itself around the route
// forever; the runtime must not do that.
func (n *Node) SendMessage(from PortName, m Message) error {
	p, err := n.userPort("send", from)
	if err != nil {
		return err
	}
	if p.peerClosed {
		return portErr("send", from, ErrPeerClosed)
	}
	if err := n.checkAttachments(p, m.Ports); err != nil {
		return err
	}
	msg := queuedMessage{seq: p.nextSend, ports: slices.Clone(m.Ports), body: m.Body}
	p.nextSend++
	for _, a := range msg.ports {
		n.ports[a].inTransit = true
	}
	n.routeToPeer(p, msg)
	n.flush()
	return nil
}

// GetMessage takes the next message in sequence order from receiving port
// p. ok is false when that message has not arrived (see Status for whether
// one ever will). The ports in the returned message are receiving ports of
// this node, now owned by the caller.
func (n *Node) GetMessage(name PortName) (Message, bool, error) {
	p, err := n.userPort("get", name)
	if err != nil {
		return Message{}, false, err
	}
	m, ok := p.next()
	if !ok {
		return Message{}, false, nil
	}
	for _, a := range m.ports {
		if ap := n.ports[a]; ap != nil {
			ap.inTransit = false
			n.markChanged(a)
		}
	}
	if p.drained() {
		n.dropHeld(p, NodeName{}) // nothing more is delivered
		n.markChanged(name)
	}
	return Message{Seq: m.seq, Ports: m.ports, Body: m.body}, true, nil
}

// Status reports receiving port p's status. It works on ports attached to a
// message on this node too; a port that moved away is ErrPortInTransit.
func (n *Node) Status(name PortName) (Status, error) {
	p := n.ports[name]
	if p == nil {
		return Status{}, portErr("status", name, ErrUnknownPort)
	}
	if p.state != stateReceiving {
		return Status{}, portErr("status", name, ErrPortInTransit)
	}
	s := Status{Readable: p.queued(p.nextRecv), PeerClosed: p.drained()}
	if s.PeerClosed {
		s.Reason = ReasonPeerClosed
		if p.lost || p.lostBefore {
			s.Reason, s.LostNode = ReasonNodeLost, p.rare().lostNode
		}
	}
	return s, nil
}

// ClosePort closes the caller's receiving port p. Its peer learns after the
// messages p sent; messages queued on p are discarded (bodies to DropBody,
// attached ports closed the same way, recursively).
func (n *Node) ClosePort(name PortName) error {
	if _, err := n.userPort("close", name); err != nil {
		return err
	}
	n.closePorts(name)
	n.flush()
	return nil
}

// MovePort turns the caller's receiving port p into a proxy to a new port on
// node to, for bootstrap (ports handed over outside any pipe, such as the
// invitation's attachments). The caller must deliver the returned
// descriptor to node to, which calls AdoptPort with it, BEFORE it sends the
// events TakeOutgoing returns next (they include p's queued messages).
func (n *Node) MovePort(name PortName, to NodeName) (Descriptor, error) {
	p, err := n.userPort("move", name)
	if err != nil {
		return Descriptor{}, err
	}
	if to.IsZero() || to == n.name {
		return Descriptor{}, portErr("move", name, ErrInvalidNode)
	}
	if n.lost[to] {
		return Descriptor{}, portErr("move", name, ErrNodeLost)
	}
	d := n.convertToProxy(p, to)
	n.pump(p)
	n.flush()
	return d, nil
}

// AdoptPort creates on this node the receiving port described by d, which
// node from made with MovePort, and returns its name (d.Name). The caller
// owns it. It queues a PortAcceptedEvent for from (see TakeOutgoing); the
// proxy left on from stays at least until that arrives.
func (n *Node) AdoptPort(from NodeName, d Descriptor) (PortName, error) {
	if from.IsZero() || from == n.name {
		return PortName{}, portErr("adopt", d.Name, ErrInvalidNode)
	}
	if err := n.adopt(from, d, false); err != nil {
		return PortName{}, portErr("adopt", d.Name, err)
	}
	n.flush()
	return d.Name, nil
}

// AcceptEvent handles an event that arrived from node from.
//
// Events for unknown ports are not errors (the port may have closed while
// the event was on its way): a user message's descriptors are adopted and
// closed at once, so their peers learn, and its body goes to DropBody; other
// events are ignored. The result is nil then.
//
// An *EventError (wrapping ErrBadSequence, ErrBadDescriptor, ErrPortExists
// or ErrBadEvent) reports a message that no well-behaved node sends: a
// sequence number that is zero, repeated, or beyond the peer's announced
// last one; a bad descriptor; an unknown event type. The offending message
// has been discarded when it returns; the runtime may apply its bad-message
// policy to from. AcceptEvent never panics on remote input.
func (n *Node) AcceptEvent(from NodeName, e Event) error {
	if from.IsZero() || from == n.name {
		return &EventError{From: from, Detail: "event from an invalid node", Err: ErrInvalidNode}
	}
	e, ok := derefEvent(e)
	if !ok {
		return &EventError{From: from, Err: ErrBadEvent, Detail: "nil or unknown event"}
	}
	var err error
	switch ev := e.(type) {
	case UserEvent:
		err = n.acceptRemoteUser(from, ev)
	case ClosureEvent:
		err = n.acceptRemoteClosure(from, ev)
	case PeerMovedEvent:
		err = n.acceptRemotePeerMoved(from, ev)
	case PortAcceptedEvent:
		n.acceptPortAccepted(from, ev)
	case ObserveProxyEvent:
		err = n.acceptObserveProxy(from, ev)
	case ObserveProxyAckEvent:
		err = n.acceptRemoteAck(from, ev)
	}
	n.flush()
	return err
}

// derefEvent turns a pointer to an event into the event; ok is false for
// a nil pointer or a type outside the closed set.
func derefEvent(e Event) (Event, bool) {
	switch ev := e.(type) {
	case UserEvent, ClosureEvent, PeerMovedEvent, PortAcceptedEvent, ObserveProxyEvent, ObserveProxyAckEvent:
		return e, true
	case *UserEvent:
		if ev != nil {
			return *ev, true
		}
	case *ClosureEvent:
		if ev != nil {
			return *ev, true
		}
	case *PeerMovedEvent:
		if ev != nil {
			return *ev, true
		}
	case *PortAcceptedEvent:
		if ev != nil {
			return *ev, true
		}
	case *ObserveProxyEvent:
		if ev != nil {
			return *ev, true
		}
	case *ObserveProxyAckEvent:
		if ev != nil {
			return *ev, true
		}
	}
	return nil, false
}

// LostNode tells the node that the channel to node died and nothing more
// will come from or reach it. Every port that could be waiting for a
// message from it, forwards to it, or whose peer lives there is cut off:
// a receiving port delivers what it holds in sequence and then reports
// ReasonNodeLost; a proxy passes on what it holds in sequence, tells the
// ports on either side, and goes. Calling it again for the same node does
// nothing.
func (n *Node) LostNode(node NodeName) {
	if node.IsZero() || node == n.name || n.lost[node] {
		return
	}
	n.rememberLost(node)
	names := make([]PortName, 0, len(n.ports))
	for name := range n.ports {
		names = append(names, name)
	}
	slices.SortFunc(names, comparePorts)
	for _, name := range names {
		if p := n.ports[name]; p != nil && p.waitsOn(node) {
			n.lose(p, node)
		}
	}
	// After the ports were cut off: what the vouched ones said on their
	// way out goes with the rest.
	for _, name := range names {
		if p := n.ports[name]; p != nil {
			n.settleVouches(p, node)
		}
	}
	n.flush()
	n.forgetNode(node)
}

// rememberLost records node as lost, forgetting the oldest lost node
// beyond Config.MaxLostNodes.
func (n *Node) rememberLost(node NodeName) {
	n.lost[node] = true
	n.lostOrder = append(n.lostOrder, node)
	if len(n.lostOrder) > n.limits.MaxLostNodes {
		delete(n.lost, n.lostOrder[0])
		n.lostOrder[0] = NodeName{}
		n.lostOrder = n.lostOrder[1:]
	}
}

// forgetNode drops, once the ports that depended on node were cut off,
// everything the node keeps about it but the fact that it is lost: events
// held from it, its stints, the asks of proxies, its count of ports.
func (n *Node) forgetNode(node NodeName) {
	for _, p := range n.ports {
		n.dropHeld(p, node)
		p.sources.remove(node)
		p.forgetStints(node)
		if r := p.ext; r != nil {
			delete(r.movedAway, node)
			n.dropLossReports(p, node)
			delete(r.asked, node)
			r.askedPorts = slices.DeleteFunc(r.askedPorts, func(s stintID) bool { return s.node == node })
			if r.adoptedFrom == node {
				r.adoptedFrom = NodeName{}
			}
		}
	}
	delete(n.adopted, node)
	delete(n.held, node)
	if n.watchedSet[node] {
		delete(n.watchedSet, node)
		n.watched = slices.DeleteFunc(n.watched, func(w NodeName) bool { return w == node })
	}
	n.flush()
}

// TakeOutgoing returns the events for other nodes produced since the last
// call, in the order they must be sent. The slice is valid until the next
// call, which reuses its array.
func (n *Node) TakeOutgoing() []Outgoing {
	out := n.outgoing
	// The spare's events went out with the previous call: forget them,
	// so that the messages they carry can be freed.
	clear(n.spareOutgoing)
	n.outgoing, n.spareOutgoing = n.spareOutgoing[:0], out
	return out
}

// TakeStatusChanges returns the receiving ports whose Status may have
// changed since the last call, each once, so the runtime can wake readers.
// A name may belong to a port that has since closed or moved. The slice is
// valid until the next call, which reuses its array.
func (n *Node) TakeStatusChanges() []PortName {
	out := n.changed
	n.changed, n.spareChanged = n.spareChanged[:0], out
	clear(n.changedSet)
	return out
}

// TakeWatchedNodes returns the other nodes that ports of this node started
// to depend on since the last call, each once: a peer they now send to, or
// a node a sender now sends to them from. The node learns that one of them
// is lost only if the caller tells it (LostNode), so a runtime that has no
// connection to such a node should make one, or otherwise make sure it
// hears of the node's loss. Names may repeat across calls.
func (n *Node) TakeWatchedNodes() []NodeName {
	if len(n.watched) == 0 {
		return nil // the common case, on every flush
	}
	out := n.watched
	n.watched = nil
	clear(n.watchedSet)
	return out
}

// PortCount returns the number of live ports of any state, for leak checks.
func (n *Node) PortCount() int { return len(n.ports) }

// ProxyCount returns the number of proxies, for checks that routes
// collapsed.
func (n *Node) ProxyCount() int {
	c := 0
	for _, p := range n.ports {
		if p.state == stateProxying {
			c++
		}
	}
	return c
}

// userPort returns the port the caller names, which must be a receiving
// port it owns.
func (n *Node) userPort(op string, name PortName) (*port, error) {
	p := n.ports[name]
	if p == nil {
		return nil, portErr(op, name, ErrUnknownPort)
	}
	if p.state != stateReceiving || p.inTransit {
		return nil, portErr(op, name, ErrPortInTransit)
	}
	return p, nil
}

// removePort forgets p.
func (n *Node) removePort(p *port) {
	if n.ports[p.name] != p {
		return
	}
	delete(n.ports, p.name)
	if r := p.rare(); !r.adoptedFrom.IsZero() {
		if n.adopted[r.adoptedFrom]--; n.adopted[r.adoptedFrom] <= 0 {
			delete(n.adopted, r.adoptedFrom)
		}
		r.adoptedFrom = NodeName{} // r is p's own: noRare's is zero
	}
	n.dropHeld(p, NodeName{})
	n.dropLossReports(p, NodeName{})
	n.setAnnounceMove(p, false)
	switch p.state {
	case stateProxying:
		delete(n.proxyTo, p.rare().target)
	case stateReceiving:
		n.forgetReferrer(p)
	}
}

// setAnnounceMove sets p.announceMove and keeps the leaving index.
func (n *Node) setAnnounceMove(p *port, on bool) {
	if p.announceMove == on {
		return
	}
	p.announceMove = on
	if on {
		n.leaving[p.peer]++
	} else if n.leaving[p.peer]--; n.leaving[p.peer] <= 0 {
		delete(n.leaving, p.peer)
	}
}

// forgetReferrer removes receiving port p from the referrers index.
func (n *Node) forgetReferrer(p *port) {
	if name, _ := n.referrers.get(p.peer); name == p.name {
		n.referrers.remove(p.peer)
	}
}

// noteWatched records that a port of this node now depends on node (see
// TakeWatchedNodes).
func (n *Node) noteWatched(node NodeName) {
	if node == n.name || node.IsZero() || n.watchedSet[node] {
		return
	}
	n.watchedSet[node] = true
	n.watched = append(n.watched, node)
}

func (n *Node) markChanged(name PortName) {
	if !n.changedSet[name] {
		n.changedSet[name] = true
		n.changed = append(n.changed, name)
	}
}

// emit queues control event ev (any event but a user message) for node to:
// handled before the current method returns if to is this node, sent by
// the caller otherwise.
func (n *Node) emit(to NodeName, ev Event) {
	if u, ok := ev.(UserEvent); ok {
		// A bug here: user messages go by route, unboxed.
		n.noteBug(&EventError{Target: u.Target, Seq: u.Seq, Err: ErrBadEvent, Detail: "user message emitted as a control event"})
		n.drop(u.Body)
		return
	}
	if to == n.name {
		n.local = append(n.local, localEvent{target: ev.TargetPort(), ev: ev})
		return
	}
	if n.lost[to] {
		return // moot
	}
	n.outgoing = append(n.outgoing, Outgoing{To: to, control: ev})
}

// emitUser queues user message ev for node to, another node.
func (n *Node) emitUser(to NodeName, ev UserEvent) {
	if n.lost[to] {
		// No user message is ever routed to a lost node: proxies toward it
		// are removed and ports whose peer is there are closed before
		// anything could be sent.
		n.noteBug(&EventError{Target: ev.Target, Seq: ev.Seq, Err: ErrNodeLost, Detail: "user message routed to a lost node"})
		n.drop(ev.Body)
		return
	}
	n.outgoing = append(n.outgoing, Outgoing{To: to, user: ev})
}

// flush handles the events between this node's own ports until none
// remain.
func (n *Node) flush() {
	for i := 0; i < len(n.local); i++ {
		le := n.local[i]
		n.local[i] = localEvent{}
		var err error
		switch ev := le.ev.(type) {
		case nil:
			err = n.deliver(n.name, le.target, le.user)
		case ClosureEvent:
			err = n.acceptClosure(n.name, ev)
		case PeerMovedEvent:
			err = n.acceptPeerMoved(n.name, ev)
		case PortAcceptedEvent:
			n.acceptPortAccepted(n.name, ev)
		case ObserveProxyEvent:
			err = n.acceptObserveProxy(n.name, ev)
		case ObserveProxyAckEvent:
			err = n.acceptObserveProxyAck(n.name, ev)
		}
		n.noteBug(err)
	}
	n.local = n.local[:0]
}

func (n *Node) noteBug(err error) {
	if err != nil && n.internalErr == nil {
		n.internalErr = err
	}
}

func (n *Node) drop(body any) {
	if n.dropBody != nil && body != nil {
		n.dropBody(body)
	}
}

func comparePorts(a, b PortName) int {
	switch {
	case lessPort(a, b):
		return -1
	case lessPort(b, a):
		return 1
	}
	return 0
}
