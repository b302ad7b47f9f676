package wake

import (
	"runtime"
	"sync"
)

// Pool lends Bells to waiters that wait one at a time each: at most Max
// exist at once, in use or free, since each is a descriptor; a waiter that
// gets none waits some other way. The free ones are kept while the Pool
// is held (Hold) and closed when it no longer is, so that a process that
// no longer waits keeps no descriptors.
type Pool struct {
	// Max bounds the Bells made and not closed; New, when set, makes them
	// (tests make it fail), else the package's New.
	Max int
	New func() (*Bell, error)

	// mu guards the fields below.
	mu sync.Mutex
	// free are the Bells no one uses.
	free []*Bell
	// made counts the Bells made and not closed.
	made int
	// holders counts Hold(1) not yet undone by Hold(-1).
	holders int
}

// Get returns a free Bell or a new one, or nil when Max are in use, none
// can be made, or the Pool is not held.
func (p *Pool) Get() *Bell {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		return b
	}
	if p.made >= p.Max || p.holders == 0 {
		return nil
	}
	mk := p.New
	if mk == nil {
		mk = New
	}
	b, err := mk()
	if err != nil {
		return nil
	}
	p.made++
	return b
}

// Put gives back a Bell that Get returned, once its user is done with
// it. It may still be rung for that use (the ringer had it in hand): the
// next user sees one ring without cause.
func (p *Pool) Put(b *Bell) {
	p.mu.Lock()
	if p.holders > 0 {
		p.free = append(p.free, b)
		p.mu.Unlock()
		return
	}
	p.made--
	p.mu.Unlock()
	_ = b.Close()
}

// Hold counts a holder in (delta 1) or out (-1): while the Pool has one,
// it keeps its free Bells; after the last leaves, they are closed.
func (p *Pool) Hold(delta int) {
	p.mu.Lock()
	p.holders += delta
	var free []*Bell
	if p.holders == 0 {
		free, p.free = p.free, nil
		p.made -= len(free)
	}
	p.mu.Unlock()
	for _, b := range free {
		_ = b.Close()
	}
}

// Made reports how many Bells exist, in use or free.
func (p *Pool) Made() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.made
}

// Waiters is the process's Pool for goroutines that wait for one thing at
// a time (a call for its reply, a reader for its pipe's next message):
// held by every open Node and Remote, at most 16 Bells, or 4 per CPU where
// that is more.
var Waiters = Pool{Max: max(16, 4*runtime.GOMAXPROCS(0))}
