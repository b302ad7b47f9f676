package mage

import (
	"context"
	"fmt"

	"github.com/mage-ipc/mage/mage/internal/wake"
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

// WaitingReaders is how many goroutines wait in p.WaitMessage.
func WaitingReaders(p MessagePipe) int {
	n := p.e.node
	n.mu.Lock()
	defer n.unlock()
	return len(n.readers[p.e])
}

// WaitMessageWithoutBellsForTest makes WaitMessage find no bell to borrow
// until the returned function is called, as in a process out of
// descriptors: it waits on a channel of its own.
func WaitMessageWithoutBellsForTest() (restore func()) {
	saved := readerBells.Swap(&wake.Pool{}) // held by no one: lends nothing
	return func() { readerBells.Store(saved) }
}
