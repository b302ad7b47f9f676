package mage

import (
	"errors"
	"fmt"

	"github.com/mage-ipc/mage/mage/internal/ports"
	"github.com/mage-ipc/mage/mage/internal/wire"
)

// Node names are commitments. A node draws a secret, its name proof, and
// its name is derived from it (wire.NameProof.Node), so knowing a name
// proves nothing. A node shows its proof to its broker alone, in the Hello
// of each connection it makes AsBroker (its direct connection when the
// broker invited it, its registration socket otherwise), and never to any
// other peer: the broker is the one node every member of the tree trusts
// with everything anyway, and a node's inviter, which holds the socket the
// proof travels on, answers for the node already.
//
// The broker demands the proof where a node joins its tree: on the socket
// of a registration, and from a child it invites itself (RegisterChild
// with a ChildBroker ViaInviter). It checks the proof before it records or
// answers anything for the name, so a node that learned another's name
// (names travel in port descriptors and events) cannot take it: a
// registration of a name that fails its proof never holds the name, and
// the registration that proves it first wins over every other one in
// progress, which are refused and charged to their inviters. A peer the
// broker's owner connects without RegisterChild (another tree's root, a
// control client) is not a member of the tree: it need not prove its name,
// and the broker neither takes registrations nor answers introduction
// requests from it.

// demandsNameProof reports whether the peer of a connection n makes with
// opts must prove its name: it completes a registration, or it is a child
// that n, the broker, invites itself.
func demandsNameProof(n *Node, opts ConnectOptions) bool {
	if opts.registration != nil {
		return true
	}
	cb := opts.RegisterChild
	return cb != nil && cb.node == n && cb.ViaInviter()
}

// checkNameProofLocked checks the name proof of the peer's Hello h, before
// anything is recorded for the name h claims. A proof is checked whenever
// one comes, and must come where the link demands one. A wrong or missing
// proof is a protocol violation of the peer; on a registration's socket it
// is charged to the node that answers for the registration's inviter
// (chargeLocked). A proof sent to a node that is not a broker is refused.
func (l *link) checkNameProofLocked(h *wire.Hello) error {
	n := l.node
	claimed := NodeName(h.Node)
	var fault error
	switch {
	case !h.HasProof && !l.demandProof:
		return nil
	case h.HasProof && n.brokerLink != nil:
		// Not a fault of the peer's: whoever set up its connection took
		// this node for its broker.
		return fmt.Errorf("%w: node %s proves its name to this node as to its broker, which it is not", ErrHandshake, claimed)
	case !h.HasProof:
		fault = fmt.Errorf("%w: node %s sent no name proof, and must prove its name to join the tree", ErrNameProof, claimed)
	default:
		if proven := ports.NodeName(h.Proof.Node()); proven != ports.NodeName(h.Node) {
			if n.knowsNameLocked(proven) {
				fault = fmt.Errorf("%w: the proof sent for node %s is node %s's", ErrNameProof, claimed, NodeName(proven))
			} else {
				fault = fmt.Errorf("%w: the proof sent for node %s is wrong", ErrNameProof, claimed)
			}
		}
	}
	if fault == nil {
		return nil
	}
	return fmt.Errorf("%w: %w: %w", ErrHandshake, errProtocol, fault)
}

// chargeLocked returns the report of err, a fault that ends l, for the
// node that answers for it: on a registration's socket, until the name
// is proven, whoever answered there, the inviter that handed the socket
// over answers for it, never the node the registration named.
func (l *link) chargeLocked(err error) *BadMessageError {
	n := l.node
	if r := l.reg; r != nil && !l.proven {
		var bad *BadMessageError
		if !errors.As(err, &bad) {
			return &BadMessageError{Node: NodeName(r.inviter), Responsible: NodeName(r.responsible),
				Err: fmt.Errorf("mage: registration of node %s by %s refused: %w", NodeName(r.node), NodeName(r.inviter), err)}
		}
	}
	return n.badMessageLocked(NodeName(l.peer), err)
}

// knowsNameLocked reports whether name is this node's, a connected node's
// or one being registered.
func (n *Node) knowsNameLocked(name ports.NodeName) bool {
	return name == n.name || n.links[name] != nil || len(n.broker.registrations[name]) > 0
}

// nameProvenLocked runs once the peer's Hello h has been accepted and the
// link recorded under its name. A peer that proved its name is a client of
// this broker; one registered through l.reg is answered for by the
// registration's inviter from its first frame on; and every other
// registration of the name still in progress has lost.
func (l *link) nameProvenLocked(h *wire.Hello) {
	if !h.HasProof {
		return
	}
	l.proven = true
	n := l.node
	if r := l.reg; r != nil {
		c := n.clientLocked(l.peer)
		c.inviter, c.responsible = r.inviter, r.responsible
	}
	for _, other := range n.broker.registrations[l.peer] {
		if other != l.reg {
			other.beaten = true
			other.cancel()
		}
	}
}
