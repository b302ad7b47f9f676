package bindings

import (
	"context"
	"sync"
	"time"
)

// methodContext is the context of a method with a reply whose caller set
// no deadline. It ends when the caller cancels, its end closes, the
// Receiver is closed, or the method returns. It does what
// context.WithCancel(r.ctx) did in a 64th of an allocation instead of two
// (see newMethodContext), and makes its done channel only if the method
// asks for it: the Receiver cancels it
// itself (Close cancels the running call's, see aheadCall) instead of
// registering it with a parent. It carries no values, as the Receiver's
// own context carries none.
type methodContext struct {
	// mu guards the fields below.
	mu   sync.Mutex
	done chan struct{}
	err  error
}

// methodContextBlock is how many methodContexts are allocated together.
// A context may outlive its method (an implementation may keep it, or
// hand it to a goroutine that outlives the call), so none is ever reused:
// they are only allocated in blocks, one allocation per 64 calls, shared
// by every Receiver of the process. A block stays alive while any of its
// contexts does: 2 KiB held by one kept context at most.
const methodContextBlock = 64

// methodContexts is the block the next methodContexts come from.
var methodContexts struct {
	mu    sync.Mutex
	block []methodContext
}

// newMethodContext returns a fresh methodContext, never used before.
func newMethodContext() *methodContext {
	methodContexts.mu.Lock()
	defer methodContexts.mu.Unlock()
	if len(methodContexts.block) == 0 {
		methodContexts.block = make([]methodContext, methodContextBlock)
	}
	c := &methodContexts.block[0]
	methodContexts.block = methodContexts.block[1:]
	return c
}

func (c *methodContext) Deadline() (time.Time, bool) { return time.Time{}, false }

func (c *methodContext) Value(any) any { return nil }

func (c *methodContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		}
	}
	return c.done
}

func (c *methodContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// cancel ends the context with context.Canceled; later calls do nothing.
func (c *methodContext) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = context.Canceled
	if c.done != nil {
		close(c.done)
	}
}

func (c *methodContext) String() string { return "bindings.methodContext" }
