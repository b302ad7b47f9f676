package bindings

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"runtime"
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
// calls and wait for more hold no goroutine of their own, in one node and
// across two: between them, only the process's waiting servers, at most
// maxIdleServers however many Receivers there are, and none once the
// last Receiver is closed.
func TestIdleBindingsHoldNoGoroutine(t *testing.T) {
	const pairs = 6
	for name, mk := range pipeMakers {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var as, bs []mage.MessagePipe
			for range pairs {
				a, b := mk(t)
				as, bs = append(as, a), append(bs, b)
			}
			// Whatever runs now (the nodes' connection readers) is not the
			// bindings'.
			before := goleak.IgnoreCurrent()
			notServers := goleak.IgnoreAnyFunction("github.com/mage-ipc/mage/mage/bindings.(*server).loop")
			released := make(chan struct{})
			close(released)
			h := &holder{started: make(chan struct{}, 1000), release: released}
			var rcvs []*Receiver
			var remotes []*Remote
			for i := range pairs {
				rcvs = append(rcvs, NewReceiver(bs[i], holdDesc, h.dispatch))
				remote := NewRemote(as[i], holdDesc)
				remote.SetDisconnectHandler(func(error) {})
				remotes = append(remotes, remote)
			}
			if err := goleak.Find(before); err != nil {
				t.Fatalf("freshly bound Receivers and Remotes hold goroutines: %v", err)
			}
			for round := range 3 {
				for _, remote := range remotes {
					for n := range int32(10) {
						note(t, remote, n)
					}
					if err := remote.Call(ctx, 1, NewEncoder(0), new(Decoder)); err != nil {
						t.Fatal(err)
					}
				}
				// goleak.Find retries for a while: the goroutine that served
				// a call parks just after sending its reply.
				if err := goleak.Find(before, notServers); err != nil {
					t.Fatalf("round %d: idle Receivers and Remotes hold goroutines: %v", round, err)
				}
				if n := serverGoroutines(); n > maxIdleServers {
					t.Fatalf("round %d: %d serving goroutines for %d idle Receivers, want at most %d", round, n, pairs, maxIdleServers)
				}
			}
			if got := len(h.all()); got != 30*pairs {
				t.Fatalf("handled %d notes, want %d", got, 30*pairs)
			}
			for i := range pairs {
				_ = remotes[i].Close()
				_ = rcvs[i].Close()
			}
			if err := goleak.Find(before); err != nil {
				t.Fatalf("goroutines after the last Receiver closed: %v", err)
			}
		})
	}
}

// serverGoroutines counts the goroutines of the servers pool.
func serverGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return bytes.Count(buf, []byte("bindings.(*server).loop("))
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
