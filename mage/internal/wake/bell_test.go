package wake

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testBell(t *testing.T) *Bell {
	t.Helper()
	b, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// bothKinds returns an eventfd bell and a pipe bell (what New makes where
// there is no eventfd), closed when the test ends.
func bothKinds(t *testing.T) []*Bell {
	t.Helper()
	pipe, err := newPipeBell()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pipe.Close() })
	return []*Bell{testBell(t), pipe}
}

func TestRingsCoalesceIntoOneWait(t *testing.T) {
	b := testBell(t)
	for range 3 {
		b.Ring()
	}
	if err := b.Wait(); err != nil {
		t.Fatal(err)
	}
	// Nothing is left to read.
	if n := unread(t, b); n != 0 {
		t.Fatalf("after 3 rings and a Wait, %d bytes are left to read", n)
	}
}

// unread reads, without waiting, what b's descriptor holds, and returns
// how many bytes that was.
func unread(t *testing.T, b *Bell) int {
	t.Helper()
	var n int
	var rerr error
	err := b.rraw.Read(func(fd uintptr) bool {
		var buf [64]byte
		n, rerr = unix.Read(int(fd), buf[:])
		return true
	})
	switch {
	case err != nil:
		t.Fatal(err)
	case rerr == unix.EAGAIN:
		return 0
	case rerr != nil:
		t.Fatal(rerr)
	}
	return n
}

// TestEveryRingIsSeenByTheWaiter: two goroutines take 1000 turns each,
// each ringing the other's bell when its turn is done and waiting on its
// own otherwise: a lost ring would hang the test (and go test's timeout
// fails it).
func TestEveryRingIsSeenByTheWaiter(t *testing.T) {
	even, odd := testBell(t), testBell(t)
	var mu sync.Mutex
	turn := 0
	// takeTurns plays the turns of parity mine: it waits on its own bell
	// and rings the other's.
	takeTurns := func(mine int, own, other *Bell) error {
		for taken := 0; taken < 1000; {
			mu.Lock()
			if turn%2 == mine {
				turn++
				taken++
				mu.Unlock()
				other.Ring()
				continue
			}
			mu.Unlock()
			if err := own.Wait(); err != nil {
				return err
			}
		}
		return nil
	}
	oddDone := make(chan error, 1)
	go func() { oddDone <- takeTurns(1, odd, even) }()
	if err := takeTurns(0, even, odd); err != nil {
		t.Fatal(err)
	}
	if err := <-oddDone; err != nil {
		t.Fatal(err)
	}
	if turn != 2000 {
		t.Fatalf("turn %d, want 2000", turn)
	}
}

func TestCloseEndsAWait(t *testing.T) {
	b, err := New()
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- b.Wait() }()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-waited; !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Wait on a closed bell: %v, want os.ErrClosed", err)
	}
	b.Ring() // does nothing, and does not panic
}

// TestWatchContext: the end of a watched context rings the bell, the watch
// moves to the next context watched, and watching the same context again
// registers nothing new (no allocation).
func TestWatchContext(t *testing.T) {
	b := testBell(t)
	first, cancelFirst := context.WithCancel(context.Background())
	defer cancelFirst()
	b.WatchContext(first)
	if allocs := testing.AllocsPerRun(100, func() { b.WatchContext(first) }); allocs != 0 {
		t.Fatalf("watching the same context again allocates %.1f times", allocs)
	}
	second, cancelSecond := context.WithCancel(context.Background())
	b.WatchContext(second)
	cancelSecond()
	if err := b.Wait(); err != nil {
		t.Fatal(err)
	}
	b.WatchContext(context.Background()) // never ends: nothing to watch
}

// TestRingNeverBlocks: rings beyond what the descriptor holds (a pipe's
// buffer, where bells are pipes) are dropped, not waited on, and the bell
// still wakes its waiter.
func TestRingNeverBlocks(t *testing.T) {
	for _, b := range bothKinds(t) {
		for range 100000 { // more bytes than a pipe's buffer holds
			b.Ring()
		}
		if err := b.Wait(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRingBeforeWaitWritesNothing: a Ring with no Wait parked marks the
// bell and writes nothing (so the Wait that follows reads nothing either):
// the descriptor stays empty, and the Wait returns at once.
func TestRingBeforeWaitWritesNothing(t *testing.T) {
	for _, b := range bothKinds(t) {
		b.Ring()
		if n := unread(t, b); n != 0 {
			t.Fatalf("%s: a Ring with no Wait parked wrote %d bytes", b.r.Name(), n)
		}
		if err := b.Wait(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestParkedWaitDrainsTheRing: a Wait that parks is woken by a Ring from
// another goroutine, and reads what that Ring wrote, so the next Wait
// parks again.
func TestParkedWaitDrainsTheRing(t *testing.T) {
	b := testBell(t)
	for range 100 {
		parked := make(chan struct{})
		waited := make(chan error, 1)
		go func() {
			close(parked)
			waited <- b.Wait()
		}()
		<-parked
		// Whether the Wait has parked yet or not, it returns.
		b.Ring()
		if err := <-waited; err != nil {
			t.Fatal(err)
		}
	}
	if n := unread(t, b); n != 0 {
		t.Fatalf("after every ring was waited for, %d bytes are left to read", n)
	}
}
