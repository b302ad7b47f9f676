package ports

import "fmt"

// PeekMessage returns the body of the message GetMessage would take next
// from receiving port p, and how many ports it carries, without taking it.
// ok is false when that message has not arrived. The body stays the
// port's: the caller must not keep or change it.
func (n *Node) PeekMessage(name PortName) (body any, ports int, ok bool, err error) {
	p, err := n.userPort("peek", name)
	if err != nil {
		return nil, 0, false, err
	}
	m, ok := p.queue.get(p.nextRecv)
	if !ok {
		return nil, 0, false, nil
	}
	return m.body, len(m.ports), true, nil
}

// Unread puts bodies back at the front of receiving port p's queue, in
// order, as if GetMessage had never taken them: they must be the last
// len(bodies) messages it took, and carry no ports. A reader that looked
// ahead for control messages gives back this way what it did not handle.
func (n *Node) Unread(name PortName, bodies []any) error {
	p, err := n.userPort("unread", name)
	if err != nil {
		return err
	}
	// Sequence numbers count from 1: nextRecv-1 messages were taken.
	if uint64(len(bodies)) >= p.nextRecv {
		return portErr("unread", name, fmt.Errorf("%d messages given back, but only %d were taken", len(bodies), p.nextRecv-1))
	}
	if p.queue == nil && len(bodies) > 0 {
		p.queue = &seqQueue{}
	}
	for i := len(bodies) - 1; i >= 0; i-- {
		p.nextRecv--
		p.queue.put(queuedMessage{seq: p.nextRecv, body: bodies[i]})
	}
	if len(bodies) > 0 {
		n.markChanged(name)
	}
	return nil
}
