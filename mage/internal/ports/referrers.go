package ports

// referrerIndex finds a receiving port of this node by its peer's port,
// for the peers on this node itself: at most one port may send to a given
// port, and for a peer of this node the index refuses a second
// (checkDescriptor, acceptObserveProxy). Peers on other nodes are not
// indexed. Nothing would read such an entry: an ObserveProxyEvent names
// the referrer it asks, and a second sender to another node's port is
// that node's to refuse (a made-up descriptor may name the same port, and
// this node cannot tell which is true: each is a stint of its own there).
// Leaving them out saves an entry on every pipe to another process.
type referrerIndex struct {
	self NodeName
	// local holds the referrers of this node's ports, by port name.
	local map[PortName]PortName
}

func newReferrerIndex(self NodeName) referrerIndex {
	return referrerIndex{self: self, local: map[PortName]PortName{}}
}

// get returns the port whose peer is a, a port of this node, and whether
// there is one; for a peer on another node there never is.
func (x *referrerIndex) get(a Address) (PortName, bool) {
	if a.Node != x.self {
		return PortName{}, false
	}
	name, ok := x.local[a.Port]
	return name, ok
}

// set records name as the port whose peer is a, if a is of this node.
func (x *referrerIndex) set(a Address, name PortName) {
	if a.Node == x.self {
		x.local[a.Port] = name
	}
}

// remove forgets the referrer of a.
func (x *referrerIndex) remove(a Address) {
	if a.Node == x.self {
		delete(x.local, a.Port)
	}
}

// len returns the number of referrers indexed.
func (x *referrerIndex) len() int { return len(x.local) }
