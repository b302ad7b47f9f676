package invitation

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
