package mage

import (
	"context"
	"fmt"
)

// SetProtocolVersionForTest makes n speak another protocol version, to test
// the handshake's version check.
func SetProtocolVersionForTest(n *Node, v uint16) { n.version = v }

// DelayAttachWaitForTest makes n's Connect call wait(dead) before it waits
// for the peer's attachments, dead being the connection's Done.
func DelayAttachWaitForTest(n *Node, wait func(dead <-chan struct{})) { n.beforeAttachWait = wait }

// WaitPortCount waits, without polling, until n holds want ports (see
// PortCount), or ctx ends. One waiter per node at a time.
func WaitPortCount(ctx context.Context, n *Node, want int) error {
	changed := make(chan struct{}, 1)
	n.mu.Lock()
	n.flushed = func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	n.unlock()
	defer func() {
		n.mu.Lock()
		n.flushed = nil
		n.unlock()
	}()
	for {
		got := n.PortCount()
		if got == want {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("node holds %d ports, want %d: %w", got, want, ctx.Err())
		}
	}
}
