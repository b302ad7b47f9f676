package mage

import (
	"errors"
	"fmt"

	"github.com/mage-ipc/mage/mage/internal/channel"
	"github.com/mage-ipc/mage/mage/internal/ports"
	"github.com/mage-ipc/mage/mage/internal/wire"
)

// channelOptions are the bounds of Limits that a connection's channel
// enforces on the peer's bytes and on what is queued toward it.
func (l Limits) channelOptions() channel.Options {
	return channel.Options{
		HandshakeFrameSize: l.MaxHandshakeFrame,
		FrameTimeout:       l.FrameTimeout,
		MaxQueuedFDs:       l.MaxQueuedHandles,
		// WriteMessage refuses at MaxQueuedBytes; what the node must send
		// regardless has up to as much again before the peer counts as
		// a slow reader.
		MaxPendingBytes: 2 * l.MaxQueuedBytes,
		MaxPendingFDs:   l.MaxQueuedHandles,
		StopWhenFull:    true,
		// Frames are queued under Node.mu and written after it is
		// released (Node.unlock).
		DeferDirectWrite: true,
		// handleUser copies a small payload into the Message's own
		// allocation, a medium one into a pooled buffer
		// (newReceivedMessage).
		LendPayloadsUpTo: minCachedPayload - 1,
	}
}

// backedUpLocked reports, with an error matching ErrPeerBackedUp, that the
// node the port sends to holds MaxQueuedBytes or more that it has not read:
// on the connection to it, or waiting for a connection to it.
func (n *Node) backedUpLocked(port ports.PortName) error {
	// The node the frames leave for, which is not the peer's while the
	// peer is the proxy left by an end just sent away: what is written
	// meanwhile goes through it to the node the end went to.
	to, err := n.ports.NextNode(port)
	if err != nil || to == n.name {
		return nil
	}
	queued := n.waitingBytes[to]
	if l := n.links[to]; l != nil {
		queued += l.ch.Buffered()
	}
	if queued >= n.limits.MaxQueuedBytes {
		return fmt.Errorf("%w: %d bytes queued toward node %s, limit %d", ErrPeerBackedUp, queued, NodeName(to), n.limits.MaxQueuedBytes)
	}
	return nil
}

// eventBytes is roughly what an event waiting for a connection holds.
func eventBytes(out ports.Outgoing) int {
	const frameOverhead = 64
	if e, ok := out.User(); ok {
		if m, ok := e.Body.(*Message); ok {
			return frameOverhead + len(m.Payload) + wire.DescriptorSize*len(e.Ports)
		}
	}
	return frameOverhead
}

// dropWaitingLocked discards the events waiting for node, which will never
// be sent.
func (n *Node) dropWaitingLocked(node ports.NodeName) {
	for _, out := range n.waiting[node] {
		dropEvent(out)
	}
	delete(n.waiting, node)
	delete(n.waitingBytes, node)
}

// rememberLostLocked records why node was lost. At most MaxLostNodes are
// remembered: the oldest is forgotten first, with the last counters it
// reported, so a stream of short-lived peers cannot grow the node.
func (n *Node) rememberLostLocked(node ports.NodeName, cause error) {
	if _, known := n.lost[node]; !known {
		n.lostOrder = append(n.lostOrder, node)
	}
	n.lost[node] = cause
	for len(n.lostOrder) > n.limits.MaxLostNodes {
		old := n.lostOrder[0]
		n.lostOrder[0] = ports.NodeName{}
		n.lostOrder = n.lostOrder[1:]
		delete(n.lost, old)
		if n.links[old] == nil {
			delete(n.lastCounters, old)
		}
	}
	if len(n.lostOrder) == 0 {
		n.lostOrder = nil
	}
}

// isPeerFault tells a peer's misbehaviour from an ordinary end of the
// connection: a frame that breaks the wire format or the node protocol,
// descriptors that do not match the frames, a frame not finished in time,
// a peer that does not read.
func isPeerFault(err error) bool {
	var de *wire.DecodeError
	return errors.Is(err, errProtocol) || errors.Is(err, channel.ErrPeerFault) ||
		errors.Is(err, ErrSlowReader) || errors.As(err, &de)
}

// linkCause turns the reason a connection's channel stopped into the reason
// the connection failed, in this package's terms.
func (l *link) linkCause(err error) error {
	var ve *wire.VersionError
	switch {
	case l.state == linkAwaitHello && errors.As(err, &ve):
		// The first frame's header already says the peer speaks another
		// version: that is the answer, whatever the rest would have said.
		return &VersionError{Local: l.node.version, Remote: ve.Peer}
	case errors.Is(err, channel.ErrBackpressure):
		return fmt.Errorf("%w: %w", ErrSlowReader, err)
	}
	return err
}
