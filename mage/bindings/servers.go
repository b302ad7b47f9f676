package bindings

import (
	"runtime"
	"sync"

	"github.com/mage-ipc/mage/mage/internal/wake"
)

// makeBell makes a serving goroutine's bell; tests make it fail, to run
// what a process out of descriptors runs.
var makeBell = wake.New

// maxIdleServers is how many serving goroutines may wait for work at once
// while a Receiver is bound: enough for the Receivers of a busy process to
// be served without starting goroutines (8 callers on 8 Remotes lost an
// eighth of their calls a second with 2), and a bound on what a past
// burst leaves waiting (each a goroutine's stack).
var maxIdleServers = max(16, 4*runtime.GOMAXPROCS(0))

// servers are the process's serving goroutines, shared by every Receiver:
// Receiver.wake hands its serve function to one that waits (the one that
// parked last, whose stack is warmest), or starts one. A burst of
// requests to any Receiver then runs on a goroutine that exists already,
// with the stack it grew serving the last one: no goroutine start, no
// stack growth to the depth of a reply's write (both were a fifth of the
// callee's CPU in a 16 B round trip). There are never more than the
// Receivers serving at once, plus maxIdleServers waiting.
var servers serverPool

// serverPool is a set of goroutines that run functions handed to them and
// wait between them, at most maxIdleServers at a time, while a Receiver is
// bound in the process (receivers); when the last one stops, those waiting
// end, so that a process without Receivers holds none. No timer ends
// them: a linger timer reset at each park, and even one pool-wide timer
// kept armed, made a 16 B typed round trip across processes about a fifth
// slower (a pending timer costs the scheduler at every wake-up).
type serverPool struct {
	// mu guards idle and receivers.
	mu sync.Mutex
	// idle are the servers waiting for a function, the last parked last.
	idle []*server
	// receivers counts the Receivers bound and not stopped.
	receivers int
	// live counts the servers that have not ended, for tests.
	live sync.WaitGroup
}

// server is one goroutine of a serverPool. It waits for work on its bell
// (see package wake: a goroutine woken through the poller is run by the
// waking thread once that parks, where one woken through a channel makes
// the runtime wake a second thread, which cost a fifth of a cross-process
// typed round trip), or, if it could not make one, on work.
type server struct {
	// bell, when not nil, is rung when next or quit is set (under the
	// pool's mu).
	bell *wake.Bell
	next func()
	quit bool
	// work, when bell is nil, receives the next function to run, or nil to
	// end; it has room for one, so that run never waits for the server.
	work chan func()
}

// run runs fn on a server that waits, or on a new one.
func (p *serverPool) run(fn func()) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		s := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		s.hand(fn)
		p.mu.Unlock()
		s.ring()
		return
	}
	p.live.Add(1)
	p.mu.Unlock()
	s := newServer()
	go s.loop(p, fn)
}

// newServer makes a server with a bell, or with a channel when no bell
// can be made (the process is out of descriptors).
func newServer() *server {
	if bell, err := makeBell(); err == nil {
		return &server{bell: bell}
	}
	return &server{work: make(chan func(), 1)}
}

// hand gives s its next function, or nil to end; the pool's mu is held,
// and s waits (it is off the idle list). ring then wakes it.
func (s *server) hand(fn func()) {
	if s.bell == nil {
		s.work <- fn
		return
	}
	s.next, s.quit = fn, fn == nil
}

// ring wakes s after hand, once the pool's mu is released.
func (s *server) ring() {
	if s.bell != nil {
		s.bell.Ring()
	}
}

// loop runs fn, then what it is handed while it waits, and ends when it
// may not wait (park) or is handed nil.
func (s *server) loop(p *serverPool, fn func()) {
	defer p.live.Done()
	if s.bell != nil {
		defer s.bell.Close()
	}
	for fn != nil {
		fn()
		if !p.park(s) {
			return
		}
		fn = s.wait(p)
	}
}

// wait waits for what hand gives s: on the bell, which may ring with
// nothing handed yet (a ring left over), so it checks and waits again.
func (s *server) wait(p *serverPool) func() {
	if s.bell == nil {
		return <-s.work
	}
	for {
		p.mu.Lock()
		fn, quit := s.next, s.quit
		s.next = nil
		p.mu.Unlock()
		if fn != nil || quit {
			return fn
		}
		if err := s.bell.Wait(); err != nil {
			// Only Close makes a bell fail, and only loop closes it.
			panic("bindings: a serving goroutine's bell failed: " + err.Error())
		}
	}
}

// park puts s on the idle list, unless no Receiver is bound or enough
// servers wait already: then s is to end.
func (p *serverPool) park(s *server) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.receivers == 0 || len(p.idle) >= maxIdleServers {
		return false
	}
	p.idle = append(p.idle, s)
	return true
}

// bind counts a Receiver bound (delta 1) or stopped (-1); after the last
// one, the servers that wait end.
func (p *serverPool) bind(delta int) {
	p.mu.Lock()
	p.receivers += delta
	var idle []*server
	if p.receivers == 0 {
		idle, p.idle = p.idle, nil
		for _, s := range idle {
			s.hand(nil)
		}
	}
	p.mu.Unlock()
	for _, s := range idle {
		s.ring()
	}
}
