package mage

// Readiness notification: a binding that owns an end arms a function to be
// called once when the end has something to read, instead of keeping a
// goroutine parked on Ready. An idle Receiver then holds no goroutine, and a
// reply can be handed to its caller by the goroutine that delivered it.

// Notify arranges for f to be called once, the next time ReadMessage may
// have something new: a message, the peer's closure, or this end's own
// Close. It returns true when f is armed. It returns false, arming nothing,
// when ReadMessage would not return ErrNoMessage now (a message is queued,
// the peer has closed, the end is closed or moved, the node is closed, or p
// is the zero MessagePipe): read until ErrNoMessage, then call Notify again.
// Checking and arming are one step under the node's lock, so a message
// that arrives in between is never missed.
//
// At most one function is armed per end: Notify replaces the one armed
// before, and Notify(nil) disarms it (and returns false). A function fired
// by the same change as the disarming may still run once.
//
// f runs on the goroutine that made the end ready (the connection's reader
// for a message from another process, the writer for one from this node,
// the caller of Close), after the node's lock is released, so it may call
// any method of the pipe; it must return quickly and never wait for
// anything that needs another message of this node to arrive. Ready keeps
// working alongside: both are told of every change.
func (p MessagePipe) Notify(f func()) bool {
	if p.e == nil {
		return false
	}
	n := p.e.node
	n.mu.Lock()
	defer n.unlock()
	if f == nil || p.e.readyNowLocked() {
		p.e.notify = nil
		return false
	}
	p.e.notify = f
	return true
}

// fireNotifyLocked hands the armed function, if any, to be run once the
// node's lock is released (see unlock).
func (e *endpoint) fireNotifyLocked() {
	f := e.notify
	if f == nil {
		return
	}
	e.notify = nil
	e.node.runAfterUnlockLocked(f)
}

// runAfterUnlockLocked has f called once n.mu is released (see unlock),
// after what was handed over before it.
func (n *Node) runAfterUnlockLocked(f func()) {
	if n.notifyFirst == nil {
		n.notifyFirst = f
		return
	}
	n.notifyRest = append(n.notifyRest, f)
}

// takeNotifiesLocked takes the functions fired under the lock, in order,
// for unlock to call once it is released. Only more than one allocates.
func (n *Node) takeNotifiesLocked() (first func(), rest []func()) {
	first, rest = n.notifyFirst, n.notifyRest
	n.notifyFirst, n.notifyRest = nil, nil
	return first, rest
}

// runNotifies calls what takeNotifiesLocked took, with the lock released.
func runNotifies(first func(), rest []func()) {
	if first == nil {
		return
	}
	first()
	for _, f := range rest {
		f()
	}
}
