package mage_test

import (
	"context"
	"fmt"
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

// BenchmarkStreamInProcess streams large messages to an echoing node in the
// same process over a socketpair, with a window of messages in flight; each
// send reuses the payload of an echo that came back.
func BenchmarkStreamInProcess(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			const window = 8
			parent := mage.NewNode(mage.NodeOptions{})
			defer parent.Close()
			a, p := parent.CreatePipe()
			pr := inProcessPeer(b, parent, "echo", p)
			ctx := context.Background()
			free := make([][]byte, 0, window)
			for range window {
				free = append(free, make([]byte, size))
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			inFlight := 0
			for range b.N {
				if len(free) == 0 {
					m, err := next(ctx, a)
					if err != nil {
						b.Fatal(err)
					}
					inFlight--
					free = append(free, m.Payload)
				}
				payload := free[len(free)-1]
				free = free[:len(free)-1]
				if err := a.WriteMessage(&mage.Message{Payload: payload}); err != nil {
					b.Fatal(err)
				}
				inFlight++
			}
			for ; inFlight > 0; inFlight-- {
				if _, err := next(ctx, a); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			a.Close()
			if err := pr.wait(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
