package mage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage/internal/ports"
	"github.com/mage-ipc/mage/mage/internal/wire"
)

// introductionTimeout bounds the handshake over a socket the broker handed
// out, so a peer that never shows up cannot hold a goroutine forever.
const introductionTimeout = 30 * time.Second

// The broker is the root node of a process tree. Every other node has a
// connection to it (its broker link). When a node must send to a node it
// has no connection to, it asks the broker for an introduction; the broker
// makes a socketpair and gives one end to each of the two nodes, which then
// connect directly. Events for the unreachable node wait, in order, until
// the connection is up.
//
// A node that invites a child while it is not the broker itself registers
// the child with the broker: it makes a second socketpair, gives the child
// one end, and sends the broker the other (an Introduce frame naming the
// child). The child connects to the broker over its end.

// HasBroker reports whether n is connected to a broker, that is, whether n
// is not itself the root of its tree.
func (n *Node) HasBroker() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.brokerLink != nil
}

// RegisterWithBroker hands the broker sock, one end of a socket whose other
// end the node named child uses to connect to the broker. The inviter of a
// child calls it once the child has accepted. It takes ownership of sock.
func (n *Node) RegisterWithBroker(child NodeName, sock *os.File) error {
	fd, err := dupFile(sock)
	_ = sock.Close()
	if err != nil {
		return fmt.Errorf("mage: register with broker: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	b := n.brokerLink
	if b == nil {
		closeFDs([]int{fd})
		return errors.New("mage: register with broker: this node has no broker")
	}
	frame := wire.AppendIntroduce(nil, &wire.Introduce{Node: wire.NodeName(child)})
	if err := b.ch.Send(frame, []int{fd}); err != nil {
		return fmt.Errorf("mage: register with broker: %w", err)
	}
	return nil
}

// requestIntroductionLocked asks the broker for a connection to node, once.
func (n *Node) requestIntroductionLocked(node ports.NodeName) {
	b := n.brokerLink
	if b == nil || !b.ready || n.introRequested[node] || node == n.name {
		return
	}
	n.introRequested[node] = true
	frame := wire.AppendRequestIntroduction(nil, &wire.RequestIntroduction{Node: wire.NodeName(node)})
	_ = b.ch.Send(frame, nil)
}

// handleRequestIntroduction runs on the broker when l's peer asks for a
// connection to node. If node is not connected yet (it may be registering
// right now), the request waits for it.
func (l *link) handleRequestIntroduction(node ports.NodeName) error {
	n := l.node
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.brokerLink != nil {
		return fmt.Errorf("%w: introduction request sent to a node that is not the broker", errProtocol)
	}
	if node == l.peer {
		return fmt.Errorf("%w: node asked to be introduced to itself", errProtocol)
	}
	if node == n.name {
		// The requester reaches the broker over this very link.
		return nil
	}
	if other := n.links[node]; other != nil && other.ready {
		n.introduceLocked(l, other)
		return nil
	}
	if _, gone := n.lost[node]; gone {
		// Tell the requester, which may be waiting to hear whether node
		// lives: with the routes through this node collapsed, no proxy
		// here will tell it.
		l.sendControlLocked(wire.AppendIntroduce(nil, &wire.Introduce{Node: wire.NodeName(node), Unknown: true}), nil)
		return nil
	}
	n.pendingIntros[node] = append(n.pendingIntros[node], l.peer)
	return nil
}

// introduceLocked gives a and b the two ends of a new socket, unless they
// were introduced already.
func (n *Node) introduceLocked(a, b *link) {
	key := pairKey(a.peer, b.peer)
	if n.introduced[key] {
		return
	}
	n.introduced[key] = true
	fa, fb, err := sockets.Pair()
	if err != nil {
		n.log.Error("introduction failed", "a", NodeName(a.peer).String(), "b", NodeName(b.peer).String(), "error", err)
		return
	}
	send := func(to *link, f *os.File, about ports.NodeName) {
		fd, err := dupFile(f)
		_ = f.Close()
		if err != nil {
			n.log.Error("introduction failed", "node", NodeName(to.peer).String(), "error", err)
			return
		}
		to.sendControlLocked(wire.AppendIntroduce(nil, &wire.Introduce{Node: wire.NodeName(about)}), []int{fd})
	}
	send(a, fa, b.peer)
	send(b, fb, a.peer)
}

// servePendingIntroductionsLocked answers requests that waited for l's
// peer to connect.
func (n *Node) servePendingIntroductionsLocked(l *link) {
	waiting := n.pendingIntros[l.peer]
	delete(n.pendingIntros, l.peer)
	for _, requester := range waiting {
		if r := n.links[requester]; r != nil && r.ready {
			n.introduceLocked(r, l)
		}
	}
}

func pairKey(a, b ports.NodeName) [2]ports.NodeName {
	if string(a[:]) > string(b[:]) {
		a, b = b, a
	}
	return [2]ports.NodeName{a, b}
}

// handleIntroduce runs when l's peer hands this node a socket to node: on a
// client, an introduction from its broker; on the broker, the registration
// of a client's new child.
func (l *link) handleIntroduce(in *wire.Introduce, fds []int) error {
	n := l.node
	node := ports.NodeName(in.Node)
	n.mu.Lock()
	fromBroker := n.brokerLink == l
	isBroker := n.brokerLink == nil
	closed := n.closed
	n.mu.Unlock()
	if !fromBroker && !isBroker {
		return fmt.Errorf("%w: introduction from %s, which is not the broker", errProtocol, NodeName(l.peer))
	}
	if in.Unknown && fromBroker && len(fds) == 0 {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.lostLocked(node, fmt.Errorf("%w: %s", errNodeUnknown, NodeName(node)))
		return nil
	}
	if in.Unknown || len(fds) != 1 {
		closeFDs(fds)
		return fmt.Errorf("%w: introduction to %s without a socket", errProtocol, NodeName(node))
	}
	if closed {
		closeFDs(fds)
		return nil
	}
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		n.connectIntroduced(node, os.NewFile(uintptr(fds[0]), "mage-introduced"))
	}()
	return nil
}

// connectIntroduced runs the handshake over an introduced socket. If it
// fails, events waiting for node are dropped and node is treated as lost.
func (n *Node) connectIntroduced(node ports.NodeName, f *os.File) {
	ctx, cancel := context.WithTimeout(context.Background(), introductionTimeout)
	defer cancel()
	conn, err := sockets.Conn(f)
	if err == nil {
		_, err = n.Connect(ctx, conn, ConnectOptions{ExpectNode: NodeName(node)})
	}
	if err == nil || errors.Is(err, ErrAlreadyConnected) || errors.Is(err, ErrNodeClosed) {
		return
	}
	n.log.Warn("introduced connection failed", "node", NodeName(node).String(), "error", err)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lostLocked(node, err)
}

// errNodeUnknown is why a node is lost that the broker reported gone or
// unknown when asked for an introduction.
var errNodeUnknown = errors.New("mage: the broker knows no such node")

// lostLocked treats node, to which this node has no connection, as lost
// with err: events waiting for it are dropped and the ports that depend on
// it learn. It does nothing if a connection to node exists after all.
func (n *Node) lostLocked(node ports.NodeName, err error) {
	if n.links[node] != nil {
		return
	}
	for _, out := range n.waiting[node] {
		dropEvent(out.Event)
	}
	delete(n.waiting, node)
	delete(n.introRequested, node)
	n.lost[node] = err
	n.ports.LostNode(node)
	n.flushLocked()
}
