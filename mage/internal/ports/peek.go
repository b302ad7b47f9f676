package ports

// PeekMessage returns the body of the message GetMessage would take next
// from receiving port p, without taking it. ok is false when that message
// has not arrived. The body stays the port's: the caller must not keep or
// change it.
func (n *Node) PeekMessage(name PortName) (body any, ok bool, err error) {
	p, err := n.userPort("peek", name)
	if err != nil {
		return nil, false, err
	}
	m := p.queue[p.nextRecv]
	if m == nil {
		return nil, false, nil
	}
	return m.body, true, nil
}
