package wake

import (
	"context"
	"os"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// A Bell's state says who touches the descriptor. Only a Ring that finds
// its waiter parked (waiting) writes to it, and only a Wait that was rung so
// writes it reads: a Ring before the Wait makes no system call on either
// side, and a Wait that must park makes exactly one read, after the poller
// has seen the write, where reading first (as os.File.Read does) costs a
// read that fails with EAGAIN on every wait.
const (
	bellIdle    uint32 = iota // no Wait in progress, no Ring since the last
	bellWaiting               // a Wait is parked, or about to be
	bellRung                  // rung since the last Wait returned
)

// Bell is a doorbell: Ring from any goroutine, Wait from one at a time. Its zero
// value is not usable; New makes one.
type Bell struct {
	// state is bellIdle, bellWaiting or bellRung.
	state atomic.Uint32
	// closed is set by Close; a Wait then fails at once.
	closed atomic.Bool
	// r is read by Wait through rraw; w is written by Ring (the same file
	// on Linux), through wraw, so that a write the descriptor cannot take
	// is dropped, not waited on: it has rung already.
	r, w       *os.File
	rraw, wraw syscall.RawConn
	// readFunc is b.readRung, made once.
	readFunc func(fd uintptr) bool
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
	rraw, err := r.SyscallConn()
	var wraw syscall.RawConn
	if err == nil {
		wraw, err = w.SyscallConn()
	}
	if err != nil {
		_ = r.Close()
		if w != r {
			_ = w.Close()
		}
		return nil, err
	}
	b := &Bell{r: r, w: w, rraw: rraw, wraw: wraw}
	b.ring = b.Ring
	b.readFunc = b.readRung
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

// Ring rings the bell; it never blocks. It writes to the descriptor only
// when a Wait is parked on it. A Ring on a closed Bell does nothing.
func (b *Bell) Ring() {
	for {
		switch b.state.Load() {
		case bellRung:
			return
		case bellIdle:
			if b.state.CompareAndSwap(bellIdle, bellRung) {
				return
			}
		case bellWaiting:
			if b.state.CompareAndSwap(bellWaiting, bellRung) {
				_ = b.wraw.Write(writeRing)
				return
			}
		}
	}
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
	if b.closed.Load() {
		return os.ErrClosed
	}
	if !b.state.CompareAndSwap(bellIdle, bellWaiting) {
		// Rung already: nothing was written, nothing to read.
		b.state.Store(bellIdle)
		return nil
	}
	err := b.rraw.Read(b.readFunc)
	if err != nil {
		// Left rung if a Ring came meanwhile: the next Wait returns at
		// once, and reads nothing (what was written stays, unread and
		// harmless: a read happens only after a ring, and drains all).
		b.state.CompareAndSwap(bellWaiting, bellIdle)
		if b.closed.Load() {
			// Close marks the bell before it closes the descriptor.
			return os.ErrClosed
		}
		return err
	}
	b.state.Store(bellIdle)
	return nil
}

// readRung is the RawConn callback of a parked Wait: it reports false, to
// have the poller wait, until a Ring has marked the bell rung and its
// write can be read. It makes no system call before the ring: the poller
// wakes it for the write, which comes after the mark.
func (b *Bell) readRung(fd uintptr) bool {
	if b.state.Load() != bellRung {
		return false
	}
	for {
		_, err := unix.Read(int(fd), b.drained[:])
		switch err {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // marked, not yet written
		}
		return true
	}
}

// Close releases the Bell's descriptors; a Wait in progress returns an
// error.
func (b *Bell) Close() error {
	b.closed.Store(true)
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
