package bindings

import (
	"runtime"
	"sync"

	"github.com/mage-ipc/mage/mage/internal/wake"
)

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
var servers = newServerPool()

// newServerPool makes a serverPool whose waiting servers take their bells
// from a pool of at most maxIdleServers.
func newServerPool() *serverPool {
	p := &serverPool{newBell: wake.New}
	// The pool makes bells only in park's Get, under p.mu, which guards
	// newBell.
	p.bells = wake.Pool{Max: maxIdleServers, New: func() (*wake.Bell, error) { return p.newBell() }}
	return p
}

// setNewBell makes the pool make its bells with newBell from now on and
// returns the maker it had; tests make it fail, to run what a process out
// of descriptors runs. A server of an earlier test may park meanwhile:
// p.mu orders the two.
func (p *serverPool) setNewBell(newBell func() (*wake.Bell, error)) func() (*wake.Bell, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.newBell
	p.newBell = newBell
	return old
}

// serverPool is a set of goroutines that run functions handed to them and
// wait between them, at most maxIdleServers at a time, while a Receiver is
// bound in the process (receivers); when the last one stops, those waiting
// end, so that a process without Receivers holds none. No timer ends
// them: a linger timer reset at each park, and even one pool-wide timer
// kept armed, made a 16 B typed round trip across processes about a fifth
// slower (a pending timer costs the scheduler at every wake-up).
type serverPool struct {
	// mu guards the fields below and the servers' bell, next and quit.
	mu sync.Mutex
	// idle are the servers waiting for a function, the last parked last.
	idle []*server
	// receivers counts the Receivers bound and not stopped.
	receivers int
	// bells lends the waiting servers their bells, held while a Receiver
	// is bound: bells belong to waiting, not to servers, so that a burst
	// of Receivers serving at once (which another process's requests can
	// make) holds no descriptor per server.
	bells wake.Pool
	// newBell makes the bells of bells (wake.New but in tests).
	newBell func() (*wake.Bell, error)
	// live counts the servers that have not ended, for tests.
	live sync.WaitGroup
}

// server is one goroutine of a serverPool. While it waits it holds a bell
// of the pool's, and is woken through it (see package wake: a goroutine
// woken through the poller is run by the waking thread once that parks,
// where one woken through a channel makes the runtime wake a second
// thread, which cost a fifth of a cross-process typed round trip); when
// the pool has none for it, it waits on work.
type server struct {
	// bell, set while s waits on one, is rung when next or quit is set.
	bell *wake.Bell
	next func()
	quit bool
	// work, while s waits without a bell, receives the next function to
	// run, or nil to end; it has room for one, so that run never waits
	// for the server.
	work chan func()
}

// run runs fn on a server that waits, or on a new one.
func (p *serverPool) run(fn func()) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		s := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		bell := s.handLocked(fn)
		p.mu.Unlock()
		if bell != nil {
			bell.Ring()
		}
		return
	}
	p.live.Add(1)
	p.mu.Unlock()
	go (&server{}).loop(p, fn)
}

// handLocked gives s, which waits (it is off the idle list), its next
// function, or nil to end; it returns the bell to ring once the pool's mu
// is released, if s waits on one.
func (s *server) handLocked(fn func()) *wake.Bell {
	if s.bell == nil {
		s.work <- fn
		return nil
	}
	s.next, s.quit = fn, fn == nil
	return s.bell
}

// loop runs fn, then what it is handed while it waits, and ends when it
// may not wait (park) or is handed nil.
func (s *server) loop(p *serverPool, fn func()) {
	defer p.live.Done()
	for fn != nil {
		fn()
		if !p.park(s) {
			return
		}
		fn = s.wait(p)
	}
}

// wait waits for what handLocked gives s: on its bell, which may ring with
// nothing handed yet (a ring left over), so it checks and waits again;
// once handed something, it gives the bell back.
func (s *server) wait(p *serverPool) func() {
	for {
		p.mu.Lock()
		bell := s.bell
		if bell == nil {
			p.mu.Unlock()
			return <-s.work
		}
		if fn, quit := s.next, s.quit; fn != nil || quit {
			s.next, s.bell = nil, nil
			p.mu.Unlock()
			p.bells.Put(bell)
			return fn
		}
		p.mu.Unlock()
		if err := bell.Wait(); err != nil {
			// Only the pool closes a bell, and never one a server holds.
			panic("bindings: a serving goroutine's bell failed: " + err.Error())
		}
	}
}

// park puts s on the idle list, with a bell if the pool has or can make
// one, unless no Receiver is bound or enough servers wait already: then s
// is to end.
func (p *serverPool) park(s *server) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.receivers == 0 || len(p.idle) >= maxIdleServers {
		return false
	}
	s.bell = p.bells.Get()
	if s.bell == nil && s.work == nil {
		s.work = make(chan func(), 1)
	}
	p.idle = append(p.idle, s)
	return true
}

// bind counts a Receiver bound (delta 1) or stopped (-1); after the last
// one, the servers that wait end and the free bells are closed (the pool
// closes those the ending servers give back).
func (p *serverPool) bind(delta int) {
	p.mu.Lock()
	p.receivers += delta
	var ring []*wake.Bell
	if p.receivers == 0 {
		for _, s := range p.idle {
			if b := s.handLocked(nil); b != nil {
				ring = append(ring, b)
			}
		}
		p.idle = nil
	}
	p.mu.Unlock()
	p.bells.Hold(delta)
	for _, b := range ring {
		b.Ring()
	}
}
