package mage

import "fmt"

// MessageHeader is the header of a queued message, and how many pipes and
// handles it carries.
type MessageHeader struct {
	Interface uint32
	Method    uint32
	Flags     uint32
	RequestID uint64
	Pipes     int
	Handles   int
}

// PeekHeader returns the header of the message ReadMessage would return
// next, without taking it, so that a reader can look for control messages
// behind a request it is not ready for (the bindings look for a call's
// cancellation this way while the call runs). ok is false when no message
// is ready; then err matches ErrPeerClosed if none ever will be, as
// ReadMessage's would.
func (p MessagePipe) PeekHeader() (h MessageHeader, ok bool, err error) {
	if p.e == nil {
		return h, false, ErrInvalidPipe
	}
	n := p.e.node
	n.mu.Lock()
	defer n.unlock()
	if err := p.e.errLocked(); err != nil {
		return h, false, err
	}
	body, ports, ok, err := n.ports.PeekMessage(p.e.port)
	if err != nil {
		return h, false, fmt.Errorf("mage: peek message: %w", err)
	}
	if ok {
		m := body.(*Message)
		return MessageHeader{
			Interface: m.Interface, Method: m.Method, Flags: m.Flags, RequestID: m.RequestID,
			Pipes: ports, Handles: len(m.fds),
		}, true, nil
	}
	st, err := n.ports.Status(p.e.port)
	if err != nil {
		return h, false, fmt.Errorf("mage: peek message: %w", err)
	}
	if st.PeerClosed {
		return h, false, n.peerClosedErrorLocked(st)
	}
	return h, false, nil
}

// Unread puts messages back at the front of the end's queue, in order, as
// if ReadMessage had never returned them: they must be the last messages
// read from this end, unchanged, and carry no pipes or handles. The
// bindings read requests ahead of the one running to find cancels behind
// them, and give back the rest when a Receiver is unbound, so that the
// end's next owner reads them.
func (p MessagePipe) Unread(ms []*Message) error {
	if p.e == nil {
		return ErrInvalidPipe
	}
	bodies := make([]any, len(ms))
	for i, m := range ms {
		if len(m.Pipes) != 0 || len(m.Handles) != 0 {
			return fmt.Errorf("%w: it carries %d pipes and %d handles", ErrCannotUnread, len(m.Pipes), len(m.Handles))
		}
		bodies[i] = m
	}
	n := p.e.node
	n.mu.Lock()
	defer n.unlock()
	if err := p.e.errLocked(); err != nil {
		return err
	}
	if err := n.ports.Unread(p.e.port, bodies); err != nil {
		return fmt.Errorf("%w: %w", ErrCannotUnread, err)
	}
	n.flushLocked()
	return nil
}
