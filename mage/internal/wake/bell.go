package wake

import (
	"context"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Bell is a doorbell: Ring from any goroutine, Wait from one at a time. Its zero
// value is not usable; New makes one.
type Bell struct {
	// r is read by Wait; w is written by Ring (the same file on Linux),
	// through wraw, so that a write the descriptor cannot take (a pipe
	// full of rings no one has waited for) is dropped, not waited on: it
	// has rung already.
	r, w *os.File
	wraw syscall.RawConn
	// drained is what Wait reads into: a field, so that no buffer is
	// allocated per Wait (one waiter at a time).
	drained [64]byte
	// watched is the Done channel of the context last watched, and
	// unwatch undoes that watch (see WatchContext); only the Bell's user
	// of the moment touches them.
	watched <-chan struct{}
	unwatch func() bool
	// ring is b.Ring, made once (a method value made at each use would
	// allocate).
	ring func()
}

// RingFunc returns b.Ring as a function value that costs nothing to hand
// around.
func (b *Bell) RingFunc() func() {
	return b.ring
}

// newBell makes a Bell of its files.
func newBell(r, w *os.File) (*Bell, error) {
	wraw, err := w.SyscallConn()
	if err != nil {
		_ = r.Close()
		if w != r {
			_ = w.Close()
		}
		return nil, err
	}
	b := &Bell{r: r, w: w, wraw: wraw}
	b.ring = b.Ring
	return b, nil
}

// WatchContext makes the end of ctx ring b. The watch is kept, and
// replaced only by a watch of a context with another Done channel: a
// waiter that waits with one context again and again registers with it
// once (a registration allocates), and a ring from a context watched
// earlier is one of the rings a waiter must expect without cause. A
// context that never ends needs no watch.
func (b *Bell) WatchContext(ctx context.Context) {
	done := ctx.Done()
	if done == nil || done == b.watched {
		return
	}
	if b.unwatch != nil {
		b.unwatch()
	}
	b.watched, b.unwatch = done, context.AfterFunc(ctx, b.ring)
}

// Ring rings the bell; it never blocks. A Ring on a closed Bell does
// nothing.
func (b *Bell) Ring() {
	_ = b.wraw.Write(writeRing)
}

// writeRing makes Ring's one attempt at the write: done whatever the
// outcome (EAGAIN means the bell has rung and no one has waited yet).
func writeRing(fd uintptr) bool {
	for {
		_, err := unix.Write(int(fd), ringBytes[:])
		if err != unix.EINTR {
			return true
		}
	}
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
	if b.unwatch != nil {
		b.unwatch()
	}
	err := b.r.Close()
	if b.w != b.r {
		if werr := b.w.Close(); err == nil {
			err = werr
		}
	}
	return err
}

// newPipeBell makes a Bell from a pipe (os.Pipe's ends go to the poller):
// what New makes where there is no eventfd.
func newPipeBell() (*Bell, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	return newBell(r, w)
}
