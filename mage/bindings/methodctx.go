package bindings

import (
	"context"
	"sync"
	"time"
)

// methodContext is the context of a method with a reply whose caller set
// no deadline. It ends when the caller cancels, its end closes, the
// Receiver is closed, or the method returns. It does what
// context.WithCancel(r.ctx) did in one allocation instead of two, and makes
// its done channel only if the method asks for it: the Receiver cancels it
// itself (Close cancels the running call's, see aheadCall) instead of
// registering it with a parent. It carries no values, as the Receiver's
// own context carries none.
type methodContext struct {
	// mu guards the fields below.
	mu   sync.Mutex
	done chan struct{}
	err  error
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
