package ports

// referrerIndex finds a receiving port of this node by its peer's
// address. At most one port anywhere sends to a given port, so an address
// names one referrer among well-behaved nodes; for a peer of this node the
// index refuses a second (checkDescriptor). For a peer on another node it
// may not (a made-up descriptor may name it too, and this node cannot tell
// which is true: each is a stint of its own there), so such an entry is
// the latest port's, and only the entries of this node's peers are relied
// on. Most peers are on this node
// (both ends of a pipe made here), so those are kept by port name alone:
// an entry a third smaller, on every idle pipe.
type referrerIndex struct {
	self NodeName
	// local holds the referrers of this node's ports, by port name;
	// remote those of other nodes' ports.
	local  map[PortName]PortName
	remote map[Address]PortName
}

func newReferrerIndex(self NodeName) referrerIndex {
	return referrerIndex{self: self, local: map[PortName]PortName{}, remote: map[Address]PortName{}}
}

// get returns the port whose peer is a, and whether there is one.
func (x *referrerIndex) get(a Address) (PortName, bool) {
	if a.Node == x.self {
		name, ok := x.local[a.Port]
		return name, ok
	}
	name, ok := x.remote[a]
	return name, ok
}

// set records name as the port whose peer is a.
func (x *referrerIndex) set(a Address, name PortName) {
	if a.Node == x.self {
		x.local[a.Port] = name
		return
	}
	x.remote[a] = name
}

// remove forgets the referrer of a.
func (x *referrerIndex) remove(a Address) {
	if a.Node == x.self {
		delete(x.local, a.Port)
		return
	}
	delete(x.remote, a)
}

// len returns the number of referrers indexed.
func (x *referrerIndex) len() int { return len(x.local) + len(x.remote) }
