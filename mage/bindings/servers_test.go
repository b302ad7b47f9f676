package bindings

import (
	"bytes"
	"runtime"
	"sync"
	"testing"
	"time"
)

// goroutineID returns the calling goroutine's id, from its stack's header.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := bytes.Cut(bytes.TrimPrefix(buf, []byte("goroutine ")), []byte(" "))
	return string(id)
}

// waitParked waits until n of p's servers wait for work.
func waitParked(t *testing.T, p *serverPool, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; runtime.Gosched() {
		p.mu.Lock()
		parked := len(p.idle)
		p.mu.Unlock()
		if parked == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the pool's goroutines wait, want %d", parked, n)
		}
	}
}

// waitEnded waits until every server of p has ended.
func waitEnded(t *testing.T, p *serverPool) {
	t.Helper()
	ended := make(chan struct{})
	go func() {
		p.live.Wait()
		close(ended)
	}()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the pool's goroutines did not end within 10 s")
	}
}

// TestServersReused: while a Receiver is bound, back-to-back functions,
// each handed over once the last has parked its goroutine, run on that
// one goroutine; when the last Receiver stops, it ends.
func TestServersReused(t *testing.T) {
	p := newServerPool()
	p.bind(1)
	const runs = 20
	ran := make(chan string, 1)
	ids := map[string]bool{}
	for range runs {
		p.run(func() { ran <- goroutineID() })
		ids[<-ran] = true
		waitParked(t, p, 1)
	}
	if len(ids) != 1 {
		t.Fatalf("%d functions in a row ran on %d goroutines, want one", runs, len(ids))
	}
	p.bind(-1)
	waitEnded(t, p)
}

// TestServersWaitingAreBounded: after a burst on more goroutines than
// maxIdleServers, only maxIdleServers of them wait; and a function that
// ends after the last Receiver stopped does not wait at all.
func TestServersWaitingAreBounded(t *testing.T) {
	p := newServerPool()
	p.bind(1)
	n := maxIdleServers + 3
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(n)
	for range n {
		p.run(func() {
			started.Done()
			<-release
		})
	}
	started.Wait() // n functions at once: n goroutines
	p.mu.Lock()
	if p.bells.Made() != 0 {
		t.Errorf("%d bells with %d goroutines serving and none waiting: a bell per serving goroutine", p.bells.Made(), n)
	}
	p.mu.Unlock()
	close(release)
	waitParked(t, p, maxIdleServers)
	// The others ended: a new burst of maxIdleServers reuses the waiting.
	// Each waiting one holds a bell, and no more bells exist: a burst of
	// serving goroutines holds no descriptor per goroutine.
	p.mu.Lock()
	if got := len(p.idle); got != maxIdleServers {
		t.Errorf("%d goroutines wait, want %d", got, maxIdleServers)
	}
	if p.bells.Made() > maxIdleServers {
		t.Errorf("%d bells with %d goroutines waiting", p.bells.Made(), len(p.idle))
	}
	p.mu.Unlock()

	hold := make(chan struct{})
	p.run(func() { <-hold })
	p.bind(-1) // the waiting end now; the running one when it is done
	close(hold)
	waitEnded(t, p)
	if len(p.idle) != 0 || p.bells.Made() != 0 {
		t.Fatalf("%d goroutines wait and %d bells are open with no Receiver bound", len(p.idle), p.bells.Made())
	}
}
