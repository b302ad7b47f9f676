package mage_test

import (
	"testing"

	"github.com/mage-ipc/mage/mage"
)

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
