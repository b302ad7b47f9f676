package mage_test

import (
	"context"
	"testing"

	"github.com/mage-ipc/mage/mage"
)

// allocRuns is how many messages each allocation count averages over:
// enough that a rare allocation of the runtime's own rounds away.
const allocRuns = 1000

// receivedMessageAllocs is what receiving a small message from another
// node allocates: the Message itself, with its payload in the same
// allocation. Nothing else on the pipe path allocates per message.
const receivedMessageAllocs = 1

// TestNoAllocationPerMessageOnOneNode: a message written to a pipe whose
// ends are on one node, read and written again, allocates nothing.
func TestNoAllocationPerMessageOnOneNode(t *testing.T) {
	n := mage.NewNode(mage.NodeOptions{})
	defer n.Close()
	a, b := n.CreatePipe()
	defer a.Close()
	defer b.Close()
	m := &mage.Message{Payload: make([]byte, 16)}
	pass := func() {
		if err := a.WriteMessage(m); err != nil {
			t.Fatal(err)
		}
		got, err := b.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if got != m || len(got.Payload) != 16 {
			t.Fatalf("read %p with %d bytes, want the message written (%p)", got, len(got.Payload), m)
		}
	}
	pass()
	if allocs := testing.AllocsPerRun(allocRuns, pass); allocs != 0 {
		t.Fatalf("a message on one node allocates %.1f times, want 0", allocs)
	}
}

// roundTrips returns a function that sends m on a to an echoing peer and
// waits for it to come back, then sends what came back the next time.
func roundTrips(t *testing.T, a mage.MessagePipe) func() {
	m := &mage.Message{Method: 7, Payload: make([]byte, 16)}
	ctx := context.Background()
	return func() {
		if err := a.WriteMessage(m); err != nil {
			t.Fatal(err)
		}
		got, err := next(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if got.Method != 7 || len(got.Payload) != 16 {
			t.Fatalf("echo: method %d with %d bytes, want 7 with 16", got.Method, len(got.Payload))
		}
		m = got
	}
}

// TestAllocationsPerRoundTripBetweenNodes: a 16 B round trip between two
// nodes of this process over a socketpair, the peer echoing what it reads,
// allocates the Message each side receives and nothing else (both sides
// count: they share the process).
func TestAllocationsPerRoundTripBetweenNodes(t *testing.T) {
	parent := mage.NewNode(mage.NodeOptions{})
	defer parent.Close()
	a, p := parent.CreatePipe()
	pr := inProcessPeer(t, parent, "echo", p)
	rt := roundTrips(t, a)
	for range 10 {
		rt()
	}
	allocs := testing.AllocsPerRun(allocRuns, rt)
	a.Close()
	if err := pr.wait(); err != nil {
		t.Fatal(err)
	}
	if want := 2.0 * receivedMessageAllocs; allocs > want {
		t.Fatalf("a round trip between two nodes allocates %.1f times, want at most %.0f (the received messages)", allocs, want)
	}
}

// TestAllocationsPerRoundTripAcrossProcesses: the same with the echoing
// node in a child process; this process allocates only the reply it
// receives.
func TestAllocationsPerRoundTripAcrossProcesses(t *testing.T) {
	parent := mage.NewNode(mage.NodeOptions{})
	defer parent.Close()
	a, p := parent.CreatePipe()
	pr := childProcessPeer(t, parent, "echo", p)
	rt := roundTrips(t, a)
	for range 10 {
		rt()
	}
	allocs := testing.AllocsPerRun(allocRuns, rt)
	a.Close()
	if err := pr.wait(); err != nil {
		t.Fatal(err)
	}
	if want := float64(receivedMessageAllocs); allocs > want {
		t.Fatalf("a round trip to another process allocates %.1f times in the caller, want at most %.0f (the reply)", allocs, want)
	}
}

// BenchmarkRoundTripTwoNodes is BenchmarkRoundTripAcrossProcesses with both
// nodes in this process, joined by a socketpair, so that a memory profile
// sees both sides.
func BenchmarkRoundTripTwoNodes(b *testing.B) {
	parent := mage.NewNode(mage.NodeOptions{})
	defer parent.Close()
	a, p := parent.CreatePipe()
	pr := inProcessPeer(b, parent, "echo", p)
	benchRoundTrip(b, a)
	b.StopTimer()
	a.Close()
	if err := pr.wait(); err != nil {
		b.Fatal(err)
	}
}
