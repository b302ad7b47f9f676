// Package ports is the pure port state machine of one node (process): the
// addressing, sequencing, proxying and closure rules that keep a message
// pipe reliable and ordered while its ends move between processes.
//
// # Model
//
// Every node and every port has a random 128-bit name. A pipe is a pair of
// ports, each knowing its peer's [Address]. A port is either receiving
// (messages queue until the runtime takes them) or proxying (it was moved to
// another node and forwards what still arrives to its new location). A
// closed port is removed from the node.
//
// Every user message carries a per-direction sequence number starting at 1.
// A receiving port releases messages strictly in sequence order, holding
// early arrivals in a small reorder queue; a proxy forwards in the same
// order. This one rule keeps a pipe FIFO while its ends move and while
// routes collapse.
//
// Sending a message that carries ports to another node moves each carried
// port: it becomes a proxy to a fresh port on the destination node, whose
// [Descriptor] travels in the [UserEvent]; messages queued on the moved port
// follow it, in order, recursively. A moved port keeps its sequence numbers
// and keeps sending to its peer's address; route collapsing (below) then
// removes the proxies from the way.
//
// Closure carries the last sequence number sent, so the peer reports
// [Status].PeerClosed only after it took everything sent before. A
// receiving port that sees its peer close answers with its own last
// sequence number, so the proxies on the way to the closed peer learn when
// they may go; after both ends closed, no port remains anywhere.
//
// # Route collapsing
//
// Look at one direction of a pipe: messages to end E, sent by the other
// end F. F's receiving port sends to its peer address. If E has moved,
// that address is a proxy, which forwards to the port E moved to, which may
// itself be a proxy, and so on to E's receiving port. The port whose peer
// (or, for a proxy, whose target) is a given proxy is that proxy's referrer:
// F's port for the first proxy, the preceding proxy for the others. Each
// proxy has exactly one referrer, because each port is the next hop of
// exactly one other.
//
// A proxy removes itself in three steps (collapse.go):
//
//  1. Once its move was acknowledged ([PortAcceptedEvent]), the proxy sends
//     an [ObserveProxyEvent] (itself, its target, the referrer it asks)
//     for each of its live stints (see Capabilities): each is a port that
//     may be its referrer. Later, each [PeerMovedEvent] it receives names
//     another stint, and it asks that one too.
//  2. A node that gets the event from node N looks at the referrer it
//     names. If that is a receiving port of the node whose peer is that
//     proxy on N, and it is still open, it switches its peer to the
//     proxy's target, and answers with an [ObserveProxyAckEvent] carrying
//     the last sequence number it sent and its own name: every later
//     message goes to the target directly. Otherwise it ignores the event:
//     that port moved on, or closed, or the stint is a proxy.
//  3. The proxy, once acknowledged, forwards every message up to that
//     sequence number, in order, as always; then it sends its target a
//     [PeerMovedEvent] naming the referrer (the node the ack came from and
//     the port it named) as the stint that starts, and goes.
//
// Ordering. The referrer's switch is one step of one node: every message up
// to the acknowledged number L went to the proxy, every later one goes to
// the target. The proxy forwards each message up to L once, refuses any
// beyond L, and stays until all up to L have arrived (messages the sender
// sent from earlier nodes included). The target merges the two streams by
// sequence number, so the reader sees one gapless FIFO stream, each
// message once. Closure needs nothing more: a referrer that closes before
// switching closes to the proxy, which passes the closure, with its last
// sequence number, on to the target; one that closes after switching
// closes to the target. Either way the target waits for every message up
// to that number.
//
// Only receiving ports switch; a proxy's target never changes. A proxy
// whose referrer is another proxy therefore waits: when that one goes, its
// PeerMovedEvent names the sender that bypassed it, and the waiting proxy
// asks it. A chain A→B→C→D collapses from the sender's
// end, one proxy per round trip, to A→D. Letting proxies switch too would
// let two neighbouring proxies bypass each other at once, and a sender
// could end up sending to a proxy that has gone.
//
// Liveness: every proxy goes once the system is quiet and both ends stay
// open. By induction along the chain it is enough that the first proxy,
// whose referrer is F's port, reaches F's port. Its stints hold F's
// port, or a PeerMovedEvent naming it is still on its way: each move of F
// while F sends to the proxy ends with such an event to the proxy (the
// moved port's peer), sent after the new node adopted F's port, so the ask
// that follows finds it there or finds it gone, and another event follows.
// F moves only finitely often.
//
// # Capabilities
//
// Every remote event names its target by a port name the sender knows, and
// a node that once held a pipe end keeps knowing its peer's name, so names
// alone prove nothing. Every event that addresses a port therefore also
// names the port on the sending node that emits it (UserEvent.Sender and
// so on: the pipe end for its own messages and closure, the proxy for what
// it forwards, the referrer for an ack), and Node.AcceptEvent checks, per
// event type, that the pair (sending node, sending port) is entitled to
// address that port. The sending node is the link the event came on; the
// runtime never trusts a node name inside a frame for this.
//
// A stint is one such pair feeding a port: the pipe's other end during its
// time on one node, or a proxy that forwards to the port. Each port keeps
// its live stints by identity (authority.go: port.stints), not a count per
// node, so two stints of one node (the pipe's end and a proxy, or two
// visits of the end) are never confused, and an end marker ends exactly
// the stint it names. A stint starts with the pipe (on the pair's node,
// which needs no entry: events between ports of one node are not
// checked), with an adoption (the descriptor names the proxy left behind,
// Descriptor.Proxy, which feeds the new port), or with a PeerMovedEvent,
// which names the stint it ends (its sending node and Sender) and the
// stint it starts (NewNode, NewPort: the moved end's new port, or the
// referrer that bypassed a proxy, as its ack named it).
//
//   - UserEvent, ClosureEvent, PeerMovedEvent: applied only if (sending
//     node, Sender) is a live stint of the target. A ClosureEvent with
//     Lost set is also taken from the port a receiving port sends to (its
//     proxy there lost its target). From a stint that may still start it
//     is kept aside and takes effect when that stint starts (the sender's
//     new node may report its end lost before the event that starts its
//     stint arrives); from any other it is dropped without a charge (a
//     bypassed proxy may send one late, and the ports concerned hear of
//     the loss themselves).
//   - A node that gave the sender away: when this node adopts a pipe's
//     sender from node N and the pipe's other end lives here, the
//     descriptor says from which sequence number on the sender no longer
//     sends from N. Until N starts a new stint there, a user message from
//     N numbered from there on, or a closure from N, is held while
//     another stint could start N's new one, and refused otherwise; and
//     the port stops waiting on N once everything N sent has arrived. So
//     a child that handed an end back cannot forge its traffic.
//   - A port adopted here whose peer is a port of this node would speak
//     to it as this node, which no remote check sees (vouch.go). Its
//     events to that peer are held there until the node it was adopted
//     from sends the peer the PeerMovedEvent naming this node and that
//     port that every honest move ends with; a forger cannot send one
//     that is applied. If that node is lost first, its word is taken if
//     it still had a live stint at the peer (it held the pipe's end), and
//     otherwise the adopted port is disowned: what it sends its peer is
//     dropped.
//   - A descriptor forged by one node that names a port on a third node T
//     cannot be checked where it is adopted (node A): the adopted port
//     then speaks to T as A. But it is a stint of its own, (A, its name),
//     which no honest event starts: its events are held at T while
//     another stint could start it, bounded, and never applied; an honest
//     later move of the pipe's real end to A starts a different stint,
//     (A, the new port), and is accepted. When its events fill A's hold
//     at T, T refuses that stint, not A (see Limits below).
//   - PortAcceptedEvent: only the node the port was moved to (the proxy is
//     looked up by that node and the new port's name); anything else
//     matches nothing and changes nothing.
//   - ObserveProxyEvent: only for a proxy on the sending node, and it can
//     only redirect the port whose next hop is that proxy: the one node
//     that already carries that port's every message.
//   - ObserveProxyAckEvent: only from a node the proxy asked, once, and not
//     below what it already forwarded (the pipe is cut off then).
//
// A stint's first events may overtake the event that starts it, which
// comes from another node (the node the sender moved from, or the bypassed
// proxy), and so may its end marker. So an event from a stint that is not
// live is held, in arrival order per stint, while another stint is live
// there, or held events could start one, or a local proxy still waits for
// its move's acknowledgement; and applied when the stint starts. Held
// events of a lost node, or of a port that closes or is cut off, are
// dropped. When no stint could start, the event is refused: an
// [*EventError] matching [ErrNotAuthorized], charged to the sending node,
// and nothing has changed (no port closed, no queue touched, no event
// sent). Limits: a node whose stint is live may name any stint as its
// successor (as an honest move would); a stint that never starts keeps
// what it sent held, within MaxHeldEvents, until the port goes. A full
// hold is not charged to its node, which may be relaying a made-up
// descriptor (its port is then a stint that never starts): the node's
// stints that hold the most are refused, their events dropped, and a
// refused stint that starts after all cuts the pipe off, on both sides,
// as lost; so does one whose message lies beyond the reordering window.
// Only a hold spread over stints of one event each is charged
// ([ErrTooManyHeld]), and so is an event behind its stint's end marker
// while that marker is held (a stint sends nothing after its end).
//
// Bounds (Config, each with a default): a user message further ahead than
// ReorderWindow is refused ([ErrOutsideWindow]) and not stored; a node may
// have at most MaxPortsPerNode ports adopted from it alive here
// ([ErrTooManyPorts], which also bounds what it adds to the indexes of
// peers and proxy targets); at most MaxHeldEvents events of a node may be
// held (see above for what happens at the bound); a port's table of stints grows only by an
// adoption (one per port) or by a PeerMovedEvent that is applied, which
// ends one stint as it starts one, so it holds at most one entry more
// than it has ever been adopted (a PeerMovedEvent flood is held, and so
// bounded by MaxHeldEvents, or refused); a node that keeps passing its
// live stint on, to ports of its own, grows nothing (a proxy forgets its
// ask of a stint whose end marker came), and early loss reports count as
// held events; MaxLostNodes lost nodes are remembered. After LostNode(x) the node keeps nothing about x but the
// fact that it is lost. A message refused whole adopts none of its ports.
// No remote input panics.
//
// # Node loss
//
// [Node.LostNode] closes, with [ReasonNodeLost], every port whose pipe can
// no longer be served: receiving ports whose peer lives on the lost node,
// proxies that forward to it, and ports that might still be waiting for
// something that was in flight from it. The last case needs to know where
// a port's messages come from: its stints (see Capabilities). A stint
// ends with its PeerMovedEvent or, for the referrer that bypasses a proxy,
// at the proxy with the ack (sources counts it apart, per node, for
// this). Each end marker travels on the same link as, so behind,
// everything the stint sent; an end marker that overtakes its stint's
// start is held with the stint's other events (one of a port of this
// node, a local event applied at once, is noted instead, and its start
// then starts nothing), so a port's stints are exact: once a route
// collapsed, a pipe's end has its peer as its one stint.
//
// The node a port is moved to acknowledges it ([PortAcceptedEvent]); only
// then does the old node tell the peer that the end moved
// ([PeerMovedEvent]), and a proxy stays until its move was acknowledged,
// because until then it alone can report that the destination died with
// the port on its way.
//
// Collapsing keeps this exact:
//
//   - A proxy that dies before forwarding everything is still a stint of
//     its target (the adoption started it; only its final PeerMovedEvent,
//     sent behind its last forwarded message, ends it), so the target cuts
//     the pipe off.
//   - That final event replaces the proxy's stint with the referrer's:
//     after a collapse the receiving port waits only on the sender's node,
//     and the nodes that used to stand between the ends may die without
//     breaking the pipe.
//   - Between the ack and that event only the proxy knows where its
//     referrer now sends from. It watches that node meanwhile and cuts the
//     pipe off if it is lost: a conservative report (the referrer may have
//     sent nothing more), never a silent gap.
//   - A proxy does not watch its own peer's node, which may be a long
//     bypassed stop of the other end; the receiving ports watch their
//     current peers.
//   - A port switched to a target on a node already known lost is cut off
//     at once.
//
// A port that is cut off delivers what it holds in sequence and then
// reports the peer closed: a prefix, in order, never duplicated. A node
// learns of a loss only from its caller, so [Node.TakeWatchedNodes] names
// the nodes its ports came to depend on; the runtime connects to them, so
// that it hears if one goes even when no message ever passes between them.
//
// # Contract
//
// Node is deterministic and single-threaded: no I/O, no goroutines, no
// locks. The caller serialises every call (one mutex in the runtime) and
// carries events: [Node.TakeOutgoing] yields events for other nodes, to be
// sent in the order returned (per destination, the links must be FIFO), and
// [Node.AcceptEvent] takes events that arrived. Events between ports of the
// same node never leave the node. Bodies are opaque; Config.DropBody is
// called for every body the node discards, so the runtime can close the OS
// handles inside.
//
// Sending a pipe end over its own pipe is refused where this node can see
// it; after both ends have moved it cannot, and such a message would chase
// itself around the route forever. The runtime must not do that (the same
// holds for a pipe end sent into a pipe whose receiving end travels inside
// the sent end's queue).
package ports
