package gentest_test

import (
	"context"
	"testing"

	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/internal/gentest/everything"
)

// BenchmarkCall measures a round trip through generated code in one
// process: encode, send, dispatch, reply, decode.
func BenchmarkCall(b *testing.B) {
	x, y := mage.CreatePipe()
	rcv := everything.BindScalars(y, newScalars())
	defer rcv.Close()
	remote := everything.NewScalarsRemote(x)
	defer remote.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, _, _, err := remote.Echo(ctx, true, 1, 2, 3, 4); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSend measures a one-way call, sender side only.
func BenchmarkSend(b *testing.B) {
	x, y := mage.CreatePipe()
	defer y.Close()
	obs := everything.NewObserverRemote(x)
	defer obs.Close()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := obs.Notify("event", int64(i)); err != nil {
			b.Fatal(err)
		}
		if i%1024 == 0 {
			drain(y)
		}
	}
}

func drain(p mage.MessagePipe) {
	for {
		if _, err := p.ReadMessage(); err != nil {
			return
		}
	}
}
