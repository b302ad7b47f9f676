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

// NextNode returns the node that what port name sends leaves this node for:
// its peer's node, or, while the peer is a proxy on this node (the end that
// was just sent away), the node that proxy forwards to. It returns this
// node's own name when what name sends stays here.
func (n *Node) NextNode(name PortName) (NodeName, error) {
	p, err := n.userPort("next node", name)
	if err != nil {
		return NodeName{}, err
	}
	addr := p.peer
	// Proxies on one node never form a cycle; the bound only guards the
	// walk against a bug elsewhere.
	for range len(n.ports) {
		q := n.ports[addr.Port]
		if addr.Node != n.name || q == nil || q.state != stateProxying {
			break
		}
		addr = q.rare().target
	}
	return addr.Node, nil
}
