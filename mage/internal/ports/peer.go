package ports

// Peer returns the address port name sends to: its peer's, as this node
// knows it. After the peer moved, that may be a proxy on the way to it.
func (n *Node) Peer(name PortName) (Address, error) {
	p, err := n.userPort("peer", name)
	if err != nil {
		return Address{}, err
	}
	return p.peer, nil
}
