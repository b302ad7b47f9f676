package bindings

import (
	"runtime"
	"sync"
	"time"
)

// Receivers share the goroutines that serve them. A goroutine started per
// burst of requests cost more than a small request itself: its creation,
// and growing its stack to the depth of a reply's write (copystack, with
// its frame-by-frame unwinding), were a fifth of a callee's CPU per 16 B
// call. So a goroutine that has served a Receiver parks in servers and is
// handed the next Receiver that has requests, whichever it is; one parked
// for longer than serverIdle ends. An idle Receiver still holds no
// goroutine, and once every Receiver has been idle for a moment, neither
// does the process.

// serverIdle is how long a serving goroutine waits for work before it
// ends.
const serverIdle = 10 * time.Millisecond

// servers is the process's pool of parked serving goroutines.
var servers servePool

type servePool struct {
	// mu guards the fields below.
	mu sync.Mutex
	// idle holds the parked goroutines, the longest parked first.
	idle []*server
	// retiring is true while the goroutine that ends idle servers runs.
	retiring bool
}

// server is a serving goroutine of the pool.
type server struct {
	// work hands it a Receiver to serve, or nil to end; it has room for
	// one, so the sender never waits.
	work chan *Receiver
	// parked is when it last parked.
	parked time.Time
}

// serve runs r.serve on a parked goroutine, or a new one if none is.
func (p *servePool) serve(r *Receiver) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		s := p.idle[n-1] // the most recently parked: its stack is warm
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		s.work <- r
		return
	}
	p.mu.Unlock()
	s := &server{work: make(chan *Receiver, 1)}
	go s.run(r)
}

func (s *server) run(r *Receiver) {
	for r != nil {
		r.serve()
		if !servers.park(s) {
			return
		}
		r = <-s.work
	}
}

// park adds s to the idle servers, unless there are enough of them.
func (p *servePool) park(s *server) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) >= 2*runtime.GOMAXPROCS(0) {
		return false
	}
	s.parked = time.Now()
	p.idle = append(p.idle, s)
	if !p.retiring {
		p.retiring = true
		go p.retire()
	}
	return true
}

// retire ends the servers parked for longer than serverIdle, until none is
// parked.
func (p *servePool) retire() {
	t := time.NewTimer(serverIdle)
	defer t.Stop()
	for {
		<-t.C
		p.mu.Lock()
		cut := time.Now().Add(-serverIdle)
		n := 0
		for n < len(p.idle) && !p.idle[n].parked.After(cut) {
			p.idle[n].work <- nil
			n++
		}
		rest := copy(p.idle, p.idle[n:])
		clear(p.idle[rest:])
		p.idle = p.idle[:rest]
		if len(p.idle) == 0 {
			p.retiring = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		t.Reset(serverIdle)
	}
}
