package bindings

import (
	"context"
	"runtime"
	"sync"

	"github.com/mage-ipc/mage/mage/internal/wake"
)

// makeBell makes the bells of calls and servers; tests make it fail, to
// run what a process out of descriptors runs.
var makeBell = wake.New

// maxCallBells bounds the bells that calls wait on, in use and free
// together: each is a descriptor. A call that finds none waits on its
// channel alone, as fast as before bells, and as correct.
var maxCallBells = max(16, 4*runtime.GOMAXPROCS(0))

// callBells are the bells that Remote calls wait on for their replies (see
// package wake: a caller woken through the poller runs on the thread of
// the connection's reader once it parks, where one woken through its
// channel made the runtime wake a second thread, about half of a 16 B
// round trip between two processes on 2 CPUs). They are kept while a
// Remote is open in the process and closed after the last one stops.
var callBells bellPool

// bellPool hands out callBells, at most maxCallBells at once.
type bellPool struct {
	// mu guards the fields below.
	mu sync.Mutex
	// free are the bells no call uses.
	free []*callBell
	// made counts the bells made and not closed, free or in use.
	made int
	// remotes counts the Remotes open.
	remotes int
}

// callBell is a bell and the context whose end rings it.
type callBell struct {
	bell *wake.Bell
	// done is the Done channel of the context last watched, and stop
	// undoes that watch. Kept from call to call: a caller that makes its
	// calls with one context registers with it once, not per call (which
	// would allocate).
	done <-chan struct{}
	stop func() bool
}

// get returns a free bell, a new one, or nil when maxCallBells are in use
// or none can be made.
func (p *bellPool) get() *callBell {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		return b
	}
	if p.made >= maxCallBells || p.remotes == 0 {
		return nil
	}
	bell, err := makeBell()
	if err != nil {
		return nil
	}
	p.made++
	return &callBell{bell: bell}
}

// put gives back a bell that get returned, once no one rings it for the
// call that used it but a watch of an ended context (which rings a bell
// spuriously, and a waiter checks its condition again).
func (p *bellPool) put(b *callBell) {
	p.mu.Lock()
	if p.remotes > 0 {
		p.free = append(p.free, b)
		p.mu.Unlock()
		return
	}
	p.made--
	p.mu.Unlock()
	b.close()
}

// open counts a Remote made (delta 1) or stopped (-1); after the last one
// stops, the free bells are closed.
func (p *bellPool) open(delta int) {
	p.mu.Lock()
	p.remotes += delta
	var free []*callBell
	if p.remotes == 0 {
		free, p.free = p.free, nil
		p.made -= len(free)
	}
	p.mu.Unlock()
	for _, b := range free {
		b.close()
	}
}

// watch makes the end of ctx ring b (a context that never ends needs
// nothing).
func (b *callBell) watch(ctx context.Context) {
	done := ctx.Done()
	if done == nil || done == b.done {
		return
	}
	if b.stop != nil {
		b.stop()
	}
	b.done, b.stop = done, context.AfterFunc(ctx, b.bell.Ring)
}

// close undoes the watch and closes the bell.
func (b *callBell) close() {
	if b.stop != nil {
		b.stop()
	}
	_ = b.bell.Close()
}
