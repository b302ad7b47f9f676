package mage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage/internal/ports"
	"github.com/mage-ipc/mage/mage/internal/wire"
)

// Registration: a node that is not the broker gives each child it invites
// a socket of its own to the broker. It makes a socketpair (ChildBroker),
// hands the child one end, and, once the child's handshake has named it,
// sends the broker the other end in an Introduce frame naming the child.
// The broker then runs a handshake over that socket that only the named
// node can pass: the child proves its name there (nameproof.go). Knowing
// the name is not enough, so a node that learned it cannot register it
// first; a name may have several registrations in progress, and the one
// that proves it wins. Each registration is charged to the inviter:
// bounded in number (BrokerLimits), timed out, and whatever the registered
// node does later is charged to the broker's direct client that answers
// for the inviter.

// ChildBroker is a child's way to the tree's broker, prepared by the node
// that invites the child. On the broker itself there is nothing to prepare:
// the inviter is the child's broker (ViaInviter). Elsewhere it holds a
// socketpair: ChildEnd goes to the child, which connects to the broker over
// it (ConnectOptions.AsBroker), and the other end goes to the broker in the
// registration that Connect sends when given the ChildBroker in
// ConnectOptions.RegisterChild.
//
// A ChildBroker serves one child. Its methods are safe for concurrent use;
// Close releases whatever is left and is idempotent.
type ChildBroker struct {
	node *Node

	// mu guards the sockets. mine is the end for the broker, theirs the
	// child's; each is nil once handed on or closed.
	mu           sync.Mutex
	mine, theirs *os.File
}

// NewChildBroker prepares the way to the broker for one child that n is
// about to invite. See ChildBroker.
func (n *Node) NewChildBroker() (*ChildBroker, error) {
	n.mu.Lock()
	isBroker := n.brokerLink == nil
	n.unlock()
	cb := &ChildBroker{node: n}
	if isBroker {
		return cb, nil
	}
	mine, theirs, err := sockets.Pair()
	if err != nil {
		return nil, fmt.Errorf("mage: child broker: %w", err)
	}
	cb.mine, cb.theirs = mine, theirs
	return cb, nil
}

// ViaInviter reports whether the child's inviter is the broker itself, so
// that the child reaches the broker over its invitation's connection and
// ChildEnd is nil.
func (cb *ChildBroker) ViaInviter() bool {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return cb.mine == nil && cb.theirs == nil
}

// ChildEnd returns the child's end of its socket to the broker, to pass to
// the child (exec.Cmd.ExtraFiles, say), or nil when ViaInviter. Close it
// with CloseChildEnd once the child has its copy.
func (cb *ChildBroker) ChildEnd() *os.File {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return cb.theirs
}

// CloseChildEnd closes this process's copy of the child's end, once the
// child has inherited it. Idempotent.
func (cb *ChildBroker) CloseChildEnd() {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if cb.theirs != nil {
		_ = cb.theirs.Close()
		cb.theirs = nil
	}
}

// Close closes both ends that are still here: the child's, and the
// broker's if no registration took it. Idempotent.
func (cb *ChildBroker) Close() {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	for _, f := range []**os.File{&cb.mine, &cb.theirs} {
		if *f != nil {
			_ = (*f).Close()
			*f = nil
		}
	}
}

// register sends the broker its end of the child's socket, naming the
// child, l's peer. It runs in Connect as soon as the child's Hello has
// named it, before anything else goes to the child, so that the
// registration reaches the broker before the child's name can reach anyone
// else through this node. It does nothing for a ChildBroker ViaInviter.
func (cb *ChildBroker) register(l *link) error {
	if cb.node != l.node {
		return fmt.Errorf("%w: the ChildBroker belongs to another node", ErrHandshake)
	}
	cb.mu.Lock()
	mine := cb.mine
	cb.mine = nil
	cb.mu.Unlock()
	if mine == nil {
		return nil
	}
	fd, err := dupFile(mine)
	_ = mine.Close()
	if err != nil {
		return fmt.Errorf("mage: registering %s with the broker: %w", NodeName(l.peer), err)
	}
	n := l.node
	n.mu.Lock()
	defer n.unlock()
	b := n.brokerLink
	if b == nil {
		closeFDs([]int{fd})
		return fmt.Errorf("mage: registering %s with the broker: this node has no broker (any more)", NodeName(l.peer))
	}
	frame := wire.AppendIntroduce(nil, &wire.Introduce{Node: wire.NodeName(l.peer)})
	if err := b.sendFrameLocked(frame, []int{fd}); err != nil {
		return fmt.Errorf("mage: registering %s with the broker: %w", NodeName(l.peer), err)
	}
	return nil
}

// registration is one registration in progress on the broker.
type registration struct {
	// node is the node registered.
	node ports.NodeName
	// inviter is the node that sent it; responsible the direct client
	// that answers for the inviter.
	inviter, responsible ports.NodeName
	// cancel ends the registered node's handshake.
	cancel context.CancelFunc
	// beaten, guarded by Node.mu, says node proved its name over another
	// connection while this registration was in progress.
	beaten bool
}

// addRegistrationLocked records r as in progress.
func (n *Node) addRegistrationLocked(r *registration) {
	n.broker.registrations[r.node] = append(n.broker.registrations[r.node], r)
}

// removeRegistrationLocked forgets r, which has settled.
func (n *Node) removeRegistrationLocked(r *registration) {
	list := n.broker.registrations[r.node]
	for i, x := range list {
		if x == r {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(n.broker.registrations, r.node)
		return
	}
	n.broker.registrations[r.node] = list
}

// handleRegistration runs on the broker when l's peer registers node, a
// child it invited, over fd. It checks the registration against the rules
// and the inviter's bounds, then runs the handshake over fd, which only
// node may pass, for at most RegistrationTimeout. Another registration of
// node in progress does not stop it: names are no secret, so which one is
// node's is for the handshake to tell. It takes ownership of fd unless it
// returns an error.
func (l *link) handleRegistration(node ports.NodeName, fd int) error {
	n := l.node
	n.mu.Lock()
	defer n.unlock()
	b := &n.broker
	inviter := n.clientLocked(l.peer)
	var fault string
	switch {
	case !l.proven:
		fault = "comes from a node that did not prove its own name to this broker (it is a peer, not a client of the tree)"
	case node == n.name:
		fault = "names the broker"
	case node == l.peer:
		fault = "names the registering node itself"
	case n.links[node] != nil:
		fault = "names a node already connected"
	case registersAlready(b.registrations[node], l.peer):
		fault = "names a node this node is registering already"
	case inviter.pending >= b.limits.MaxPendingRegistrations:
		fault = fmt.Sprintf("is one more than the %d in progress allowed (BrokerLimits.MaxPendingRegistrations)", b.limits.MaxPendingRegistrations)
	case inviter.children+inviter.pending >= b.limits.MaxChildrenPerNode:
		fault = fmt.Sprintf("is one more than the %d registered nodes allowed (BrokerLimits.MaxChildrenPerNode)", b.limits.MaxChildrenPerNode)
	}
	if fault != "" {
		// HandleFrame closes fd with the frame's other descriptors.
		return fmt.Errorf("%w: registration of node %s %s", errProtocol, NodeName(node), fault)
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.limits.RegistrationTimeout)
	r := &registration{node: node, inviter: l.peer, responsible: inviter.responsible, cancel: cancel}
	n.addRegistrationLocked(r)
	inviter.pending++
	n.brokerChangedLocked()
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		defer cancel()
		n.connectRegistered(ctx, node, r, os.NewFile(uintptr(fd), "mage-registered"))
	}()
	return nil
}

// registersAlready reports whether inviter has one of list in progress.
func registersAlready(list []*registration, inviter ports.NodeName) bool {
	for _, r := range list {
		if r.inviter == inviter {
			return true
		}
	}
	return false
}

// connectRegistered runs the registered node's handshake over f and then
// settles the registration: the node becomes a child of its inviter, or,
// if the handshake failed, the registration is forgotten. A handshake
// broken on the socket (no or a wrong name proof, another name, a name
// connected already, a malformed frame), and a registration that lost to
// one that proved the name, are reported, charged to the inviter's
// responsible node; those the link reported itself are not reported again.
func (n *Node) connectRegistered(ctx context.Context, node ports.NodeName, r *registration, f *os.File) {
	conn, err := sockets.Conn(f)
	if err == nil {
		_, err = n.Connect(ctx, conn, ConnectOptions{ExpectNode: NodeName(node), registration: r})
	}
	n.mu.Lock()
	n.removeRegistrationLocked(r)
	inviter := n.broker.clients[r.inviter]
	if inviter != nil {
		inviter.pending--
	}
	var bad *BadMessageError
	switch {
	case err == nil && n.links[node] != nil:
		c := n.clientLocked(node)
		c.inviter, c.responsible = r.inviter, r.responsible
		if inviter != nil {
			inviter.children++
			c.counted = true
		}
	case err == nil:
		// Connected and gone again already; HandleError forgot it.
	case isPeerFault(err):
		// The link reported it (chargeLocked): before the proof, charged
		// to the inviter; after it, to node itself.
	case r.beaten:
		bad = &BadMessageError{Node: NodeName(r.inviter), Responsible: NodeName(r.responsible),
			Err: fmt.Errorf("%w: registration of node %s by %s refused: node %s proved its name over another connection", errProtocol, NodeName(node), NodeName(r.inviter), NodeName(node))}
	case ctx.Err() != nil, errors.Is(err, ErrNodeClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// Timed out, the inviter went, this node closed, or the child
		// died: nobody broke a rule.
	default:
		bad = &BadMessageError{Node: NodeName(r.inviter), Responsible: NodeName(r.responsible),
			Err: fmt.Errorf("mage: registration of node %s by %s failed: %w", NodeName(node), NodeName(r.inviter), err)}
	}
	n.brokerChangedLocked()
	n.unlock()
	if err != nil {
		n.log.Warn("registration failed", "node", NodeName(node).String(), "inviter", NodeName(r.inviter).String(), "error", err)
	}
	if bad != nil {
		n.reportBadMessage(bad, nil)
	}
}
