package bindings

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage"
)

// pipeAcrossNodes returns the two ends of a pipe between two nodes joined
// by a socketpair, so that messages arrive on the connection's reader
// goroutine, as from another process.
func pipeAcrossNodes(t testing.TB) (mage.MessagePipe, mage.MessagePipe) {
	t.Helper()
	ca, cb, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	na, nb := mage.NewNode(mage.NodeOptions{}), mage.NewNode(mage.NodeOptions{})
	t.Cleanup(func() { na.Close(); nb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, p := na.CreatePipe()
	got := make(chan mage.MessagePipe, 1)
	errs := make(chan error, 1)
	go func() {
		c, err := nb.Connect(ctx, cb, mage.ConnectOptions{AsBroker: true})
		if err != nil {
			errs <- err
			return
		}
		b, _ := c.Pipe("p")
		got <- b
	}()
	if _, err := na.Connect(ctx, ca, mage.ConnectOptions{Attach: map[string]mage.MessagePipe{"p": p}}); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		return a, b
	case err := <-errs:
		t.Fatal(err)
	}
	panic("unreachable")
}

// pipeMakers make a pipe in one node and across two.
var pipeMakers = map[string]func(t testing.TB) (mage.MessagePipe, mage.MessagePipe){
	"one-node":     func(testing.TB) (mage.MessagePipe, mage.MessagePipe) { return mage.CreatePipe() },
	"across-nodes": pipeAcrossNodes,
}

// TestIdleBindingsHoldNoGoroutine: Receivers and Remotes that have served
// calls and wait for more hold no goroutine, in one node and across two.
func TestIdleBindingsHoldNoGoroutine(t *testing.T) {
	for name, mk := range pipeMakers {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			a, b := mk(t)
			// Whatever runs now (the nodes' connection readers) is not the
			// bindings'.
			before := goleak.IgnoreCurrent()
			released := make(chan struct{})
			close(released)
			h := &holder{started: make(chan struct{}, 100), release: released}
			rcv := NewReceiver(b, holdDesc, h.dispatch)
			defer rcv.Close()
			remote := NewRemote(a, holdDesc)
			defer remote.Close()
			remote.SetDisconnectHandler(func(error) {})
			if err := goleak.Find(before); err != nil {
				t.Fatalf("a freshly bound Receiver and Remote hold goroutines: %v", err)
			}
			for round := range 3 {
				for n := range int32(10) {
					note(t, remote, n)
				}
				if err := remote.Call(ctx, 1, NewEncoder(0), new(Decoder)); err != nil {
					t.Fatal(err)
				}
				// goleak.Find retries for a while: the goroutine that served
				// the call ends just after sending its reply.
				if err := goleak.Find(before); err != nil {
					t.Fatalf("round %d: idle Receiver and Remote hold goroutines: %v", round, err)
				}
			}
			if got := len(h.all()); got != 30 {
				t.Fatalf("handled %d notes, want 30", got)
			}
		})
	}
}

// TestReceiverOrderAcrossIdlePeriods: requests sent in bursts, with the
// Receiver going idle between them and calls among the one-way requests,
// are handled one at a time and in order.
func TestReceiverOrderAcrossIdlePeriods(t *testing.T) {
	for name, mk := range pipeMakers {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			a, b := mk(t)
			released := make(chan struct{})
			close(released)
			h := &holder{started: make(chan struct{}, 1000), release: released}
			rcv := NewReceiver(b, holdDesc, h.dispatch)
			defer rcv.Close()
			remote := NewRemote(a, holdDesc)
			defer remote.Close()
			var want []int32
			n := int32(0)
			for burst := range 200 {
				for range burst % 7 {
					note(t, remote, n)
					want = append(want, n)
					n++
				}
				if burst%3 == 0 {
					if err := remote.Call(ctx, 1, NewEncoder(0), new(Decoder)); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := remote.Call(ctx, 1, NewEncoder(0), new(Decoder)); err != nil {
				t.Fatal(err)
			}
			if got := h.all(); !reflect.DeepEqual(got, want) {
				t.Fatalf("handled %d notes out of order or lost (want %d)", len(got), len(want))
			}
		})
	}
}

// TestConcurrentCallsNoLostReply: many callers on one Remote, each reply
// delivered by whichever goroutine made the pipe ready, none lost.
func TestConcurrentCallsNoLostReply(t *testing.T) {
	for name, mk := range pipeMakers {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			a, b := mk(t)
			released := make(chan struct{})
			close(released)
			h := &holder{started: make(chan struct{}, 8*200), release: released}
			rcv := NewReceiver(b, holdDesc, h.dispatch)
			defer rcv.Close()
			remote := NewRemote(a, holdDesc)
			defer remote.Close()
			errs := make(chan error, 8)
			for range 8 {
				go func() {
					for range 200 {
						if err := remote.Call(ctx, 1, NewEncoder(0), new(Decoder)); err != nil {
							errs <- err
							return
						}
					}
					errs <- nil
				}()
			}
			for range 8 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			if n := remote.PendingCalls(); n != 0 {
				t.Fatalf("%d calls still pending", n)
			}
		})
	}
}

// TestReceiverCloseWhileDispatching: Close during a method cancels its
// context, waits for it, and stops the Receiver; the caller learns of the
// closure. Close of an idle Receiver stops it on Close's goroutine.
func TestReceiverCloseWhileDispatching(t *testing.T) {
	for name, mk := range pipeMakers {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			a, b := mk(t)
			h := &holder{started: make(chan struct{}, 1), release: make(chan struct{})}
			rcv := NewReceiver(b, holdDesc, h.dispatch)
			remote := NewRemote(a, holdDesc)
			defer remote.Close()
			called := make(chan error, 1)
			go func() { called <- remote.Call(ctx, 1, NewEncoder(0), new(Decoder)) }()
			<-h.started
			if err := rcv.Close(); err != nil {
				t.Fatal(err)
			}
			if err := rcv.Err(); !errors.Is(err, ErrReceiverClosed) {
				t.Fatalf("Err after Close = %v", err)
			}
			if err := <-called; !errors.Is(err, ErrDisconnected) {
				t.Fatalf("the call whose Receiver closed = %v, want ErrDisconnected", err)
			}

			c, d := mk(t)
			idle := NewReceiver(d, holdDesc, h.dispatch)
			peer := NewRemote(c, holdDesc)
			defer peer.Close()
			gone := make(chan error, 1)
			peer.SetDisconnectHandler(func(err error) { gone <- err })
			if err := idle.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-idle.Done():
			default:
				t.Fatal("Close of an idle Receiver returned before it stopped")
			}
			if err := <-gone; !errors.Is(err, ErrDisconnected) {
				t.Fatalf("the peer of a closed idle Receiver: %v", err)
			}
		})
	}
}

// TestReceiverStopsWhenIdlePeerCloses: an idle Receiver, holding no
// goroutine, still hears of its peer's closure and calls its disconnect
// handler.
func TestReceiverStopsWhenIdlePeerCloses(t *testing.T) {
	for name, mk := range pipeMakers {
		t.Run(name, func(t *testing.T) {
			a, b := mk(t)
			h := &holder{started: make(chan struct{}, 1)}
			rcv := NewReceiver(b, holdDesc, h.dispatch)
			defer rcv.Close()
			gone := make(chan error, 1)
			rcv.SetDisconnectHandler(func(err error) { gone <- err })
			a.Close()
			if err := <-gone; !errors.Is(err, ErrDisconnected) || !errors.Is(err, mage.ErrPeerClosed) {
				t.Fatalf("disconnect handler got %v", err)
			}
			<-rcv.Done()
		})
	}
}

// TestManyReceiversOnePipeEach: bursts to many idle Receivers at once,
// over one connection, each served in order.
func TestManyReceiversOnePipeEach(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const receivers = 50
	type pair struct {
		h      *holder
		remote *Remote
	}
	var pairs []pair
	for range receivers {
		a, b := mage.CreatePipe()
		released := make(chan struct{})
		close(released)
		h := &holder{started: make(chan struct{}, 10), release: released}
		rcv := NewReceiver(b, holdDesc, h.dispatch)
		defer rcv.Close()
		remote := NewRemote(a, holdDesc)
		defer remote.Close()
		pairs = append(pairs, pair{h, remote})
	}
	for i := range int32(20) {
		for _, p := range pairs {
			note(t, p.remote, i)
		}
	}
	for i, p := range pairs {
		if err := p.remote.Call(ctx, 1, NewEncoder(0), new(Decoder)); err != nil {
			t.Fatal(err)
		}
		want := make([]int32, 20)
		for j := range want {
			want[j] = int32(j)
		}
		if got := p.h.all(); !reflect.DeepEqual(got, want) {
			t.Fatalf("receiver %d handled %v", i, got)
		}
	}
}

// TestDispatchInline: a Receiver that runs its implementation on the
// delivering goroutine still handles requests one at a time, in order,
// answers calls, and holds no goroutine while idle.
func TestDispatchInline(t *testing.T) {
	for name, mk := range pipeMakers {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			a, b := mk(t)
			before := goleak.IgnoreCurrent()
			released := make(chan struct{})
			close(released)
			h := &holder{started: make(chan struct{}, 1000), release: released}
			rcv := NewReceiver(b, holdDesc, h.dispatch)
			rcv.SetDispatchInline(true)
			defer rcv.Close()
			remote := NewRemote(a, holdDesc)
			defer remote.Close()
			var want []int32
			for n := range int32(500) {
				note(t, remote, n)
				want = append(want, n)
				if n%50 == 0 {
					if err := remote.Call(ctx, 1, NewEncoder(0), new(Decoder)); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := remote.Call(ctx, 1, NewEncoder(0), new(Decoder)); err != nil {
				t.Fatal(err)
			}
			if got := h.all(); !reflect.DeepEqual(got, want) {
				t.Fatalf("handled %d notes out of order or lost (want %d)", len(got), len(want))
			}
			if err := goleak.Find(before); err != nil {
				t.Fatalf("an idle inline Receiver holds goroutines: %v", err)
			}
		})
	}
}
