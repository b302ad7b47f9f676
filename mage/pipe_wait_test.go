package mage_test

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/mage-ipc/mage/mage"
)

// waitPipes make the two ends of a pipe, in one node and across two.
var waitPipes = map[string]func(t *testing.T) (a, b mage.MessagePipe){
	"one-node": func(t *testing.T) (a, b mage.MessagePipe) {
		n := mage.NewNode(mage.NodeOptions{})
		t.Cleanup(func() { n.Close() })
		return n.CreatePipe()
	},
	"across-nodes": connectedNodes,
}

// forEachWaitPipe runs f on pipes of every kind, with WaitMessage on
// bells and, as in a process out of descriptors, on channels.
func forEachWaitPipe(t *testing.T, f func(t *testing.T, a, b mage.MessagePipe)) {
	for name, mk := range waitPipes {
		for _, bells := range []bool{true, false} {
			kind := name + map[bool]string{true: "-bells", false: "-channels"}[bells]
			t.Run(kind, func(t *testing.T) {
				if !bells {
					t.Cleanup(mage.WaitMessageWithoutBellsForTest())
				}
				a, b := mk(t)
				f(t, a, b)
			})
		}
	}
}

// startWaiting runs p.WaitMessage(ctx) on a goroutine of its own and
// returns its outcome's channel once waiters goroutines wait on p.
func startWaiting(t *testing.T, ctx context.Context, p mage.MessagePipe, waiters int) chan waitResult {
	t.Helper()
	out := make(chan waitResult, 1)
	go func() {
		m, err := p.WaitMessage(ctx)
		out <- waitResult{m, err}
	}()
	for mage.WaitingReaders(p) < waiters {
		select {
		case r := <-out:
			t.Fatalf("WaitMessage returned %v, %v before anything happened", r.m, r.err)
		case <-ctx.Done():
			t.Fatal("WaitMessage did not start to wait")
		default:
			runtime.Gosched()
		}
	}
	return out
}

type waitResult struct {
	m   *mage.Message
	err error
}

// waitForReaders waits until want goroutines wait on p in WaitMessage.
func waitForReaders(t *testing.T, ctx context.Context, p mage.MessagePipe, want int) {
	t.Helper()
	for mage.WaitingReaders(p) < want {
		if ctx.Err() != nil {
			t.Fatalf("%d readers wait, want %d", mage.WaitingReaders(p), want)
		}
		runtime.Gosched()
	}
}

// TestWaitMessage: WaitMessage returns what is queued at once, waits for
// what is written later, in order, and returns the peer's closure after
// the last message.
func TestWaitMessage(t *testing.T) {
	forEachWaitPipe(t, func(t *testing.T, a, b mage.MessagePipe) {
		ctx := testContext(t)
		if err := a.WriteMessage(&mage.Message{Payload: []byte("queued")}); err != nil {
			t.Fatal(err)
		}
		if m, err := b.WaitMessage(ctx); err != nil || string(m.Payload) != "queued" {
			t.Fatalf("WaitMessage with a message queued: %v, %v", m, err)
		}
		for i := range 3 {
			got := startWaiting(t, ctx, b, 1)
			if err := a.WriteMessage(&mage.Message{Payload: []byte{byte(i)}}); err != nil {
				t.Fatal(err)
			}
			r := <-got
			if r.err != nil || len(r.m.Payload) != 1 || r.m.Payload[0] != byte(i) {
				t.Fatalf("message %d: %v, %v", i, r.m, r.err)
			}
		}
		got := startWaiting(t, ctx, b, 1)
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if r := <-got; !errors.Is(r.err, mage.ErrPeerClosed) {
			t.Fatalf("after the peer closed: %v, %v", r.m, r.err)
		}
		if n := mage.WaitingReaders(b); n != 0 {
			t.Fatalf("%d readers still listed as waiting", n)
		}
	})
}

// TestWaitMessageEnds: a waiting WaitMessage returns when its context
// ends, when its own end is closed or sent away, and when its node closes.
func TestWaitMessageEnds(t *testing.T) {
	forEachWaitPipe(t, func(t *testing.T, a, b mage.MessagePipe) {
		ctx := testContext(t)

		short, cancel := context.WithCancel(ctx)
		got := startWaiting(t, short, b, 1)
		cancel()
		if r := <-got; !errors.Is(r.err, context.Canceled) {
			t.Fatalf("after its context was canceled: %v, %v", r.m, r.err)
		}

		// Sent away in a message on another pipe of the same node.
		x, y := b.Node().CreatePipe()
		defer y.Close()
		got = startWaiting(t, ctx, b, 1)
		if err := x.WriteMessage(&mage.Message{Pipes: []mage.MessagePipe{b}}); err != nil {
			t.Fatal(err)
		}
		if r := <-got; !errors.Is(r.err, mage.ErrPipeMoved) {
			t.Fatalf("after its end was sent away: %v, %v", r.m, r.err)
		}
		moved, err := y.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		b = moved.Pipes[0]

		got = startWaiting(t, ctx, b, 1)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if r := <-got; !errors.Is(r.err, mage.ErrPipeClosed) {
			t.Fatalf("after its own end was closed: %v, %v", r.m, r.err)
		}

		c, _ := a.Node().CreatePipe() // a's peer is closed: a new pipe
		got = startWaiting(t, ctx, c, 1)
		a.Node().Close()
		if r := <-got; !errors.Is(r.err, mage.ErrPipeClosed) && !errors.Is(r.err, mage.ErrNodeClosed) {
			t.Fatalf("after its node closed: %v, %v", r.m, r.err)
		}
	})
}

// TestWaitMessageManyReaders: goroutines waiting on one end each get one
// message, none twice, none lost.
func TestWaitMessageManyReaders(t *testing.T) {
	forEachWaitPipe(t, func(t *testing.T, a, b mage.MessagePipe) {
		ctx := testContext(t)
		const readers = 4
		out := make(chan waitResult, readers)
		for range readers {
			go func() {
				m, err := b.WaitMessage(ctx)
				out <- waitResult{m, err}
			}()
		}
		waitForReaders(t, ctx, b, readers)
		for i := range readers {
			if err := a.WriteMessage(&mage.Message{Payload: []byte{byte(i)}}); err != nil {
				t.Fatal(err)
			}
		}
		seen := map[byte]bool{}
		for range readers {
			r := <-out
			if r.err != nil || len(r.m.Payload) != 1 || seen[r.m.Payload[0]] {
				t.Fatalf("a reader got %v, %v (seen %v)", r.m, r.err, seen)
			}
			seen[r.m.Payload[0]] = true
		}
	})
}

// TestWaitMessageAllocatesNothing: a round trip whose caller waits with
// WaitMessage, to an echoing node of this process, allocates nothing in
// steady state (both sides count): the bell is borrowed and given back,
// its context watched once, and the node's list of waiting readers
// reused.
func TestWaitMessageAllocatesNothing(t *testing.T) {
	allocs := allocsPerRoundTrip(t, inProcessPeer, 16, func(ctx context.Context, p mage.MessagePipe) (*mage.Message, error) {
		return p.WaitMessage(ctx)
	})
	if want := float64(raceAllocSlack); allocs > want {
		t.Fatalf("a round trip waited for with WaitMessage allocates %.1f times, want at most %.0f", allocs, want)
	}
}

// TestNodeCloseWakesEveryReader: closing a node wakes whoever waits on
// one of its ends, however they wait: Ready, Notify and WaitMessage.
func TestNodeCloseWakesEveryReader(t *testing.T) {
	ctx := testContext(t)
	n := mage.NewNode(mage.NodeOptions{})
	_, onReady := n.CreatePipe()
	_, onNotify := n.CreatePipe()
	_, onWait := n.CreatePipe()
	ready := onReady.Ready()
	fired := make(chan struct{}, 1)
	if !onNotify.Notify(func() { fired <- struct{}{} }) {
		t.Fatal("Notify did not arm on an empty end")
	}
	waited := startWaiting(t, ctx, onWait, 1)
	n.Close()
	for what, c := range map[string]<-chan struct{}{"Ready": ready, "Notify": fired} {
		select {
		case <-c:
		case <-ctx.Done():
			t.Fatalf("%s was not told that the node closed", what)
		}
	}
	if r := <-waited; !errors.Is(r.err, mage.ErrPipeClosed) {
		t.Fatalf("WaitMessage after the node closed: %v, %v", r.m, r.err)
	}
	if _, err := onReady.ReadMessage(); !errors.Is(err, mage.ErrPipeClosed) {
		t.Fatalf("ReadMessage after the node closed: %v", err)
	}
}
