package wake

import "os"

// Bell is a doorbell: Ring from any goroutine, Wait from one at a time. Its zero
// value is not usable; New makes one.
type Bell struct {
	// r is read by Wait; w is written by Ring (the same file on Linux).
	r, w *os.File
	// drained is what Wait reads into: a field, so that no buffer is
	// allocated per Wait (one waiter at a time).
	drained [64]byte
}

// Ring rings the bell; it never blocks. A Ring on a closed Bell does
// nothing.
func (b *Bell) Ring() {
	_, _ = b.w.Write(ringBytes[:])
}

// Wait waits until the bell has rung since the last Wait returned, and
// clears it. It may return without a ring (see the package doc); it
// returns an error once the Bell is closed.
func (b *Bell) Wait() error {
	_, err := b.r.Read(b.drained[:])
	return err
}

// Close releases the Bell's descriptors; a Wait in progress returns an
// error.
func (b *Bell) Close() error {
	err := b.r.Close()
	if b.w != b.r {
		if werr := b.w.Close(); err == nil {
			err = werr
		}
	}
	return err
}
