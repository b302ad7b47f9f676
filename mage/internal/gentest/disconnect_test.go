package gentest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
	"github.com/mage-ipc/mage/mage/internal/gentest/everything"
)

// TestPendingCallFailsOnDisconnect: a call waiting for a reply fails with
// ErrDisconnected when the peer's end closes.
func TestPendingCallFailsOnDisconnect(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	remote := everything.NewScalarsRemote(a)
	defer remote.Close()
	errc := make(chan error, 1)
	go func() { errc <- remote.Nothing(ctx) }()
	// Wait until the request is on the pipe, then close without replying.
	readOne(t, ctx, b)
	_ = b.Close()
	if err := <-errc; !errors.Is(err, bindings.ErrDisconnected) || !errors.Is(err, mage.ErrPeerClosed) {
		t.Fatalf("Nothing = %v, want ErrDisconnected wrapping ErrPeerClosed", err)
	}
	// Later calls fail at once.
	if err := remote.Nothing(ctx); !errors.Is(err, bindings.ErrDisconnected) {
		t.Fatalf("Nothing after disconnect = %v", err)
	}
	if err := remote.Set(true, 0, 0, 0, 0); !errors.Is(err, bindings.ErrDisconnected) {
		t.Fatalf("Set after disconnect = %v", err)
	}
}

// TestReceiverCloseFailsCall: closing the receiver while a method runs
// cancels the method's context and fails the caller with ErrDisconnected.
func TestReceiverCloseFailsCall(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	impl := newScalars()
	impl.block = make(chan struct{})
	impl.entered = make(chan struct{}, 1)
	rcv := everything.BindScalars(b, impl)
	remote := everything.NewScalarsRemote(a)
	defer remote.Close()
	errc := make(chan error, 1)
	go func() { errc <- remote.Nothing(ctx) }()
	<-impl.entered
	_ = rcv.Close() // returns once Nothing has seen ctx end
	if err := <-errc; !errors.Is(err, bindings.ErrDisconnected) {
		t.Fatalf("Nothing = %v, want ErrDisconnected", err)
	}
	if err := rcv.Err(); !errors.Is(err, bindings.ErrReceiverClosed) {
		t.Fatalf("receiver Err = %v", err)
	}
}

func TestCallContextCancel(t *testing.T) {
	ctx := testContext(t)
	remote, impl, _ := bindScalars(t)
	impl.block = make(chan struct{})
	impl.entered = make(chan struct{}, 1)
	callCtx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- remote.Nothing(callCtx) }()
	<-impl.entered
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Nothing = %v, want context.Canceled", err)
	}
	// The late reply is dropped quietly and the remote keeps working.
	close(impl.block)
	if _, i, _, _, _, err := remote.Echo(ctx, false, 7, 0, 0, 0); err != nil || i != 7 {
		t.Fatalf("Echo after a cancelled call = %d, %v", i, err)
	}
	// A context that is already done sends nothing.
	if err := remote.Nothing(callCtx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Nothing(done ctx) = %v", err)
	}
}

func TestRemoteCloseFailsPending(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	defer b.Close()
	remote := everything.NewScalarsRemote(a)
	errc := make(chan error, 1)
	go func() { errc <- remote.Nothing(ctx) }()
	readOne(t, ctx, b)
	_ = remote.Close()
	if err := <-errc; !errors.Is(err, bindings.ErrRemoteClosed) {
		t.Fatalf("Nothing = %v, want ErrRemoteClosed", err)
	}
	if err := remote.Set(true, 1, 2, 3, 4); !errors.Is(err, bindings.ErrRemoteClosed) {
		t.Fatalf("Set after Close = %v", err)
	}
	_ = remote.Close() // idempotent
}

func TestDisconnectHandlers(t *testing.T) {
	ctx := testContext(t)

	// The receiver hears of the remote's closure; the remote's Close does
	// not call its own handler.
	a, b := mage.CreatePipe()
	rcv := everything.BindScalars(b, newScalars())
	remote := everything.NewScalarsRemote(a)
	rcvGone := make(chan error, 1)
	rcv.SetDisconnectHandler(func(err error) { rcvGone <- err })
	remote.SetDisconnectHandler(func(err error) { t.Errorf("remote handler called after Close: %v", err) })
	_ = remote.Close()
	select {
	case err := <-rcvGone:
		if !errors.Is(err, bindings.ErrDisconnected) {
			t.Errorf("receiver handler got %v", err)
		}
	case <-ctx.Done():
		t.Fatal("receiver handler not called")
	}
	<-rcv.Done()
	// A handler set after the fact is called at once.
	late := make(chan error, 1)
	rcv.SetDisconnectHandler(func(err error) { late <- err })
	if err := <-late; !errors.Is(err, bindings.ErrDisconnected) {
		t.Errorf("late receiver handler got %v", err)
	}
	_ = rcv.Close()

	// The remote hears of the receiver's closure, and may Close from its
	// handler.
	a, b = mage.CreatePipe()
	rcv = everything.BindScalars(b, newScalars())
	remote = everything.NewScalarsRemote(a)
	remoteGone := make(chan error, 1)
	remote.SetDisconnectHandler(func(err error) {
		_ = remote.Close()
		remoteGone <- err
	})
	_ = rcv.Close()
	if err := <-remoteGone; !errors.Is(err, bindings.ErrDisconnected) {
		t.Errorf("remote handler got %v", err)
	}
	late = make(chan error, 1)
	remote.SetDisconnectHandler(func(err error) { late <- err })
	if err := <-late; !errors.Is(err, bindings.ErrDisconnected) {
		t.Errorf("late remote handler got %v", err)
	}
}

// TestReplyNotSendable: when the implementation's results cannot be sent
// (here, over the node's payload limit), the caller gets an error reply
// saying why instead of waiting for a reply that never comes.
func TestReplyNotSendable(t *testing.T) {
	ctx := testContext(t)
	// A Variable.Echo request with a string of 180 bytes is 200 bytes; its
	// reply is 201. The call has no deadline, which would add the 8 bytes
	// of its timeout to the request.
	node := mage.NewNode(mage.NodeOptions{Limits: mage.Limits{MaxPayload: 200}})
	defer node.Close()
	a, b := node.CreatePipe()
	impl := &variableImpl{}
	rcv := everything.BindVariable(b, impl)
	defer rcv.Close()
	remote := everything.NewVariableRemote(a)
	defer remote.Close()
	_, _, _, _, _, err := remote.Echo(context.Background(), strings.Repeat("x", 180), nil, nil, nil, nil)
	var re *bindings.RemoteError
	if !errors.As(err, &re) || !strings.Contains(re.Message, "too large") {
		t.Fatalf("Echo = %v, want a *bindings.RemoteError saying the reply is too large", err)
	}
	if impl.calls.Load() != 1 {
		t.Fatalf("%d calls", impl.calls.Load())
	}
	// The pipe is still up: a reply that fits goes through.
	if total, err := remote.Sum(ctx, nil); err != nil || total != 0 {
		t.Fatalf("Sum = %d, %v", total, err)
	}
}

// TestInvalidPipe: binding the zero value of a pending end (what a
// pending_receiver or pending_remote sent as "no pipe" decodes to) gives a
// Receiver or Remote that is disconnected from the start, not one that
// waits forever.
func TestInvalidPipe(t *testing.T) {
	ctx := testContext(t)
	rcv := everything.ScalarsPendingReceiver{}.Bind(newScalars())
	defer rcv.Close()
	gone := make(chan error, 1)
	rcv.SetDisconnectHandler(func(err error) { gone <- err })
	select {
	case err := <-gone:
		if !errors.Is(err, bindings.ErrDisconnected) || !errors.Is(err, mage.ErrInvalidPipe) {
			t.Errorf("receiver handler got %v", err)
		}
	case <-ctx.Done():
		t.Fatal("a receiver of no pipe did not stop")
	}

	remote := everything.ScalarsPendingRemote{}.Bind()
	defer remote.Close()
	if err := remote.Set(true, 1, 2, 3, 4); !errors.Is(err, mage.ErrInvalidPipe) {
		t.Errorf("Set = %v", err)
	}
	if err := remote.Nothing(ctx); !errors.Is(err, mage.ErrInvalidPipe) {
		t.Errorf("Nothing = %v", err)
	}
	remoteGone := make(chan error, 1)
	remote.SetDisconnectHandler(func(err error) { remoteGone <- err })
	select {
	case err := <-remoteGone:
		if !errors.Is(err, bindings.ErrDisconnected) {
			t.Errorf("remote handler got %v", err)
		}
	case <-ctx.Done():
		t.Fatal("a remote of no pipe never reported its disconnection")
	}
}

// TestWriteAfterPeerClosedIsDisconnected: once the pipe knows its peer is
// gone, a one-way send and a call both fail with an error matching
// ErrDisconnected (and mage.ErrPeerClosed), as the generated methods
// promise, whether or not the Remote's reader noticed first.
func TestWriteAfterPeerClosedIsDisconnected(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	rcv := everything.BindScalars(b, newScalars())
	remote := everything.NewScalarsRemote(a) // no reader yet: nothing has waited for a reply
	defer remote.Close()
	_ = rcv.Close()
	err := remote.Set(true, 1, 2, 3, 'c')
	if !errors.Is(err, bindings.ErrDisconnected) || !errors.Is(err, mage.ErrPeerClosed) {
		t.Fatalf("Set after the receiver closed = %v, want ErrDisconnected and ErrPeerClosed", err)
	}
	if err := remote.Nothing(ctx); !errors.Is(err, bindings.ErrDisconnected) {
		t.Fatalf("Nothing after the receiver closed = %v, want ErrDisconnected", err)
	}
}
