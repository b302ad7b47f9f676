package mage_test

import (
	"context"
	"testing"

	"github.com/mage-ipc/mage/mage"
)

// benchRoundTrip measures a 64-byte message to an echoing peer and back.
func benchRoundTrip(b *testing.B, a mage.MessagePipe) {
	payload := make([]byte, 64)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := a.WriteMessage(&mage.Message{Payload: payload}); err != nil {
			b.Fatal(err)
		}
		if _, err := next(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRoundTripOneNode(b *testing.B) {
	n := mage.NewNode(mage.NodeOptions{})
	defer n.Close()
	a, p := n.CreatePipe()
	done := make(chan error, 1)
	go func() { done <- echo(context.Background(), p) }()
	benchRoundTrip(b, a)
	a.Close()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

func BenchmarkRoundTripAcrossProcesses(b *testing.B) {
	parent := mage.NewNode(mage.NodeOptions{})
	defer parent.Close()
	a, p := parent.CreatePipe()
	pr := childProcessPeer(b, parent, "echo", p)
	benchRoundTrip(b, a)
	b.StopTimer()
	a.Close()
	if err := pr.wait(); err != nil {
		b.Fatal(err)
	}
}
