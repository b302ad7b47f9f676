package ports

// Message is a user message while it is on this node.
type Message struct {
	// Seq is assigned by SendMessage; it starts at 1 per port direction.
	Seq uint64
	// Ports are the attached ports, as local port names while the message
	// sits on this node.
	Ports []PortName
	// Body is opaque to ports: the runtime's payload, handles and header.
	Body any
}

// Descriptor is a port in transit to another node: what goes on the wire in
// place of a local port name.
type Descriptor struct {
	// Name is the new port's name, chosen by the sending node. The port left
	// behind forwards to (receiving node, Name).
	Name PortName
	// Peer is the moved port's peer; the new port sends there.
	Peer Address
	// NextSendSeq is the sequence number of the next message the new port
	// sends.
	NextSendSeq uint64
	// NextRecvSeq is the sequence number of the next message the new port
	// releases; earlier ones were taken before the move.
	NextRecvSeq uint64
	// PeerClosed says the peer's closure was already observed.
	PeerClosed bool
	// PeerLastSeq is the last sequence number the peer sent; valid if
	// PeerClosed.
	PeerLastSeq uint64
	// PeerLost says that closure was a loss (Status reports
	// ReasonNodeLost); only with PeerClosed. Which node was lost stays
	// behind.
	PeerLost bool
	// Proxy is the port left behind on the sending node, which forwards
	// to the new port: a stint of the new port (see PeerMovedEvent).
	Proxy PortName
}

// Event is something one node tells another about a port. The set of event
// types is closed: UserEvent, ClosureEvent, PeerMovedEvent,
// PortAcceptedEvent, ObserveProxyEvent and ObserveProxyAckEvent.
type Event interface {
	// TargetPort is the port on the receiving node the event is for.
	TargetPort() PortName
	isEvent()
}

// UserEvent carries one user message to Target.
type UserEvent struct {
	Target PortName
	// Sender is the port on the sending node that emits the message: the
	// pipe end that sent it, or the proxy that forwards it.
	Sender PortName
	Seq    uint64
	Ports  []Descriptor
	Body   any
}

// ClosureEvent tells Target that the port sending to it will send nothing
// after LastSeq.
//
// It travels in two directions. A closing port sends it to its peer (the
// other end may still want every message up to LastSeq). A receiving port
// that observes its peer's closure answers with one carrying its own last
// sequence number, toward the closed peer, so the proxies on that route
// learn when they have forwarded everything and may go.
type ClosureEvent struct {
	Target PortName
	// Sender is the port on the sending node that emits the event: the
	// closing (or answering) end, or the proxy that passes it on.
	Sender  PortName
	LastSeq uint64
	// Lost says the route or the closing side vanished with a lost node:
	// LastSeq is unknown and ignored. The receiver delivers what it holds in
	// sequence and then reports the peer closed; a proxy forwards what it
	// holds in sequence, passes the event on and goes.
	Lost bool
}

// PeerMovedEvent ends one stint feeding Target and starts another. A
// stint is a port that sends to Target from its node (see Capabilities in
// the package documentation): the pipe's other end during its time on one
// node, or a proxy that forwards to Target. The stint that ends is (the
// event's sending node, Sender); the one that starts is (NewNode,
// NewPort). Two things end a stint this way:
//
//   - The peer end moved: the old node emits the event once NewNode has
//     acknowledged the move (see PortAcceptedEvent); NewPort is the end's
//     port there.
//   - A proxy that forwarded to Target was bypassed (see
//     ObserveProxyAckEvent): the proxy emits the event once it has forwarded
//     the last message routed through it; NewNode and NewPort are the port
//     that bypassed it, as its ack named it.
//
// Either way it travels on the same link as, and so behind, every message
// the ending stint sent. On arrival Target knows that nothing more is in
// flight from that stint and that the new one may address it. Target uses
// this to decide who may address it (authority.go) and which lost nodes
// may have swallowed something meant for it (see Node.LostNode); a proxy
// that is looking for the port that sends to it also asks NewNode for
// NewPort (see ObserveProxyEvent). It changes no route.
//
// This event is an addition to the brief's event set (Mojo's
// UpdatePreviousPeer plays a similar role).
type PeerMovedEvent struct {
	Target  PortName
	Sender  PortName
	NewNode NodeName
	NewPort PortName
}

// PortAcceptedEvent tells the node that moved a port here that the port
// arrived: Target is the new port's name (the Descriptor's Name), on the
// node sending this event. The receiving node looks up its proxy that
// forwards to (sending node, Target); only the node a port was moved to can
// acknowledge it. The proxy then sends the PeerMovedEvent it held back.
//
// This event is an addition to the brief's event set (Mojo's PortAccepted).
type PortAcceptedEvent struct {
	Target PortName
}

// ObserveProxyEvent asks that the port Referrer, on the receiving node,
// which sends to the proxy Proxy, send to ProxyTarget instead (route
// collapsing; Mojo's ObserveProxy). Proxy lives on the sending node: a
// proxy speaks only for itself, so an event whose Proxy.Node is not the
// sending node is refused.
//
// A proxy sends it, once its move was acknowledged, for every live stint
// it knows of (a stint is a port that may be its referrer: the port whose
// peer is the proxy). If Referrer is a receiving port whose peer is Proxy,
// it switches its peer to ProxyTarget and answers with an
// ObserveProxyAckEvent; anything else (no such port, the sender moved on,
// or the stint is itself a proxy that must be bypassed first) ignores it.
// The proxy asks again whenever it learns of a new stint
// (PeerMovedEvent).
type ObserveProxyEvent struct {
	Proxy       Address
	ProxyTarget Address
	Referrer    PortName
}

// ObserveProxyAckEvent tells the proxy Target that the port that sent to it
// has switched to the proxy's target, and that LastSeq is the last sequence
// number that port sent before switching, through the proxy. The proxy
// forwards every message up to LastSeq, then tells its target that the
// sender now lives on the node the ack came from (PeerMovedEvent), and
// goes. Only a node the proxy asked may acknowledge it.
type ObserveProxyAckEvent struct {
	Target PortName
	// Sender is the port that switched past the proxy (the referrer); the
	// proxy's PeerMovedEvent names it as the stint that starts.
	Sender  PortName
	LastSeq uint64
}

// Outgoing is an event for another node. A user message, the bulk of the
// traffic, is held unboxed: boxing it into the Event interface would cost
// an allocation per message. The runtime's send path takes it with User;
// Event returns either kind as an Event.
type Outgoing struct {
	To NodeName
	// control is the event when it is not a user message, nil when it is
	// (then user holds it).
	control Event
	user    UserEvent
}

// User returns the event when it is a user message; ok is false otherwise.
func (o Outgoing) User() (ev UserEvent, ok bool) {
	if o.control != nil {
		return UserEvent{}, false
	}
	return o.user, true
}

// Event returns the event. A user message is boxed into the interface,
// which allocates: paths taken per message use User instead.
func (o Outgoing) Event() Event {
	if o.control != nil {
		return o.control
	}
	return o.user
}

// TargetPort implements Event.
func (e UserEvent) TargetPort() PortName { return e.Target }

// TargetPort implements Event.
func (e ClosureEvent) TargetPort() PortName { return e.Target }

// TargetPort implements Event.
func (e PeerMovedEvent) TargetPort() PortName { return e.Target }

// TargetPort implements Event. For this event it names the new port on the
// sending node, not a port on the receiving node.
func (e PortAcceptedEvent) TargetPort() PortName { return e.Target }

// TargetPort implements Event. For this event it names the proxy, on the
// sending node: the receiving node finds the port concerned by its peer.
func (e ObserveProxyEvent) TargetPort() PortName { return e.Proxy.Port }

// TargetPort implements Event.
func (e ObserveProxyAckEvent) TargetPort() PortName { return e.Target }

func (UserEvent) isEvent()            {}
func (ClosureEvent) isEvent()         {}
func (PeerMovedEvent) isEvent()       {}
func (PortAcceptedEvent) isEvent()    {}
func (ObserveProxyEvent) isEvent()    {}
func (ObserveProxyAckEvent) isEvent() {}
