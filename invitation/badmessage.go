package invitation

import "github.com/mage-ipc/mage/mage"

// OnBadMessage sets fn to be called, on an I/O goroutine, for every message
// rejected from the invited process's node, from the first byte of the
// handshake on (mage.ConnectOptions.OnBadMessage): a report that comes
// before Send returns is not lost. It must be called before Send, and fn
// must not block.
func (inv *Invitation) OnBadMessage(fn func(err error)) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.onBad = fn
}

// OnPeer sets fn to be called with the invited process's node name as soon
// as its handshake names it, before the invitation's pipes are sent and so
// before that process can send anything on them
// (mage.ConnectOptions.OnPeer). It must be called before Send, and fn must
// not block.
func (inv *Invitation) OnPeer(fn func(mage.NodeName)) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.onPeer = fn
}
