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
// trip of a payload of size bytes to an echoing peer that start makes
// (both sides', when the peer is a node of this process), the caller
// waiting for each echo with wait.
func allocsPerRoundTrip(t *testing.T, start harness, size int, wait func(context.Context, mage.MessagePipe) (*mage.Message, error)) float64 {
	parent := mage.NewNode(mage.NodeOptions{})
	defer parent.Close()
	a, p := parent.CreatePipe()
	pr := start(t, parent, "echo", p)
	m := &mage.Message{Method: 7, Payload: make([]byte, size)}
	ctx := testContext(t)
	rt := func() {
		if err := a.WriteMessage(m); err != nil {
			t.Fatal(err)
		}
		got, err := wait(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if got.Method != 7 || len(got.Payload) != size {
			t.Fatalf("echo: method %d with %d bytes, want 7 with %d", got.Method, len(got.Payload), size)
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

// payloadSizes are the payloads the allocation tests send: one in a
// pooled Message's own block, and medium ones (a pooled buffer of their
// own, up to the largest class).
var payloadSizes = []int{16, 1024, 16<<10 - 1}

// allocSlack is what the allocation tests allow for a payload of size
// bytes: nothing, but under the race detector (see race_test.go).
func allocSlack(size int) float64 {
	if size > mage.MaxInlinePayload {
		return raceAllocSlack + raceMediumAllocSlack
	}
	return raceAllocSlack
}

// TestAllocationsPerRoundTripBetweenNodes: a round trip between two nodes
// of this process over a socketpair, the peer echoing what it reads,
// allocates nothing (both sides count: they share the process): each
// received Message comes from the node's pool, with a small payload in its
// own block and a medium one in a pooled buffer, and both go back once the
// link has sent the message on.
func TestAllocationsPerRoundTripBetweenNodes(t *testing.T) {
	for _, size := range payloadSizes {
		allocs := allocsPerRoundTrip(t, inProcessPeer, size, next)
		if want := allocSlack(size); allocs > want {
			t.Errorf("a round trip of %d bytes between two nodes allocates %.1f times, want at most %.0f", size, allocs, want)
		}
	}
}

// TestAllocationsPerRoundTripAcrossProcesses: the same with the echoing
// node in a child process; the caller allocates nothing.
func TestAllocationsPerRoundTripAcrossProcesses(t *testing.T) {
	for _, size := range payloadSizes {
		allocs := allocsPerRoundTrip(t, childProcessPeer, size, next)
		if want := allocSlack(size); allocs > want {
			t.Errorf("a round trip of %d bytes to another process allocates %.1f times in the caller, want at most %.0f", size, allocs, want)
		}
	}
}

// TestNoAllocationPerOneWayMessageBetweenNodes: a message written from
// NewMessage to another node of this process, read there and released,
// allocates nothing on either side: the sender's Message (and a medium
// payload's buffer) goes back to the pools once the link has encoded it,
// the receiver's once it is released.
func TestNoAllocationPerOneWayMessageBetweenNodes(t *testing.T) {
	a, b := connectedNodes(t)
	ctx := testContext(t)
	for _, size := range payloadSizes {
		var failed error
		send := func() {
			m := mage.NewMessage(size)
			if len(m.Payload) != size || cap(m.Payload) < max(size, mage.MaxInlinePayload) {
				failed = fmt.Errorf("NewMessage(%d): payload of %d bytes, capacity %d", size, len(m.Payload), cap(m.Payload))
				return
			}
			m.Payload[0], m.Payload[size-1] = 0x5a, 0xa5
			if err := a.WriteMessage(m); err != nil {
				failed = err
				return
			}
			got, err := next(ctx, b)
			if err != nil {
				failed = err
				return
			}
			if n := len(got.Payload); n != size || got.Payload[0] != 0x5a || got.Payload[n-1] != 0xa5 {
				failed = fmt.Errorf("received %d bytes, want %d starting 0x5a and ending 0xa5", n, size)
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
		if want := allocSlack(size); allocs > want {
			t.Errorf("a one-way message of %d bytes between two nodes allocates %.1f times, want at most %.0f", size, allocs, want)
		}
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
