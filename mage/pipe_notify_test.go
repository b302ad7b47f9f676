package mage_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mage-ipc/mage/mage"
)

// TestNotifyFiresOnceWhenReadable: Notify arms on an empty end, refuses to
// arm while something is readable, and fires once however many messages
// come.
func TestNotifyFiresOnceWhenReadable(t *testing.T) {
	n := mage.NewNode(mage.NodeOptions{})
	defer n.Close()
	a, b := n.CreatePipe()
	var fired atomic.Int32
	if !b.Notify(func() { fired.Add(1) }) {
		t.Fatal("Notify on an empty end did not arm")
	}
	for i := range 3 {
		if err := a.WriteMessage(&mage.Message{Payload: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := fired.Load(); got != 1 {
		t.Fatalf("fired %d times for 3 messages, want once", got)
	}
	if b.Notify(func() { t.Error("armed on a readable end fired") }) {
		t.Fatal("Notify armed while messages are queued")
	}
	for range 3 {
		if _, err := b.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}
	if !b.Notify(func() { fired.Add(1) }) {
		t.Fatal("Notify on a drained end did not arm")
	}
	// Disarmed: the next message fires nothing.
	if b.Notify(nil) {
		t.Fatal("Notify(nil) reported armed")
	}
	if err := a.WriteMessage(&mage.Message{}); err != nil {
		t.Fatal(err)
	}
	if got := fired.Load(); got != 1 {
		t.Fatalf("a disarmed Notify fired: %d calls", got)
	}
}

// TestNotifyOnClosures: the peer's closure and this end's own Close fire the
// armed function; a closed, moved or invalid end never arms.
func TestNotifyOnClosures(t *testing.T) {
	n := mage.NewNode(mage.NodeOptions{})
	defer n.Close()

	a, b := n.CreatePipe()
	fired := make(chan struct{}, 1)
	if !b.Notify(func() { fired <- struct{}{} }) {
		t.Fatal("did not arm")
	}
	a.Close()
	<-fired // Close made b ready on this goroutine: no wait needed
	if _, err := b.ReadMessage(); !errors.Is(err, mage.ErrPeerClosed) {
		t.Fatalf("read after the peer closed: %v, want ErrPeerClosed", err)
	}
	if b.Notify(func() {}) {
		t.Fatal("armed on an end whose peer closed")
	}

	c, d := n.CreatePipe()
	defer d.Close()
	if !c.Notify(func() { fired <- struct{}{} }) {
		t.Fatal("did not arm")
	}
	c.Close()
	<-fired
	if c.Notify(func() {}) {
		t.Fatal("armed on a closed end")
	}

	if (mage.MessagePipe{}).Notify(func() {}) {
		t.Fatal("armed on the zero MessagePipe")
	}

	e, f := n.CreatePipe()
	g, h := n.CreatePipe()
	defer h.Close()
	defer f.Close()
	if err := g.WriteMessage(&mage.Message{Pipes: []mage.MessagePipe{e}}); err != nil {
		t.Fatal(err)
	}
	if e.Notify(func() {}) {
		t.Fatal("armed on an end that was sent away")
	}
}

// TestNotifyMayReadAndRearm: the armed function runs with the node's lock
// released, so it may read the pipe and arm itself again, the way the
// bindings use it.
func TestNotifyMayReadAndRearm(t *testing.T) {
	forEachHarness(t, func(t *testing.T, start harness) {
		parent := mage.NewNode(mage.NodeOptions{})
		defer parent.Close()
		a, p := parent.CreatePipe()
		pr := start(t, parent, "echo", p)

		const count = 2000
		var mu sync.Mutex
		var got []int
		done := make(chan error, 1)
		var onReady func()
		onReady = func() {
			for {
				m, err := a.ReadMessage()
				if errors.Is(err, mage.ErrNoMessage) {
					if a.Notify(onReady) {
						return
					}
					continue
				}
				if err != nil {
					done <- err
					return
				}
				mu.Lock()
				got = append(got, int(m.RequestID))
				full := len(got) == count
				mu.Unlock()
				if full {
					done <- nil
					return
				}
			}
		}
		if !a.Notify(onReady) {
			t.Fatal("did not arm")
		}
		for i := range count {
			if err := a.WriteMessage(&mage.Message{RequestID: uint64(i)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for i, id := range got {
			if id != i {
				t.Fatalf("message %d has id %d: out of order", i, id)
			}
		}
		a.Close()
		if err := pr.wait(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestNotifyLosesNoWakeUp: a reader that waits only through Notify, never
// Ready, against concurrent writers on another goroutine, sees every
// message: checking and arming are one step.
func TestNotifyLosesNoWakeUp(t *testing.T) {
	for round := range 50 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			n := mage.NewNode(mage.NodeOptions{})
			defer n.Close()
			a, b := n.CreatePipe()
			const writers, each = 4, 250
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						if err := a.WriteMessage(&mage.Message{Method: uint32(w), RequestID: uint64(i)}); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wake := make(chan struct{}, 1)
			notify := func() {
				select {
				case wake <- struct{}{}:
				default:
				}
			}
			nextID := make([]uint64, writers)
			for seen := 0; seen < writers*each; {
				m, err := b.ReadMessage()
				if errors.Is(err, mage.ErrNoMessage) {
					if b.Notify(notify) {
						<-wake // a lost wake-up hangs here, and the test times out
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if m.RequestID != nextID[m.Method] {
					t.Fatalf("writer %d: got message %d, want %d", m.Method, m.RequestID, nextID[m.Method])
				}
				nextID[m.Method]++
				seen++
			}
			wg.Wait()
		})
	}
}
