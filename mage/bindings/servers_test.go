package bindings

import (
	"bytes"
	"runtime"
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

// TestServersLingerThenEnd: a function handed to the pool while one of its
// goroutines lingers runs on that goroutine, not a new one; a goroutine
// with nothing to do ends by itself; waitIdle returns once none is left.
func TestServersLingerThenEnd(t *testing.T) {
	var p serverPool
	ran := make(chan string, 1)
	p.run(func() { ran <- goroutineID() })
	first := <-ran
	// Wait until the goroutine has parked (it parks as soon as the
	// function returns), then hand it the next one.
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.mu.Lock()
		parked := len(p.idle)
		p.mu.Unlock()
		if parked == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the pool's goroutine never parked")
		}
		runtime.Gosched()
	}
	p.run(func() { ran <- goroutineID() })
	// The second may, on a slow machine, find the first gone (it lingers
	// only serverLinger): then it runs on a new goroutine, and only the
	// ending is checked.
	if second := <-ran; second != first {
		t.Logf("the second function ran on goroutine %s, the first on %s: the first had ended", second, first)
	}
	ended := make(chan struct{})
	go func() {
		p.live.Wait() // no waitIdle: the goroutine ends on its own
		close(ended)
	}()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatalf("the pool's goroutine did not end within 10 s of lingering %v", serverLinger)
	}
	p.waitIdle()
}

// TestServersReused: back-to-back functions, each handed over once the
// last has parked its goroutine, run on a goroutine that exists already.
func TestServersReused(t *testing.T) {
	var p serverPool
	defer p.waitIdle()
	const runs = 20
	ran := make(chan string, 1)
	ids := map[string]bool{}
	for range runs {
		p.run(func() { ran <- goroutineID() })
		ids[<-ran] = true
		// Wait for the goroutine to park. It lingers only 5 ms: on a
		// machine that stalls this test longer, it ends instead, and the
		// next function starts a new one.
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); runtime.Gosched() {
			p.mu.Lock()
			parked := len(p.idle)
			p.mu.Unlock()
			if parked == 1 {
				break
			}
		}
	}
	t.Logf("%d functions in a row ran on %d goroutines", runs, len(ids))
	if len(ids) == runs {
		t.Fatalf("%d functions in a row ran on %d goroutines: none was reused", runs, len(ids))
	}
}
