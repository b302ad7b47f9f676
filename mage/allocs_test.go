package mage_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mage-ipc/mage/mage"
)

// allocRuns is how many messages each allocation count averages over:
// enough that a rare allocation of the runtime's own rounds away.
const allocRuns = 1000

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

// allocsPerRoundTrip counts the allocations this process makes per round
// trip to an echoing peer that start makes (both sides', when the peer is
// a node of this process), the caller waiting for each echo with wait.
func allocsPerRoundTrip(t *testing.T, start harness, wait func(context.Context, mage.MessagePipe) (*mage.Message, error)) float64 {
	parent := mage.NewNode(mage.NodeOptions{})
	defer parent.Close()
	a, p := parent.CreatePipe()
	pr := start(t, parent, "echo", p)
	m := &mage.Message{Method: 7, Payload: make([]byte, 16)}
	ctx := testContext(t)
	rt := func() {
		if err := a.WriteMessage(m); err != nil {
			t.Fatal(err)
		}
		got, err := wait(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if got.Method != 7 || len(got.Payload) != 16 {
			t.Fatalf("echo: method %d with %d bytes, want 7 with 16", got.Method, len(got.Payload))
		}
		m = got
	}
	for range 10 {
		rt()
	}
	allocs := testing.AllocsPerRun(allocRuns, rt)
	a.Close()
	if err := pr.wait(); err != nil {
		t.Fatal(err)
	}
	return allocs
}

// TestAllocationsPerRoundTripBetweenNodes: a 16 B round trip between two
// nodes of this process over a socketpair, the peer echoing what it reads,
// allocates nothing (both sides count: they share the process): each
// received Message comes from the node's pool, with its payload in its own
// block, and goes back to it once the link has sent it on.
func TestAllocationsPerRoundTripBetweenNodes(t *testing.T) {
	allocs := allocsPerRoundTrip(t, inProcessPeer, next)
	if want := float64(raceAllocSlack); allocs > want {
		t.Fatalf("a round trip between two nodes allocates %.1f times, want at most %.0f", allocs, want)
	}
}

// TestAllocationsPerRoundTripAcrossProcesses: the same with the echoing
// node in a child process; the caller allocates nothing.
func TestAllocationsPerRoundTripAcrossProcesses(t *testing.T) {
	allocs := allocsPerRoundTrip(t, childProcessPeer, next)
	if want := float64(raceAllocSlack); allocs > want {
		t.Fatalf("a round trip to another process allocates %.1f times in the caller, want at most %.0f", allocs, want)
	}
}

// TestNoAllocationPerOneWayMessageBetweenNodes: a 16 B message written
// from NewMessage to another node of this process, read there and
// released, allocates nothing on either side: the sender's Message goes
// back to the pool once the link has encoded it, the receiver's once it is
// released.
func TestNoAllocationPerOneWayMessageBetweenNodes(t *testing.T) {
	a, b := connectedNodes(t)
	ctx := testContext(t)
	var failed error
	send := func() {
		m := mage.NewMessage(16)
		if len(m.Payload) != 16 || cap(m.Payload) != mage.MaxInlinePayload {
			failed = fmt.Errorf("NewMessage(16): payload of %d bytes, capacity %d, want 16 and %d", len(m.Payload), cap(m.Payload), mage.MaxInlinePayload)
			return
		}
		m.Payload[0] = 0x5a
		if err := a.WriteMessage(m); err != nil {
			failed = err
			return
		}
		got, err := next(ctx, b)
		if err != nil {
			failed = err
			return
		}
		if len(got.Payload) != 16 || got.Payload[0] != 0x5a {
			failed = fmt.Errorf("received %d bytes starting %#x, want 16 starting 0x5a", len(got.Payload), got.Payload[0])
		}
		got.Release()
	}
	for range 10 {
		send()
	}
	allocs := testing.AllocsPerRun(allocRuns, send)
	if failed != nil {
		t.Fatal(failed)
	}
	if want := float64(raceAllocSlack); allocs > want {
		t.Fatalf("a one-way message between two nodes allocates %.1f times, want at most %.0f", allocs, want)
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
