package mage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/mage-ipc/mage/mage"
)

func init() {
	roles["bounce"] = bounce
}

// bounce sends the pipe end that arrives on p straight back on p, and
// returns: its process then closes its node and exits while the end's route
// through it may still be collapsing.
func bounce(ctx context.Context, p mage.MessagePipe) error {
	m, err := next(ctx, p)
	if err != nil {
		return err
	}
	if len(m.Pipes) != 1 {
		return fmt.Errorf("bounce: got %d pipes, want 1", len(m.Pipes))
	}
	return p.WriteMessage(&mage.Message{Payload: []byte("back"), Pipes: m.Pipes})
}

// A peer that passes a pipe end on and exits cleanly (its node closed) loses
// nothing that was on its way through it: Close waits until the node's
// proxies are gone, so every message written meanwhile arrives, in order,
// and the pipe then reports a plain closure, not a lost node.
func TestCleanExitDuringCollapseLosesNothing(t *testing.T) {
	forEachHarness(t, func(t *testing.T, start harness) {
		for round := range 20 {
			parent := mage.NewNode(mage.NodeOptions{})
			toChild, give := parent.CreatePipe()
			pr := start(t, parent, "bounce", give)
			x, y := parent.CreatePipe()
			write(t, toChild, &mage.Message{Payload: []byte("y"), Pipes: []mage.MessagePipe{y}})
			const n = 200
			for i := range n {
				write(t, x, text(fmt.Sprint(i)))
			}
			back := expectText(t, toChild, "back").Pipes[0]
			if err := pr.wait(); err != nil {
				t.Fatalf("round %d: the bouncing peer: %v", round, err)
			}
			// Written after the peer is gone: they go to the pipe's end
			// directly, or they would be lost with the peer's proxy.
			for i := n; i < 2*n; i++ {
				write(t, x, text(fmt.Sprint(i)))
			}
			for i := range 2 * n {
				m, err := next(testContext(t), back)
				if err != nil {
					t.Fatalf("round %d: message %d of %d: %v", round, i, 2*n, err)
				}
				if got, want := string(m.Payload), fmt.Sprint(i); got != want {
					t.Fatalf("round %d: got %q, want %q", round, got, want)
				}
			}
			_ = x.Close()
			_, err := next(testContext(t), back)
			var pce *mage.PeerClosedError
			if !errors.As(err, &pce) || pce.NodeLost {
				t.Fatalf("round %d: after the writer closed: %v, want a plain peer closure", round, err)
			}
			_ = back.Close()
			_ = toChild.Close()
			parent.Close()
		}
	})
}
