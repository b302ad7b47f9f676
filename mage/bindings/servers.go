package bindings

import (
	"sync"
	"time"
)

// serverLinger is how long a serving goroutine waits, once its Receiver's
// pipe is empty, for another Receiver to serve before it ends. A burst of
// requests to any Receiver of the process within it runs on a goroutine
// that exists already, with the stack it grew serving the last one: no
// goroutine start, no stack growth to the depth of a reply's write (both
// were a fifth of the callee's CPU in a 16 B round trip). Past it, the
// goroutine ends, so that idle Receivers still hold none.
const serverLinger = 5 * time.Millisecond

// servers are the process's serving goroutines, shared by every Receiver:
// Receiver.wake hands its serve function to one that waits (the one that
// parked last, whose stack is warmest), or starts one. There are never
// more than the Receivers serving at once, plus those lingering.
var servers serverPool

// serverPool is a set of goroutines that run functions handed to them and
// linger for serverLinger between them.
type serverPool struct {
	// mu guards idle.
	mu sync.Mutex
	// idle are the servers waiting for a function, the last parked last.
	idle []*server
	// live counts the servers that have not ended, for waitIdle.
	live sync.WaitGroup
}

// server is one goroutine of a serverPool.
type server struct {
	// work receives the next function to run, or nil to end; it has room
	// for one, so that run never waits for the server.
	work chan func()
	// linger ends a wait for work; it is reused for every wait.
	linger *time.Timer
}

// run runs fn on a server that waits, or on a new one.
func (p *serverPool) run(fn func()) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		s := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		s.work <- fn
		return
	}
	p.live.Add(1)
	p.mu.Unlock()
	s := &server{work: make(chan func(), 1), linger: time.NewTimer(serverLinger)}
	s.linger.Stop()
	go s.loop(p, fn)
}

// loop runs fn, then what it is handed while it lingers, and ends once it
// has waited serverLinger for nothing.
func (s *server) loop(p *serverPool, fn func()) {
	defer p.live.Done()
	for fn != nil {
		fn()
		fn = p.park(s)
	}
}

// park waits for s's next function: nil when it is to end.
func (p *serverPool) park(s *server) func() {
	p.mu.Lock()
	p.idle = append(p.idle, s)
	p.mu.Unlock()
	s.linger.Reset(serverLinger)
	select {
	case fn := <-s.work:
		s.linger.Stop()
		return fn
	case <-s.linger.C:
	}
	p.mu.Lock()
	for i, t := range p.idle {
		if t == s {
			last := len(p.idle) - 1
			copy(p.idle[i:], p.idle[i+1:])
			p.idle[last] = nil
			p.idle = p.idle[:last]
			p.mu.Unlock()
			return nil
		}
	}
	p.mu.Unlock()
	// run took s off the list as the timer fired: its function is on
	// its way.
	return <-s.work
}

// waitIdle ends the servers that wait, and waits until every server has
// ended: those serving now end once they have lingered. It is for tests,
// which must see no goroutine of the bindings once their Receivers are
// done; it must not run while Receivers keep serving.
func (p *serverPool) waitIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, s := range idle {
		s.work <- nil
	}
	p.live.Wait()
}
