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
// the child with the broker (registration.go). Everything the broker keeps
// for a node is in brokerTables, bounded by BrokerLimits, and forgotten
// when the node goes.

// brokerTables is what the broker keeps about the nodes of its tree. Its
// fields are guarded by Node.mu; on a node that is not the broker they stay
// empty.
type brokerTables struct {
	limits BrokerLimits
	// clients holds a record for every connected node the broker had to
	// remember something about: who answers for it, what it registered,
	// what it waits for. A record goes when the node's connection does.
	clients map[ports.NodeName]*brokerClient
	// registrations holds the registrations in progress, by the name of
	// the node registered: more than one while a node that learned the
	// name tries to take it (nameproof.go).
	registrations map[ports.NodeName][]*registration
	// waiters holds, per node not connected yet, the nodes waiting for an
	// introduction to it.
	waiters map[ports.NodeName]map[ports.NodeName]struct{}
	// introduced holds the pairs of nodes already introduced.
	introduced map[[2]ports.NodeName]bool
	// changed, when set, is called after every change to the tables that
	// does not go through flushLocked: tests use it to wait for the broker
	// to settle without polling.
	changed func()
}

// brokerChangedLocked tells a test's waiter that the tables changed.
func (n *Node) brokerChangedLocked() {
	if n.broker.changed != nil {
		n.broker.changed()
	}
}

// brokerClient is the broker's record of one connected node.
type brokerClient struct {
	// inviter is the node that registered this one; zero for a node that
	// connected to the broker directly (a child the broker invited).
	inviter ports.NodeName
	// responsible is the broker's direct client that answers for this
	// node: the node itself when it connected directly, else its
	// inviter's responsible node.
	responsible ports.NodeName
	// children counts the nodes this one registered that are connected
	// now; pending counts its registrations in progress.
	children, pending int
	// counted says this node is among its inviter's children.
	counted bool
	// waits holds, per node this one asked to be introduced to that is
	// not connected yet, the timer that gives up on it.
	waits map[ports.NodeName]*time.Timer
}

func newBrokerTables(limits BrokerLimits) brokerTables {
	return brokerTables{
		limits:        limits.withDefaults(),
		clients:       make(map[ports.NodeName]*brokerClient),
		registrations: make(map[ports.NodeName][]*registration),
		waiters:       make(map[ports.NodeName]map[ports.NodeName]struct{}),
		introduced:    make(map[[2]ports.NodeName]bool),
	}
}

// clientLocked returns the record of node, a node connected to this
// broker, making it on first use. A registered node's record is made when
// its handshake proves its name (nameProvenLocked), so that it is
// answered for by its inviter's responsible node from its first frame.
func (n *Node) clientLocked(node ports.NodeName) *brokerClient {
	if c := n.broker.clients[node]; c != nil {
		return c
	}
	c := &brokerClient{responsible: node}
	n.broker.clients[node] = c
	return c
}

// responsibleLocked returns the node that answers for node: on the broker,
// the direct client through which node was registered, at any depth; else
// node itself. A registration in progress answers for nothing: until its
// handshake proves the name, nothing comes from the node it names.
func (n *Node) responsibleLocked(node ports.NodeName) ports.NodeName {
	if c := n.broker.clients[node]; c != nil {
		return c.responsible
	}
	return node
}

// forgetClientLocked drops everything the broker kept for node, whose
// connection has ended: its record, its place among its inviter's
// children, the registrations it had in progress (their sockets are
// closed), the introductions it waited for, and the pairs it was part of.
func (n *Node) forgetClientLocked(node ports.NodeName) {
	b := &n.broker
	for key := range b.introduced {
		if key[0] == node || key[1] == node {
			delete(b.introduced, key)
		}
	}
	for _, list := range b.registrations {
		for _, r := range list {
			if r.inviter == node {
				r.cancel()
			}
		}
	}
	defer n.brokerChangedLocked()
	c := b.clients[node]
	if c == nil {
		return
	}
	delete(b.clients, node)
	if inv := b.clients[c.inviter]; inv != nil && c.counted {
		inv.children--
	}
	for wanted, t := range c.waits {
		t.Stop()
		n.dropWaiterLocked(wanted, node)
	}
}

// dropWaiterLocked removes requester from the nodes waiting for wanted.
func (n *Node) dropWaiterLocked(wanted, requester ports.NodeName) {
	set := n.broker.waiters[wanted]
	delete(set, requester)
	if len(set) == 0 {
		delete(n.broker.waiters, wanted)
	}
}

// requestIntroductionLocked asks the broker for a connection to node, once.
func (n *Node) requestIntroductionLocked(node ports.NodeName) {
	b := n.brokerLink
	if b == nil || !b.ready || n.introRequested[node] || node == n.name {
		return
	}
	n.introRequested[node] = true
	frame := wire.AppendRequestIntroduction(nil, &wire.RequestIntroduction{Node: wire.NodeName(node)})
	_ = b.sendFrameLocked(frame, nil)
}

// handleRequestIntroduction runs on the broker when l's peer asks for a
// connection to node. Knowing node's name is what entitles the peer to
// ask: names are random and travel only to nodes that hold a pipe or a
// route through node. If node is not connected yet (it may be registering
// right now), the request waits for it, for at most IntroductionWait.
// Requests are deduplicated; those waiting are bounded per requester.
func (l *link) handleRequestIntroduction(node ports.NodeName) error {
	n := l.node
	n.mu.Lock()
	defer n.unlock()
	if n.brokerLink != nil {
		return fmt.Errorf("%w: introduction request sent to a node that is not the broker", errProtocol)
	}
	if !l.proven {
		return fmt.Errorf("%w: introduction request from a node that did not prove its name to this broker (it is a peer, not a client of the tree)", errProtocol)
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
	c := n.clientLocked(l.peer)
	if _, dup := c.waits[node]; dup {
		return nil
	}
	if max := n.broker.limits.MaxPendingIntroductions; len(c.waits) >= max {
		return fmt.Errorf("%w: more than %d introductions to nodes not connected asked for at once (BrokerLimits.MaxPendingIntroductions)", errProtocol, max)
	}
	if c.waits == nil {
		c.waits = make(map[ports.NodeName]*time.Timer)
	}
	requester := l.peer
	c.waits[node] = time.AfterFunc(n.broker.limits.IntroductionWait, func() { n.introductionWaitExpired(requester, node) })
	set := n.broker.waiters[node]
	if set == nil {
		set = make(map[ports.NodeName]struct{})
		n.broker.waiters[node] = set
	}
	set[requester] = struct{}{}
	return nil
}

// introductionWaitExpired gives up on a request for a node that did not
// connect in time: the requester hears that the broker knows no such node.
func (n *Node) introductionWaitExpired(requester, node ports.NodeName) {
	n.mu.Lock()
	defer n.unlock()
	defer n.brokerChangedLocked()
	c := n.broker.clients[requester]
	if c == nil || c.waits[node] == nil || n.links[node] != nil {
		return
	}
	delete(c.waits, node)
	n.dropWaiterLocked(node, requester)
	if r := n.links[requester]; r != nil {
		r.sendControlLocked(wire.AppendIntroduce(nil, &wire.Introduce{Node: wire.NodeName(node), Unknown: true}), nil)
	}
}

// introduceLocked gives a and b the two ends of a new socket, unless they
// were introduced already.
func (n *Node) introduceLocked(a, b *link) {
	key := pairKey(a.peer, b.peer)
	if n.broker.introduced[key] {
		return
	}
	n.broker.introduced[key] = true
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
	waiting := n.broker.waiters[l.peer]
	delete(n.broker.waiters, l.peer)
	for requester := range waiting {
		if c := n.broker.clients[requester]; c != nil {
			if t := c.waits[l.peer]; t != nil {
				t.Stop()
				delete(c.waits, l.peer)
			}
		}
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
	n.unlock()
	if !fromBroker && !isBroker {
		return fmt.Errorf("%w: introduction from %s, which is not the broker", errProtocol, NodeName(l.peer))
	}
	if in.Unknown && fromBroker && len(fds) == 0 {
		n.mu.Lock()
		defer n.unlock()
		n.lostLocked(node, fmt.Errorf("%w: %s", errNodeUnknown, NodeName(node)))
		return nil
	}
	if in.Unknown || len(fds) != 1 {
		// HandleFrame closes fds when a handler fails.
		return fmt.Errorf("%w: introduction to %s without a socket", errProtocol, NodeName(node))
	}
	if closed {
		closeFDs(fds)
		return nil
	}
	if isBroker {
		return l.handleRegistration(node, fds[0])
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
	defer n.unlock()
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
	n.dropWaitingLocked(node)
	delete(n.introRequested, node)
	n.rememberLostLocked(node, err)
	n.ports.LostNode(node)
	n.flushLocked()
}
