package mage

import (
	"context"
	"fmt"

	"github.com/mage-ipc/mage/mage/internal/ports"
	"github.com/mage-ipc/mage/mage/internal/wire"
)

// countersCall is a PeerCounters call waiting for its answer.
type countersCall struct {
	link *link
	done chan Counters
}

// PeerCounters asks peer, a node this node is connected to, for its
// Counters: how many messages its pipes have written and read. The peer
// answers from its I/O goroutine, whatever its own code is doing. It fails
// with ErrNotConnected when there is no connection to peer, and when the
// connection ends or ctx does before the answer comes.
func (n *Node) PeerCounters(ctx context.Context, peer NodeName) (Counters, error) {
	if err := ctx.Err(); err != nil {
		return Counters{}, fmt.Errorf("mage: counters of %s: %w", peer, err)
	}
	n.mu.Lock()
	l := n.links[ports.NodeName(peer)]
	if l == nil || !l.ready {
		n.unlock()
		return Counters{}, fmt.Errorf("%w: %s", ErrNotConnected, peer)
	}
	n.countersNext++
	id := n.countersNext
	call := &countersCall{link: l, done: make(chan Counters, 1)}
	if n.countersCalls == nil {
		n.countersCalls = make(map[uint64]*countersCall)
	}
	n.countersCalls[id] = call
	l.encodeBuf = wire.AppendCountersRequest(l.encodeBuf[:0], &wire.CountersRequest{ID: id})
	_ = l.sendFrameLocked(l.encodeBuf, nil)
	n.unlock()
	defer func() {
		n.mu.Lock()
		delete(n.countersCalls, id)
		n.unlock()
	}()
	select {
	case c := <-call.done:
		return c, nil
	case <-l.dead:
		return Counters{}, fmt.Errorf("%w: %s: the connection ended: %w", ErrNotConnected, peer, l.err())
	case <-ctx.Done():
		return Counters{}, fmt.Errorf("mage: counters of %s: %w", peer, ctx.Err())
	}
}

// LastPeerCounters returns the latest Counters peer reported to this
// node: its answer to the last PeerCounters, or the final counts it sends
// its broker as it closes (Node.Close). It works after the peer is gone,
// which is what it is for: a supervisor's summary of processes that have
// exited.
func (n *Node) LastPeerCounters(peer NodeName) (Counters, bool) {
	n.mu.Lock()
	defer n.unlock()
	c, ok := n.lastCounters[ports.NodeName(peer)]
	return c, ok
}

// reportFinalCountersLocked tells the broker this node's counts as the
// node closes: a Counters frame nobody asked for, with id 0.
func (n *Node) reportFinalCountersLocked() {
	l := n.brokerLink
	if l == nil || !l.ready {
		return
	}
	c := n.Counters()
	l.encodeBuf = wire.AppendCounters(l.encodeBuf[:0], &wire.Counters{ID: wire.FinalCountersID, Sent: c.Sent, Received: c.Received})
	_ = l.sendFrameLocked(l.encodeBuf, nil)
}

// handleCountersRequest answers a peer's CountersRequest with this node's
// counts. It runs on the link's reader and only reads atomics.
func (l *link) handleCountersRequest(r *wire.CountersRequest) error {
	c := l.node.Counters()
	n := l.node
	n.mu.Lock()
	defer n.unlock()
	l.encodeBuf = wire.AppendCounters(l.encodeBuf[:0], &wire.Counters{ID: r.ID, Sent: c.Sent, Received: c.Received})
	l.sendControlLocked(l.encodeBuf, nil)
	return nil
}

// handleCounters delivers a peer's answer to the call waiting for it. An
// answer nobody asked for, or asked for on another connection, breaks
// the protocol.
func (l *link) handleCounters(c *wire.Counters) error {
	n := l.node
	n.mu.Lock()
	defer n.unlock()
	if n.lastCounters == nil {
		n.lastCounters = make(map[ports.NodeName]Counters)
	}
	n.lastCounters[l.peer] = Counters{Sent: c.Sent, Received: c.Received}
	if c.ID == wire.FinalCountersID {
		return nil
	}
	call := n.countersCalls[c.ID]
	switch {
	case call == nil:
		// The call gave up (its context ended) just before: no fault of
		// the peer's.
		return nil
	case call.link != l:
		return fmt.Errorf("%w: counters answer %d on the wrong connection", errProtocol, c.ID)
	}
	delete(n.countersCalls, c.ID)
	call.done <- Counters{Sent: c.Sent, Received: c.Received}
	return nil
}
