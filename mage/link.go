package mage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/mage-ipc/mage/mage/internal/channel"
	"github.com/mage-ipc/mage/mage/internal/ports"
	"github.com/mage-ipc/mage/mage/internal/wire"
)

// linkState is where a connection is in its life. Only the link's reader
// goroutine reads or writes it.
type linkState uint8

const (
	linkAwaitHello linkState = iota
	linkAwaitAttach
	linkRunning
)

func (s linkState) String() string {
	switch s {
	case linkAwaitHello:
		return "awaiting hello"
	case linkAwaitAttach:
		return "awaiting attachments"
	case linkRunning:
		return "running"
	}
	return fmt.Sprintf("linkState(%d)", uint8(s))
}

// errClosedLocally is why a connection this side closed ended.
var errClosedLocally = ErrClosedLocally

// errProtocol matches every breach of the node protocol by a peer.
var errProtocol = errors.New("mage: protocol violation")

// link is this node's side of one connection to a peer node. It turns frames
// into port events and port events into frames.
type link struct {
	node        *Node
	conn        *net.UnixConn
	ch          *channel.Channel
	expectToken []byte
	expectNode  NodeName
	asBroker    bool
	// reg is the registration this connection completes, on the broker
	// (nil elsewhere); demandProof says the peer must prove its name
	// (nameproof.go).
	reg         *registration
	demandProof bool
	// onBad is ConnectOptions.OnBadMessage; nil when not set.
	onBad func(err error)
	// onPeer is ConnectOptions.OnPeer; nil when not set.
	onPeer func(NodeName)

	// peer and received are written by the reader before it closes
	// helloDone and attachDone respectively, and only read after.
	peer     ports.NodeName
	received map[string]MessagePipe

	// state belongs to the reader goroutine.
	state linkState
	// arrived holds the user events of the frames read since the last
	// batch end, accepted together under one hold of the node's lock
	// (acceptArrived); it belongs to the reader goroutine.
	arrived []ports.UserEvent

	helloDone  chan struct{}
	attachDone chan struct{}
	dead       chan struct{}

	// ready, registered, early and encodeBuf are guarded by node.mu.
	// ready means our attachments went out, so events may follow them;
	// early holds answers to the peer (introductions, counters) asked for
	// before that, which the peer may not read before our attachments.
	ready      bool
	registered bool
	// proven means the peer proved its name to this node, its broker.
	proven    bool
	early     []earlyFrame
	encodeBuf []byte
	// due is set while the link is in node.due.
	due bool

	// causeMu guards cause, the first reason the link failed.
	causeMu sync.Mutex
	cause   error

	closeOnce sync.Once
}

func newLink(n *Node, conn *net.UnixConn, opts ConnectOptions) (*link, error) {
	l := &link{
		node:        n,
		conn:        conn,
		expectToken: opts.ExpectToken,
		expectNode:  opts.ExpectNode,
		asBroker:    opts.AsBroker,
		reg:         opts.registration,
		demandProof: demandsNameProof(n, opts),
		onBad:       opts.OnBadMessage,
		onPeer:      opts.OnPeer,
		received:    make(map[string]MessagePipe),
		helloDone:   make(chan struct{}),
		attachDone:  make(chan struct{}),
		dead:        make(chan struct{}),
	}
	chOpts := n.limits.channelOptions()
	// A payload over the node's limit is refused before it is read
	// (handleUser checks every limit again).
	chOpts.MaxUserPayload = n.limits.MaxPayload
	// Large payloads written go to the process's cache, and large ones
	// received come from it (payloads.go).
	chOpts.PayloadSent, chOpts.NewPayload = payloads.put, payloads.get
	l.ch = channel.New(conn, l, chOpts)
	n.mu.Lock()
	defer n.unlock()
	switch {
	case n.closed:
		return nil, ErrNodeClosed
	case opts.AsBroker && n.brokerLink != nil:
		return nil, fmt.Errorf("%w: this node has a broker already", ErrHandshake)
	}
	n.allLinks[l] = struct{}{}
	return l, nil
}

func (l *link) start() { l.ch.Start() }

func (l *link) sendHello(token []byte) error {
	h := wire.Hello{Version: l.node.version, Node: wire.NodeName(l.node.name), Token: token}
	if l.asBroker {
		// To the broker alone, never to another peer.
		h.HasProof, h.Proof = true, l.node.proof
	}
	frame := wire.AppendHello(nil, &h)
	if err := l.ch.Send(frame, nil); err != nil {
		return fmt.Errorf("%w: sending hello: %w", ErrHandshake, err)
	}
	l.ch.WritePending() // not under node.mu: nobody else will
	return nil
}

// await waits for a handshake step, the link's death, or ctx. A step that
// completed wins over both: the peer's last frame and its end may arrive
// together, and select picks among ready cases at random, but the reader
// closes step before it can see the end, so a completed step is seen.
func (l *link) await(ctx context.Context, step <-chan struct{}) error {
	select {
	case <-step:
		return nil
	case <-l.dead:
	case <-ctx.Done():
	}
	select {
	case <-step:
		return nil
	default:
	}
	select {
	case <-l.dead:
		return l.err()
	default:
	}
	err := ctx.Err()
	switch cause := context.Cause(ctx); {
	case cause == err:
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	case errors.Is(cause, ErrHandshake):
		// Connect's own HandshakeTimeout; it wraps DeadlineExceeded.
		return cause
	default:
		return fmt.Errorf("%w: %w: %w", ErrHandshake, err, cause)
	}
}

func (l *link) err() error {
	l.causeMu.Lock()
	defer l.causeMu.Unlock()
	return l.cause
}

// fail records why the link is failing; the first reason wins.
func (l *link) fail(err error) {
	l.causeMu.Lock()
	if l.cause == nil {
		l.cause = err
	}
	l.causeMu.Unlock()
}

// abort fails the link from its own reader goroutine. Channel.Close called
// from a handler does not wait for the reader, which reports through
// HandleError once it has stopped.
func (l *link) abort(err error) {
	l.fail(err)
	_ = l.ch.Close()
}

// flushTimeout bounds how long closing a connection waits for the frames
// already queued on it to be written.
const flushTimeout = 5 * time.Second

// close stops the link after writing what is queued on it (for at most
// flushTimeout) and waits for its goroutines. Idempotent.
func (l *link) close() {
	l.closeOnce.Do(func() {
		l.fail(errClosedLocally)
		ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		_ = l.ch.CloseAfterFlush(ctx)
		cancel()
		_ = l.ch.Close()
		<-l.dead
		n := l.node
		n.mu.Lock()
		delete(n.allLinks, l)
		n.unlock()
	})
}

// HandleFrame implements channel.Handler. It runs on the reader goroutine.
func (l *link) HandleFrame(f *wire.Frame, fds []int) {
	if f.Type != wire.TypeUser || len(l.arrived) >= maxArrivedBatch {
		// Every other frame's event takes effect after the user events
		// before it, as it was sent.
		if !l.acceptArrived() {
			closeFDs(fds)
			return
		}
	}
	if err := l.handleFrame(f, fds); err != nil {
		closeFDs(fds)
		l.abort(err)
	}
}

// HandleBatchEnd implements channel.BatchHandler: the reader has handed
// over every frame it holds, and accepts their user events now.
func (l *link) HandleBatchEnd() { l.acceptArrived() }

// maxArrivedBatch bounds how many user events wait for one acceptance,
// and so how long one hold of the node's lock lasts.
const maxArrivedBatch = 64

// acceptArrived accepts the user events received since the last batch
// end, in order, under one hold of the node's lock: the reader and the
// goroutines that read the messages take that lock by turns, and taking
// it once per frame made them spin against each other. An event the
// ports layer refuses stops the link as a bad message, as one refused
// alone would; the events after it are dropped, unapplied. It reports
// whether the link goes on.
func (l *link) acceptArrived() bool {
	if len(l.arrived) == 0 {
		return true
	}
	n := l.node
	var bad error
	n.mu.Lock()
	for i, ev := range l.arrived {
		l.arrived[i] = ports.UserEvent{}
		if bad != nil {
			dropBody(ev.Body)
			continue
		}
		if err := n.ports.AcceptEvent(l.peer, ev); err != nil {
			bad = fmt.Errorf("%w: %w", errProtocol, err)
		}
	}
	n.flushLocked()
	n.unlock()
	l.arrived = l.arrived[:0]
	if bad != nil {
		l.abort(bad)
		return false
	}
	return true
}

func (l *link) handleFrame(f *wire.Frame, fds []int) error {
	switch l.state {
	case linkAwaitHello:
		if f.Type != wire.TypeHello {
			return fmt.Errorf("%w: %w: first frame is %v, want %v", ErrHandshake, errProtocol, f.Type, wire.TypeHello)
		}
		return l.handleHello(&f.Hello)
	case linkAwaitAttach:
		if f.Type != wire.TypeAttach {
			return fmt.Errorf("%w: %w: frame %v before the attachments", ErrHandshake, errProtocol, f.Type)
		}
		return l.handleAttach(f.Attach)
	}
	switch f.Type {
	case wire.TypeUser:
		return l.handleUser(&f.User, fds)
	case wire.TypeClosure:
		c := &f.Closure
		return l.acceptEvent(ports.ClosureEvent{Target: ports.PortName(c.Target), Sender: ports.PortName(c.Sender), LastSeq: c.LastSeq, Lost: c.Lost})
	case wire.TypePeerMoved:
		pm := &f.PeerMoved
		return l.acceptEvent(ports.PeerMovedEvent{Target: ports.PortName(pm.Target), Sender: ports.PortName(pm.Sender),
			NewNode: ports.NodeName(pm.NewNode), NewPort: ports.PortName(pm.NewPort)})
	case wire.TypePortAccepted:
		return l.acceptEvent(ports.PortAcceptedEvent{Target: ports.PortName(f.PortAccepted.Target)})
	case wire.TypeObserveProxy:
		o := &f.ObserveProxy
		return l.acceptEvent(ports.ObserveProxyEvent{
			Proxy:       ports.Address{Node: ports.NodeName(o.ProxyNode), Port: ports.PortName(o.ProxyPort)},
			ProxyTarget: ports.Address{Node: ports.NodeName(o.ProxyTargetNode), Port: ports.PortName(o.ProxyTargetPort)},
			Referrer:    ports.PortName(o.Referrer),
		})
	case wire.TypeObserveProxyAck:
		a := &f.ObserveProxyAck
		return l.acceptEvent(ports.ObserveProxyAckEvent{Target: ports.PortName(a.Target), Sender: ports.PortName(a.Sender), LastSeq: a.LastSeq})
	case wire.TypeCountersRequest:
		return l.handleCountersRequest(&f.CountersRequest)
	case wire.TypeCounters:
		return l.handleCounters(&f.Counters)
	case wire.TypeRequestIntroduction:
		return l.handleRequestIntroduction(ports.NodeName(f.RequestIntroduction.Node))
	case wire.TypeIntroduce:
		return l.handleIntroduce(&f.Introduce, fds)
	}
	return fmt.Errorf("%w: unexpected %v frame", errProtocol, f.Type)
}

func (l *link) handleHello(h *wire.Hello) error {
	if err := l.acceptHello(h); err != nil {
		return err
	}
	if l.onPeer != nil {
		// Before helloDone: Connect sends the attachments only after,
		// so the peer can send nothing else before its name is known.
		l.onPeer(NodeName(l.peer))
	}
	close(l.helloDone)
	return nil
}

// acceptHello checks the peer's hello and registers the link under the
// peer's name.
func (l *link) acceptHello(h *wire.Hello) error {
	if h.Version != l.node.version {
		return &VersionError{Local: l.node.version, Remote: h.Version}
	}
	if l.expectToken != nil && !constantTimeEqual(h.Token, l.expectToken) {
		return fmt.Errorf("%w: the peer presented the wrong invitation token", ErrHandshake)
	}
	peer := ports.NodeName(h.Node)
	n := l.node
	n.mu.Lock()
	defer n.unlock()
	if n.closed {
		return ErrNodeClosed
	}
	// Before anything is recorded or answered for the name.
	if err := l.checkNameProofLocked(h); err != nil {
		return err
	}
	switch {
	case peer == n.name:
		return fmt.Errorf("%w: the peer has this node's own name %s", ErrHandshake, NodeName(peer))
	case n.links[peer] != nil:
		return fmt.Errorf("%w: %s", ErrAlreadyConnected, NodeName(peer))
	case l.expectNode != NodeName{} && NodeName(peer) != l.expectNode:
		return fmt.Errorf("%w: expected node %s, the peer is %s", ErrHandshake, l.expectNode, NodeName(peer))
	}
	if l.asBroker {
		if n.brokerLink != nil {
			return fmt.Errorf("%w: this node has a broker already", ErrHandshake)
		}
		n.brokerLink = l
	}
	l.peer = peer
	l.registered = true
	n.links[peer] = l
	l.nameProvenLocked(h)
	l.state = linkAwaitAttach
	// The peer proved who it is: frames of any allowed size from now on.
	l.ch.LiftHandshakeLimit()
	return nil
}

func (l *link) handleAttach(atts []wire.Attachment) error {
	n := l.node
	n.mu.Lock()
	defer n.unlock()
	for _, a := range atts {
		if err := checkAttachmentName(a.Name); err != nil {
			return fmt.Errorf("%w: %w", errProtocol, err)
		}
		if _, dup := l.received[a.Name]; dup {
			return fmt.Errorf("%w: attachment %q sent twice", errProtocol, a.Name)
		}
		port, err := n.ports.AdoptPort(l.peer, descriptorFromWire(a.Port))
		if err != nil {
			return fmt.Errorf("%w: attachment %q: %w", errProtocol, a.Name, err)
		}
		l.received[a.Name] = n.newEndpointLocked(port)
	}
	n.flushLocked()
	l.state = linkRunning
	close(l.attachDone)
	return nil
}

func (l *link) handleUser(u *wire.User, fds []int) error {
	if len(fds) != u.NumHandles {
		return fmt.Errorf("%w: user frame declares %d handles but %d arrived", errProtocol, u.NumHandles, len(fds))
	}
	// The sender's limits may be looser than ours; ours hold here.
	if lim := l.node.limits; len(u.Payload) > lim.MaxPayload || len(u.Ports) > lim.MaxPipes || len(fds) > lim.MaxHandles {
		return fmt.Errorf("%w: message over this node's limits: %d payload bytes (limit %d), %d pipes (limit %d), %d handles (limit %d)",
			errProtocol, len(u.Payload), lim.MaxPayload, len(u.Ports), lim.MaxPipes, len(fds), lim.MaxHandles)
	}
	m := newReceivedMessage(u.Payload)
	m.Interface, m.Method, m.Flags, m.RequestID = u.Interface, u.Method, u.Flags, u.RequestID
	m.fds = append([]int(nil), fds...)
	m.source, m.onBad = l.peer, l.onBad
	// The message owns the descriptors now: the ports layer closes them if
	// it drops the message, so HandleFrame must not close them again when
	// this fails (closeFDs skips -1).
	for i := range fds {
		fds[i] = -1
	}
	var descs []ports.Descriptor
	if len(u.Ports) > 0 {
		descs = make([]ports.Descriptor, len(u.Ports))
		for i, d := range u.Ports {
			descs[i] = descriptorFromWire(d)
		}
	}
	l.arrived = append(l.arrived, ports.UserEvent{Target: ports.PortName(u.Target), Sender: ports.PortName(u.Sender), Seq: u.Seq, Ports: descs, Body: m})
	return nil
}

func (l *link) acceptEvent(ev ports.Event) error {
	n := l.node
	n.mu.Lock()
	defer n.unlock()
	err := n.ports.AcceptEvent(l.peer, ev)
	n.flushLocked()
	if err != nil {
		return fmt.Errorf("%w: %w", errProtocol, err)
	}
	return nil
}

// HandleError implements channel.Handler: the channel has stopped. Every
// port whose route went through the peer learns that the peer's node is
// lost.
func (l *link) HandleError(err error) {
	l.fail(l.linkCause(err))
	cause := l.err()
	n := l.node
	n.mu.Lock()
	var bad *BadMessageError
	if isPeerFault(cause) {
		// Charged before the broker forgets who answers for the peer.
		bad = l.chargeLocked(cause)
	}
	for _, f := range l.early {
		closeFDs(f.fds)
	}
	l.early = nil
	if l.registered {
		l.registered = false
		if n.links[l.peer] == l {
			delete(n.links, l.peer)
		}
		n.dropWaitingLocked(l.peer)
		n.rememberLostLocked(l.peer, cause)
		if n.brokerLink == l {
			n.brokerLink = nil
		}
		delete(n.introRequested, l.peer)
		n.forgetClientLocked(l.peer)
		n.ports.LostNode(l.peer)
		n.flushLocked()
	}
	// The channel's goroutines end on their own once it has stopped.
	delete(n.allLinks, l)
	n.unlock()
	if bad != nil {
		n.reportBadMessage(bad, l.onBad)
	}
	close(l.dead)
}

// sendEventLocked encodes one port event for the peer. A user message is
// taken unboxed (Outgoing.User), so that it costs no allocation.
func (l *link) sendEventLocked(out ports.Outgoing) {
	if e, ok := out.User(); ok {
		l.sendUserLocked(e)
		return
	}
	switch e := out.Event().(type) {
	case ports.ClosureEvent:
		l.encodeBuf = wire.AppendClosure(l.encodeBuf[:0], &wire.Closure{Target: wire.PortName(e.Target), Sender: wire.PortName(e.Sender), LastSeq: e.LastSeq, Lost: e.Lost})
		_ = l.sendFrameLocked(l.encodeBuf, nil)
	case ports.PeerMovedEvent:
		l.encodeBuf = wire.AppendPeerMoved(l.encodeBuf[:0], &wire.PeerMoved{Target: wire.PortName(e.Target), Sender: wire.PortName(e.Sender),
			NewNode: wire.NodeName(e.NewNode), NewPort: wire.PortName(e.NewPort)})
		_ = l.sendFrameLocked(l.encodeBuf, nil)
	case ports.PortAcceptedEvent:
		l.encodeBuf = wire.AppendPortAccepted(l.encodeBuf[:0], &wire.PortAccepted{Target: wire.PortName(e.Target)})
		_ = l.sendFrameLocked(l.encodeBuf, nil)
	case ports.ObserveProxyEvent:
		l.encodeBuf = wire.AppendObserveProxy(l.encodeBuf[:0], &wire.ObserveProxy{
			ProxyNode:       wire.NodeName(e.Proxy.Node),
			ProxyPort:       wire.PortName(e.Proxy.Port),
			ProxyTargetNode: wire.NodeName(e.ProxyTarget.Node),
			ProxyTargetPort: wire.PortName(e.ProxyTarget.Port),
			Referrer:        wire.PortName(e.Referrer),
		})
		_ = l.sendFrameLocked(l.encodeBuf, nil)
	case ports.ObserveProxyAckEvent:
		l.encodeBuf = wire.AppendObserveProxyAck(l.encodeBuf[:0], &wire.ObserveProxyAck{Target: wire.PortName(e.Target), Sender: wire.PortName(e.Sender), LastSeq: e.LastSeq})
		_ = l.sendFrameLocked(l.encodeBuf, nil)
	default:
		panic(fmt.Sprintf("mage: no frame for port event %T", e))
	}
}

// sendUserLocked encodes user message e for the peer, straight into the
// channel's queue.
func (l *link) sendUserLocked(e ports.UserEvent) {
	m := e.Body.(*Message)
	u := wire.User{
		Target:     wire.PortName(e.Target),
		Sender:     wire.PortName(e.Sender),
		Seq:        e.Seq,
		Interface:  m.Interface,
		Method:     m.Method,
		Flags:      m.Flags,
		RequestID:  m.RequestID,
		Payload:    m.Payload,
		NumHandles: len(m.fds),
	}
	if len(e.Ports) > 0 {
		u.Ports = make([]wire.PortDescriptor, len(e.Ports))
		for i, d := range e.Ports {
			u.Ports[i] = descriptorToWire(d)
		}
	}
	fds := m.fds
	m.fds = nil
	// Encoded straight into the channel's queue; a large payload is
	// written from the message itself, which the sender gave up.
	// A failure means the channel is dying, as in sendFrameLocked.
	_ = l.ch.SendUser(&u, fds)
	// The message is dead now: its sender gave it up, SendUser copied a
	// small payload into the queue (the channel holds a large one on its
	// own) and the ports layer let go of it with the event.
	recycleSent(m)
	l.markDueLocked()
}

// earlyFrame is a frame, and the descriptors it carries, kept until the
// link is ready.
type earlyFrame struct {
	frame []byte
	fds   []int
}

// sendControlLocked sends a frame that answers the peer: an introduction,
// counters. The peer reads nothing between the hellos and our attachments,
// so before those have gone out (ready) the frame waits in early.
// At most Limits.MaxEarlyAnswers wait: a peer that asks for more before it
// could have read our attachments is cut, as breaking the protocol.
func (l *link) sendControlLocked(frame []byte, fds []int) {
	if l.ready {
		_ = l.sendFrameLocked(frame, fds)
		return
	}
	if limit := l.node.limits.MaxEarlyAnswers; len(l.early) >= limit {
		closeFDs(fds)
		l.cutLocked(fmt.Errorf("%w: more than %d answers asked for before the handshake finished", errProtocol, limit))
		return
	}
	l.early = append(l.early, earlyFrame{frame: append([]byte(nil), frame...), fds: fds})
}

// cutLocked fails the link with err without waiting for its goroutines,
// which take node.mu on their way out; the reader reports err through
// HandleError.
func (l *link) cutLocked(err error) {
	l.fail(err)
	l.ch.Abort(err)
}

// sendEarlyLocked sends what waited for the link to be ready.
func (l *link) sendEarlyLocked() {
	for _, f := range l.early {
		_ = l.sendFrameLocked(f.frame, f.fds)
	}
	l.early = nil
}

// sendFrameLocked queues an encoded frame. A failure means the channel is
// dying; its reader reports that through HandleError, which closes the
// affected ports, so the error needs no other handling here.
func (l *link) sendFrameLocked(frame []byte, fds []int) error {
	err := l.ch.Send(frame, fds)
	l.markDueLocked()
	return err
}

// dropEvent releases what an event that will never be sent holds.
func dropEvent(out ports.Outgoing) {
	if e, ok := out.User(); ok {
		dropBody(e.Body)
	}
}

func descriptorToWire(d ports.Descriptor) wire.PortDescriptor {
	return wire.PortDescriptor{
		Name:        wire.PortName(d.Name),
		PeerNode:    wire.NodeName(d.Peer.Node),
		PeerPort:    wire.PortName(d.Peer.Port),
		NextSendSeq: d.NextSendSeq,
		NextRecvSeq: d.NextRecvSeq,
		PeerClosed:  d.PeerClosed,
		PeerLost:    d.PeerLost,
		PeerLastSeq: d.PeerLastSeq,
		Proxy:       wire.PortName(d.Proxy),
	}
}

func descriptorFromWire(d wire.PortDescriptor) ports.Descriptor {
	return ports.Descriptor{
		Name:        ports.PortName(d.Name),
		Peer:        ports.Address{Node: ports.NodeName(d.PeerNode), Port: ports.PortName(d.PeerPort)},
		NextSendSeq: d.NextSendSeq,
		NextRecvSeq: d.NextRecvSeq,
		PeerClosed:  d.PeerClosed,
		PeerLost:    d.PeerLost,
		PeerLastSeq: d.PeerLastSeq,
		Proxy:       ports.PortName(d.Proxy),
	}
}
