package mage

import "fmt"

// MessageHeader is the header of a message: everything but its payload and
// attachments.
type MessageHeader struct {
	Interface uint32
	Method    uint32
	Flags     uint32
	RequestID uint64
}

// PeekHeader returns the header of the message ReadMessage would return
// next, without taking it, so that a reader can take control messages
// ahead of a request it is not ready for (the bindings look for a call's
// cancellation this way while the call runs). ok is false when no message
// is ready; then err matches ErrPeerClosed if none ever will be, as
// ReadMessage's would.
func (p MessagePipe) PeekHeader() (h MessageHeader, ok bool, err error) {
	if p.e == nil {
		return h, false, ErrInvalidPipe
	}
	n := p.e.node
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := p.e.errLocked(); err != nil {
		return h, false, err
	}
	body, ok, err := n.ports.PeekMessage(p.e.port)
	if err != nil {
		return h, false, fmt.Errorf("mage: peek message: %w", err)
	}
	if ok {
		m := body.(*Message)
		return MessageHeader{Interface: m.Interface, Method: m.Method, Flags: m.Flags, RequestID: m.RequestID}, true, nil
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
