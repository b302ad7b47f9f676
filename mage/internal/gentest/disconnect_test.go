package gentest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mage-ipc/mage/mage"
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
	if err := <-errc; !errors.Is(err, mage.ErrDisconnected) || !errors.Is(err, mage.ErrPeerClosed) {
		t.Fatalf("Nothing = %v, want ErrDisconnected wrapping ErrPeerClosed", err)
	}
	// Later calls fail at once.
	if err := remote.Nothing(ctx); !errors.Is(err, mage.ErrDisconnected) {
		t.Fatalf("Nothing after disconnect = %v", err)
	}
	if err := remote.Set(true, 0, 0, 0, 0); !errors.Is(err, mage.ErrDisconnected) {
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
	if err := <-errc; !errors.Is(err, mage.ErrDisconnected) {
		t.Fatalf("Nothing = %v, want ErrDisconnected", err)
	}
	if err := rcv.Err(); !errors.Is(err, mage.ErrReceiverClosed) {
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
	if err := <-errc; !errors.Is(err, mage.ErrRemoteClosed) {
		t.Fatalf("Nothing = %v, want ErrRemoteClosed", err)
	}
	if err := remote.Set(true, 1, 2, 3, 4); !errors.Is(err, mage.ErrRemoteClosed) {
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
		if !errors.Is(err, mage.ErrDisconnected) {
			t.Errorf("receiver handler got %v", err)
		}
	case <-ctx.Done():
		t.Fatal("receiver handler not called")
	}
	<-rcv.Done()
	// A handler set after the fact is called at once.
	late := make(chan error, 1)
	rcv.SetDisconnectHandler(func(err error) { late <- err })
	if err := <-late; !errors.Is(err, mage.ErrDisconnected) {
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
	if err := <-remoteGone; !errors.Is(err, mage.ErrDisconnected) {
		t.Errorf("remote handler got %v", err)
	}
	late = make(chan error, 1)
	remote.SetDisconnectHandler(func(err error) { late <- err })
	if err := <-late; !errors.Is(err, mage.ErrDisconnected) {
		t.Errorf("late remote handler got %v", err)
	}
}
