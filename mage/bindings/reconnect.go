package bindings

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/mage-ipc/mage/mage"
)

// Redial obtains a new pipe to a peer that went away and was started
// again: supervisor.Redial asks mage-run's Supervisor.Reconnect, a program
// that runs its own children asks its launcher. It may wait for the
// restart, until ctx ends.
type Redial func(ctx context.Context) (mage.MessagePipe, error)

// RemoteLike is what Reconnecting needs of a generated *FooRemote (which
// has these methods through its embedded *Remote).
type RemoteLike interface {
	Err() error
	Close() error
}

// Reconnecting holds a generated Remote to a peer that may be restarted,
// and binds a new one when the old one has disconnected. It replays
// nothing: calls in flight when the peer goes fail as on any Remote, with
// an error matching ErrDisconnected, and only calls made afterwards, on the
// Remote that Get returns then, go to the new peer. Whether a failed call
// is to be made again is the caller's to decide, as it knows whether the
// call is safe to repeat.
//
//	calc := bindings.NewReconnecting(p, calcpb.NewCalcRemote, supervisor.Redial(sup, "calc"))
//	defer calc.Close()
//	r, err := calc.Get(ctx)
//	if err != nil { ... }
//	sum, err := r.Add(ctx, 1, 2)
//
// All methods are safe for concurrent use.
type Reconnecting[R RemoteLike] struct {
	bind   func(mage.MessagePipe) R
	redial Redial

	// dialing is held while a new pipe is obtained, so that one caller
	// redials and the others wait for its Remote.
	dialing sync.Mutex
	// mu guards the fields below.
	mu      sync.Mutex
	current R
	// reconnects counts the Remotes bound after the first.
	reconnects int
	closed     bool
}

// NewReconnecting binds first with bind (a generated NewFooRemote) and
// redials with redial when the Remote has disconnected.
func NewReconnecting[R RemoteLike](first mage.MessagePipe, bind func(mage.MessagePipe) R, redial Redial) *Reconnecting[R] {
	return &Reconnecting[R]{bind: bind, redial: redial, current: bind(first)}
}

// Get returns the Remote to call: the current one while it is connected,
// else a new one on a pipe from redial (waiting for it until ctx ends). A
// Remote that Close or Unbind stopped is not replaced: its error is
// returned.
func (c *Reconnecting[R]) Get(ctx context.Context) (R, error) {
	var zero R
	c.mu.Lock()
	cur, closed := c.current, c.closed
	c.mu.Unlock()
	if closed {
		return zero, ErrReconnectingClosed
	}
	err := cur.Err()
	if err == nil {
		return cur, nil
	}
	if !errors.Is(err, ErrDisconnected) {
		return zero, err
	}
	c.dialing.Lock()
	defer c.dialing.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return zero, ErrReconnectingClosed
	}
	if any(c.current) != any(cur) {
		// Another caller reconnected meanwhile.
		cur = c.current
		c.mu.Unlock()
		return cur, nil
	}
	c.mu.Unlock()
	p, err := c.redial(ctx)
	if err != nil {
		return zero, fmt.Errorf("bindings: reconnect: %w", err)
	}
	fresh := c.bind(p)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = fresh.Close()
		return zero, ErrReconnectingClosed
	}
	old := c.current
	c.current = fresh
	c.reconnects++
	c.mu.Unlock()
	_ = old.Close()
	return fresh, nil
}

// Reconnects is the number of times Get bound a new Remote.
func (c *Reconnecting[R]) Reconnects() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reconnects
}

// Close closes the current Remote; Get fails afterwards.
func (c *Reconnecting[R]) Close() error {
	c.mu.Lock()
	c.closed = true
	cur := c.current
	c.mu.Unlock()
	return cur.Close()
}
