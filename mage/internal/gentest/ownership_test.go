package gentest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
	"github.com/mage-ipc/mage/mage/internal/gentest/everything"
)

// The tests of this file check the ownership rule: an end a Remote or
// Receiver is bound to cannot be sent away (mage.ErrPipeBound), and the
// binding keeps working after the refusal.

func init() {
	// bound-sender binds a Scalars receiver in the child, tries to send
	// the bound end to the parent over p, and then sends the other end
	// (not bound) instead, with the refusal's text: the parent calls the
	// child's receiver on it to see that it still serves.
	childRoles["bound-sender"] = func(ctx context.Context, p mage.MessagePipe) error {
		callers, served := mage.CreatePipe()
		rcv := everything.BindScalars(served, newScalars())
		defer rcv.Close()
		err := p.WriteMessage(&mage.Message{Pipes: []mage.MessagePipe{served}})
		if !errors.Is(err, mage.ErrPipeBound) || !errors.Is(err, mage.ErrBadAttachment) {
			return fmt.Errorf("sending the bound end: %v, want ErrPipeBound", err)
		}
		if err := p.WriteMessage(&mage.Message{Payload: []byte(err.Error()), Pipes: []mage.MessagePipe{callers}}); err != nil {
			return err
		}
		// Serve until the parent hangs up the pipe it was given.
		select {
		case <-rcv.Done():
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := rcv.Err(); !errors.Is(err, bindings.ErrDisconnected) {
			return fmt.Errorf("receiver stopped with %w", err)
		}
		return nil
	}
}

// checkServes calls Echo on s and fails the test unless it answers.
func checkServes(t *testing.T, ctx context.Context, s *everything.ScalarsRemote, what string) {
	t.Helper()
	if _, i, _, _, _, err := s.Echo(ctx, true, 7, 8, 9, 'x'); err != nil || i != 7 {
		t.Fatalf("%s: Echo = %d, %v", what, i, err)
	}
}

// checkRefused fails the test unless err is the refusal of a bound end.
func checkRefused(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, mage.ErrPipeBound) || !errors.Is(err, mage.ErrBadAttachment) {
		t.Fatalf("%s: %v, want an error matching mage.ErrPipeBound and mage.ErrBadAttachment", what, err)
	}
}

// TestBoundEndsCannotBeSent sends, in one process, the end of a Receiver
// and the end of a Remote in a message: both are refused, nothing is sent,
// and both bindings keep working and report themselves alive.
func TestBoundEndsCannotBeSent(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	rcv := everything.BindScalars(b, newScalars())
	defer rcv.Close()
	s := everything.NewScalarsRemote(a)
	defer s.Close()
	if !a.IsBound() || !b.IsBound() {
		t.Fatalf("IsBound = %v, %v after binding", a.IsBound(), b.IsBound())
	}

	x, y := mage.CreatePipe()
	defer x.Close()
	defer y.Close()
	checkRefused(t, x.WriteMessage(&mage.Message{Payload: []byte("receiver's end"), Pipes: []mage.MessagePipe{b}}), "sending a Receiver's end")
	checkRefused(t, x.WriteMessage(&mage.Message{Payload: []byte("remote's end"), Pipes: []mage.MessagePipe{a}}), "sending a Remote's end")
	// With a free end beside it: the whole message is refused, and the
	// free end stays usable.
	free, freePeer := mage.CreatePipe()
	defer freePeer.Close()
	checkRefused(t, x.WriteMessage(&mage.Message{Pipes: []mage.MessagePipe{free, b}}), "sending a free end with a bound one")
	if err := free.WriteMessage(&mage.Message{Payload: []byte("still mine")}); err != nil {
		t.Fatalf("the free end of a refused message: %v", err)
	}
	if m := readOne(t, ctx, freePeer); string(m.Payload) != "still mine" {
		t.Fatalf("read %q", m.Payload)
	}
	_ = free.Close()
	if _, err := y.ReadMessage(); !errors.Is(err, mage.ErrNoMessage) {
		t.Fatalf("a refused message arrived: %v", err)
	}

	checkServes(t, ctx, s, "after the refusals")
	if rcv.Err() != nil || s.Err() != nil {
		t.Fatalf("bindings stopped: receiver %v, remote %v", rcv.Err(), s.Err())
	}
	select {
	case <-rcv.Done():
		t.Fatal("the receiver reports itself stopped")
	default:
	}
}

// TestBoundEndInTypedCall passes a Receiver's end as a MessagePipe argument
// of a generated method: the call fails with ErrPipeBound, and the end,
// which the call could not consume, still serves its Receiver.
func TestBoundEndInTypedCall(t *testing.T) {
	ctx := testContext(t)
	carrier, _ := bindCarrier(t)
	a, b := mage.CreatePipe()
	rcv := everything.BindScalars(b, newScalars())
	defer rcv.Close()
	s := everything.NewScalarsRemote(a)
	defer s.Close()

	checkRefused(t, carrier.TakePipe(b, "bound"), "TakePipe of a Receiver's end")
	_, err := carrier.PassPipe(ctx, a)
	checkRefused(t, err, "PassPipe of a Remote's end")
	checkServes(t, ctx, s, "after the refused calls")
	// The carrier itself is unharmed.
	x, y := mage.CreatePipe()
	defer y.Close()
	back, err := carrier.PassPipe(ctx, x)
	if err != nil {
		t.Fatalf("PassPipe of a free end: %v", err)
	}
	_ = back.Close()
}

// TestBoundEndAsConnectAttachment attaches a Receiver's end to Connect:
// Connect fails before the handshake, and the Receiver keeps serving.
func TestBoundEndAsConnectAttachment(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	rcv := everything.BindScalars(b, newScalars())
	defer rcv.Close()
	s := everything.NewScalarsRemote(a)
	defer s.Close()

	mine, theirs, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	defer theirs.Close()
	_, err = mage.Connect(ctx, mine, mage.ConnectOptions{Attach: map[string]mage.MessagePipe{"p": b}})
	checkRefused(t, err, "Connect with a Receiver's end attached")
	checkServes(t, ctx, s, "after the refused Connect")
}

// TestBoundEndAcrossProcesses checks the rule on both sides of a process
// boundary: a child refuses to send its Receiver's end (and its Receiver
// then serves the parent), and the parent refuses to send a Remote's end
// or a Receiver's end to the child, in a message or in a typed call.
func TestBoundEndAcrossProcesses(t *testing.T) {
	ctx := testContext(t)

	// The child's side.
	p, q := mage.CreatePipe()
	defer p.Close()
	startChild(t, mage.DefaultNode(), "bound-sender", q)
	m := readOne(t, ctx, p)
	if len(m.Pipes) != 1 {
		t.Fatalf("the child sent %d pipes (%q), want the free end only", len(m.Pipes), m.Payload)
	}
	s := everything.NewScalarsRemote(m.Pipes[0])
	checkServes(t, ctx, s, "the child's receiver after its refusal")
	_ = s.Close()

	// The parent's side, over a pipe whose peer is in the child.
	c, d := mage.CreatePipe()
	startChild(t, mage.DefaultNode(), "carrier", d)
	carrier := everything.NewCarrierRemote(c)
	defer carrier.Close()
	a, b := mage.CreatePipe()
	rcv := everything.BindScalars(b, newScalars())
	defer rcv.Close()
	local := everything.NewScalarsRemote(a)
	defer local.Close()
	checkRefused(t, carrier.TakePipe(b, "bound"), "TakePipe of a Receiver's end to a child")
	_, err := carrier.PassPipe(ctx, a)
	checkRefused(t, err, "PassPipe of a Remote's end to a child")
	checkServes(t, ctx, local, "after the refusals toward the child")
	// The carrier in the child still answers.
	x, y := mage.CreatePipe()
	defer y.Close()
	back, err := carrier.PassPipe(ctx, x)
	if err != nil {
		t.Fatalf("PassPipe of a free end to a child: %v", err)
	}
	_ = back.Close()
}
