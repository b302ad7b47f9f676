package mage

// No system call runs under Node.mu: frames are queued on a connection's
// channel under it (the channel only appends them), and the connection is
// noted as due; unlock releases the lock and then writes what each due
// connection queued, from the calling goroutine when the socket takes it,
// else through the channel's writer. Frames to one node keep their order,
// because every write takes the oldest queued bytes first, whichever
// goroutine makes it.

// markDueLocked notes that frames were queued on l under node.mu.
func (l *link) markDueLocked() {
	if l.due {
		return
	}
	l.due = true
	l.node.due = append(l.node.due, l)
}

// unlock releases n.mu and then writes the frames queued under it, and
// then calls the functions armed with MessagePipe.Notify that fired under
// it. Every n.mu.Lock is paired with unlock, so that none waits for a
// later one. While Close waits for the node to drain, the unlock after
// which it has drained wakes it.
func (n *Node) unlock() {
	if n.drainProgress != nil && n.drainedLocked() {
		n.drainedNowLocked()
	}
	first, rest := n.takeNotifiesLocked()
	defer runNotifies(first, rest)
	switch len(n.due) {
	case 0:
		n.mu.Unlock()
	case 1:
		// The common case, without an allocation: one connection.
		l := n.due[0]
		l.due = false
		n.due[0] = nil
		n.due = n.due[:0]
		n.mu.Unlock()
		l.ch.WritePending()
	default:
		due := make([]*link, len(n.due))
		copy(due, n.due)
		for i, l := range n.due {
			l.due = false
			n.due[i] = nil
		}
		n.due = n.due[:0]
		n.mu.Unlock()
		for _, l := range due {
			l.ch.WritePending()
		}
	}
}
