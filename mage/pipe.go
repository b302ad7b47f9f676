package mage

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/mage-ipc/mage/mage/internal/ports"
)

// MessagePipe is one end of an entangled pair of pipe ends. Messages written
// to one end are read, in order, at the other. An end can be sent to another
// process inside a message, and it keeps working there; messages queued at
// it travel with it.
//
// MessagePipe is a small handle: copies refer to the same end. The zero
// value is invalid. All methods are safe for concurrent use; concurrent
// writers each keep their own order, and concurrent readers split the
// messages between them.
type MessagePipe struct {
	e *endpoint
}

type endpointState uint8

const (
	endpointOpen endpointState = iota
	endpointClosed
	endpointMoved
)

func (s endpointState) String() string {
	switch s {
	case endpointOpen:
		return "open"
	case endpointClosed:
		return "closed"
	case endpointMoved:
		return "moved"
	}
	return fmt.Sprintf("endpointState(%d)", uint8(s))
}

// endpoint is the user's hold on a receiving port.
type endpoint struct {
	node *Node
	port ports.PortName
	// ready has capacity one: a signal means "ReadMessage may have something
	// new", and a pending signal absorbs later ones. It is made by the
	// first Ready: an end whose owner waits with Notify (every binding's)
	// never has one, which saves its memory on every idle pipe.
	ready atomic.Pointer[chan struct{}]

	// state, bound and notify are guarded by node.mu.
	state endpointState
	// bound is set while a binding (a Remote or Receiver) owns the end:
	// the end may not be sent away then (see SetBound).
	bound bool
	// notify is the function Notify armed, called once at the next signal
	// (pipe_notify.go).
	notify func()
}

// signal tells the end's readers that ReadMessage may have something new.
// It is called with node.mu held.
func (e *endpoint) signal() {
	if ready := e.ready.Load(); ready != nil {
		select {
		case *ready <- struct{}{}:
		default:
		}
	}
	e.fireNotifyLocked()
	if len(e.node.readers) > 0 {
		e.node.wakeReadersLocked(e)
	}
}

// errLocked says why the end can no longer be used, or nil.
func (e *endpoint) errLocked() error {
	switch e.state {
	case endpointClosed:
		return ErrPipeClosed
	case endpointMoved:
		return ErrPipeMoved
	}
	if e.node.closed {
		return ErrNodeClosed
	}
	return nil
}

// sendableErrLocked says why the end cannot be sent away (in a message or
// as a Connect attachment), or nil.
func (e *endpoint) sendableErrLocked() error {
	if err := e.errLocked(); err != nil {
		return err
	}
	if e.bound {
		return ErrPipeBound
	}
	return nil
}

// SetBound marks the end as owned by a binding, or clears the mark. A bound
// end can be read, written and closed as before, but not sent away:
// WriteMessage refuses a message that carries it in Pipes, and Connect (so
// an invitation) refuses it as an attachment, with an error matching
// ErrPipeBound (and ErrBadAttachment). Sending it would leave the binding
// alive on an end that no longer receives anything, and hand the messages
// meant for it to the new holder.
//
// mage/bindings marks the end of every Remote and Receiver; a program's own
// loop that owns an end may do the same. SetBound does nothing on the zero
// MessagePipe.
func (p MessagePipe) SetBound(bound bool) {
	if p.e == nil {
		return
	}
	p.e.node.mu.Lock()
	p.e.bound = bound
	p.e.node.unlock()
}

// IsBound reports whether the end is marked bound (see SetBound).
func (p MessagePipe) IsBound() bool {
	if p.e == nil {
		return false
	}
	p.e.node.mu.Lock()
	defer p.e.node.unlock()
	return p.e.bound
}

// IsValid reports whether p refers to a pipe end at all (it may still be
// closed or moved).
func (p MessagePipe) IsValid() bool { return p.e != nil }

// Node returns the node the end belongs to.
func (p MessagePipe) Node() *Node {
	if p.e == nil {
		return nil
	}
	return p.e.node
}

// String names the end for logs.
func (p MessagePipe) String() string {
	if p.e == nil {
		return "MessagePipe(invalid)"
	}
	return "MessagePipe(" + p.e.port.String() + ")"
}

// WriteMessage sends m to the other end. It never blocks on the peer: the
// message is queued locally or on the connection to the peer's process.
//
// WriteMessage takes ownership of m, of the bytes of m.Payload (the node
// may reuse that memory, for a message it receives, once m is sent: do
// not read, write or send it again), of the pipe ends in m.Pipes (which
// become invalid for the caller) and of m.Handles (closed here once their
// descriptors are duplicated for the journey).
//
// Once this end knows its peer has closed, WriteMessage returns an error
// matching ErrPeerClosed and discards m, closing the pipes and handles it
// carries. Closure travels asynchronously, so a message written just before
// that point is accepted and silently dropped at the closed end; a protocol
// that must know uses a reply.
//
// It fails, sending nothing and consuming nothing, if this end was closed or
// moved, if m exceeds the node's Limits, if m.Pipes holds an invalid end,
// this end, its peer, one end twice, or an end bound to a Remote or
// Receiver (an error matching ErrPipeBound; see SetBound), or with an error
// matching ErrPeerBackedUp when the peer's node has Limits.MaxQueuedBytes
// queued toward it that it has not read.
func (p MessagePipe) WriteMessage(m *Message) error {
	if p.e == nil {
		return ErrInvalidPipe
	}
	n := p.e.node
	if err := n.checkLimits(m); err != nil {
		return err
	}
	fds, err := dupFiles(m.Handles)
	if err != nil {
		return fmt.Errorf("mage: write message: %w", err)
	}

	n.mu.Lock()
	if err := p.e.errLocked(); err != nil {
		n.unlock()
		closeFDs(fds)
		return err
	}
	if err := n.backedUpLocked(p.e.port); err != nil {
		n.unlock()
		closeFDs(fds)
		return err
	}
	attached, err := n.takeAttachmentsLocked(p.e, m.Pipes)
	if err != nil {
		n.unlock()
		closeFDs(fds)
		return err
	}
	m.fds = fds
	m.source = n.name
	handles, pipes := m.Handles, m.Pipes
	m.Pipes, m.Handles = nil, nil
	if err := n.ports.SendMessage(p.e.port, ports.Message{Ports: attached, Body: m}); err != nil {
		n.restoreAttachmentsLocked(pipes)
		m.fds, m.Pipes, m.Handles = nil, pipes, handles
		n.unlock()
		closeFDs(fds)
		if errors.Is(err, ports.ErrInvalidAttachment) {
			return fmt.Errorf("%w: %w", ErrBadAttachment, err)
		}
		if errors.Is(err, ports.ErrPeerClosed) {
			// The message can never be read: release what it carries, as
			// the caller gave it up.
			m.Close()
			return &PeerClosedError{}
		}
		return fmt.Errorf("mage: write message: %w", err)
	}
	n.counts.sent.Add(1)
	if n.trace != nil {
		n.traceSentLocked(p.e, m, len(attached), len(fds))
	}
	n.flushLocked()
	n.unlock()
	for _, f := range handles {
		_ = f.Close()
	}
	return nil
}

// ReadMessage returns the next message, in order. It does not wait: it
// returns ErrNoMessage when nothing is ready (wait on Ready), and an error
// matching ErrPeerClosed once the peer is gone and every message it sent
// before going has been read.
func (p MessagePipe) ReadMessage() (*Message, error) {
	if p.e == nil {
		return nil, ErrInvalidPipe
	}
	n := p.e.node
	n.mu.Lock()
	defer n.unlock()
	if err := p.e.errLocked(); err != nil {
		return nil, err
	}
	pm, ok, err := n.ports.GetMessage(p.e.port)
	if err != nil {
		return nil, fmt.Errorf("mage: read message: %w", err)
	}
	if ok {
		m := pm.Body.(*Message)
		if len(pm.Ports) > 0 {
			m.Pipes = make([]MessagePipe, len(pm.Ports))
			for i, port := range pm.Ports {
				m.Pipes[i] = n.newEndpointLocked(port)
			}
		}
		if len(m.fds) > 0 {
			m.Handles = make([]*os.File, len(m.fds))
			for i, fd := range m.fds {
				m.Handles[i] = os.NewFile(uintptr(fd), "mage-handle")
			}
			m.fds = nil
		}
		// Taking a message can reveal a closure queued behind it, or the
		// next message; let the port state machine tell the readers.
		n.flushLocked()
		n.counts.received.Add(1)
		if n.trace != nil {
			n.traceReceived(m)
		}
		return m, nil
	}
	st, err := n.ports.Status(p.e.port)
	if err != nil {
		return nil, fmt.Errorf("mage: read message: %w", err)
	}
	if st.PeerClosed {
		return nil, n.peerClosedErrorLocked(st)
	}
	return nil, ErrNoMessage
}

func (n *Node) peerClosedErrorLocked(st ports.Status) error {
	if st.Reason == ports.ReasonNodeLost {
		return &PeerClosedError{NodeLost: true, Node: NodeName(st.LostNode), Cause: n.lost[st.LostNode]}
	}
	return &PeerClosedError{}
}

// Ready returns a channel that receives a value whenever ReadMessage may
// have something new: a message or the peer's closure. After a signal, read
// until ErrNoMessage before waiting again. The channel is never closed.
func (p MessagePipe) Ready() <-chan struct{} {
	if p.e == nil {
		return nil
	}
	if ready := p.e.ready.Load(); ready != nil {
		return *ready
	}
	n := p.e.node
	n.mu.Lock()
	defer n.unlock()
	if ready := p.e.ready.Load(); ready != nil {
		return *ready
	}
	ready := make(chan struct{}, 1)
	// What happened before the channel existed was signalled to no one.
	if p.e.readyNowLocked() {
		ready <- struct{}{}
	}
	p.e.ready.Store(&ready)
	return ready
}

// readyNowLocked reports whether ReadMessage would return something other
// than ErrNoMessage now.
func (e *endpoint) readyNowLocked() bool {
	if e.errLocked() != nil {
		return true
	}
	st, err := e.node.ports.Status(e.port)
	return err != nil || st.Readable || st.PeerClosed
}

// Close closes this end. Messages queued at it are discarded; the peer
// learns of the closure after it has read every message this end sent.
// Close is idempotent; closing an end that was sent away does nothing.
func (p MessagePipe) Close() error {
	if p.e == nil {
		return ErrInvalidPipe
	}
	n := p.e.node
	n.mu.Lock()
	defer n.unlock()
	if p.e.state != endpointOpen {
		return nil
	}
	p.e.state = endpointClosed
	delete(n.endpoints, p.e.port)
	p.e.signal()
	if n.closed {
		return nil
	}
	err := n.ports.ClosePort(p.e.port)
	n.flushLocked()
	if err != nil && !errors.Is(err, ports.ErrUnknownPort) {
		return fmt.Errorf("mage: close pipe: %w", err)
	}
	return nil
}

// ReportBadMessage rejects m, which arrived on p: it closes p and reports
// err, with the node m came from, to the node's bad-message hook. The
// bindings call it when a message cannot be decoded.
func (p MessagePipe) ReportBadMessage(m *Message, err error) {
	if p.e == nil {
		return
	}
	if m != nil {
		m.Close()
	}
	_ = p.Close()
	n := p.e.node
	var from NodeName
	var onConn func(error)
	if m != nil {
		from, onConn = NodeName(m.source), m.onBad
	}
	n.reportBad(from, onConn, err)
}

// reportBad reports err, a fault of node from, charged to the node that
// answers for it (badmessage.go). onConn is the OnBadMessage of the
// connection the message came over (nil if none).
func (n *Node) reportBad(from NodeName, onConn func(error), err error) {
	n.mu.Lock()
	bad := n.badMessageLocked(from, err)
	n.unlock()
	n.reportBadMessage(bad, onConn)
}

func (n *Node) checkLimits(m *Message) error {
	switch {
	case m == nil:
		return fmt.Errorf("%w: nil message", ErrTooLarge)
	case len(m.Payload) > n.limits.MaxPayload:
		return fmt.Errorf("%w: payload of %d bytes exceeds the limit of %d", ErrTooLarge, len(m.Payload), n.limits.MaxPayload)
	case len(m.Pipes) > n.limits.MaxPipes:
		return fmt.Errorf("%w: %d pipes exceed the limit of %d", ErrTooLarge, len(m.Pipes), n.limits.MaxPipes)
	case len(m.Handles) > n.limits.MaxHandles:
		return fmt.Errorf("%w: %d handles exceed the limit of %d", ErrTooLarge, len(m.Handles), n.limits.MaxHandles)
	}
	return nil
}

// takeAttachmentsLocked validates the pipe ends attached to a message sent
// from `from` and marks them moved.
func (n *Node) takeAttachmentsLocked(from *endpoint, pipes []MessagePipe) ([]ports.PortName, error) {
	if len(pipes) == 0 {
		return nil, nil
	}
	names := make([]ports.PortName, len(pipes))
	for i, a := range pipes {
		switch {
		case a.e == nil:
			return nil, fmt.Errorf("%w: pipe %d is invalid", ErrBadAttachment, i)
		case a.e == from:
			return nil, fmt.Errorf("%w: a pipe cannot carry itself", ErrBadAttachment)
		case a.e.node != n:
			return nil, fmt.Errorf("%w: pipe %d belongs to another node", ErrBadAttachment, i)
		}
		if err := a.e.sendableErrLocked(); err != nil {
			return nil, fmt.Errorf("%w: pipe %d: %w", ErrBadAttachment, i, err)
		}
		for _, prev := range names[:i] {
			if prev == a.e.port {
				return nil, fmt.Errorf("%w: pipe %d attached twice", ErrBadAttachment, i)
			}
		}
		names[i] = a.e.port
	}
	for _, a := range pipes {
		a.e.state = endpointMoved
		delete(n.endpoints, a.e.port)
		a.e.signal() // a reader waiting on it learns that it moved
	}
	return names, nil
}

// restoreAttachmentsLocked undoes takeAttachmentsLocked after a failed send.
func (n *Node) restoreAttachmentsLocked(pipes []MessagePipe) {
	for _, a := range pipes {
		a.e.state = endpointOpen
		n.endpoints[a.e.port] = a.e
	}
}
