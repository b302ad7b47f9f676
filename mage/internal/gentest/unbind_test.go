package gentest_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
	"github.com/mage-ipc/mage/mage/internal/gentest/calcv1"
)

// TestReceiverUnbind: Unbind waits for the method running, then hands back
// the end with every request not yet handled still queued, in order; bound
// again in another process, the end serves them there, none lost.
func TestReceiverUnbind(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	impl := &calc1{}
	impl.block = make(chan struct{})
	impl.noted = make(chan int32, 32)
	rcv := calcv1.BindCalc(b, impl)
	remote := calcv1.NewCalcRemote(a)
	defer remote.Close()

	for n := int32(1); n <= 5; n++ {
		if err := remote.Note(n, ""); err != nil {
			t.Fatal(err)
		}
	}
	<-impl.noted // Note(1) runs, and blocks
	type unbound struct {
		pipe  mage.MessagePipe
		err   error
		notes []int32
	}
	res := make(chan unbound, 1)
	go func() {
		p, err := rcv.Unbind()
		res <- unbound{p, err, impl.allNotes()}
	}()
	close(impl.block)
	u := <-res
	if u.err != nil {
		t.Fatal(u.err)
	}
	if len(u.notes) == 0 || u.notes[0] != 1 {
		t.Fatalf("Unbind returned before the running Note(1) finished: notes %v", u.notes)
	}
	if err := rcv.Err(); !errors.Is(err, bindings.ErrUnbound) {
		t.Errorf("Err after Unbind = %v", err)
	}
	if _, err := rcv.Unbind(); !errors.Is(err, bindings.ErrUnbound) {
		t.Errorf("second Unbind = %v", err)
	}
	_ = rcv.Close() // does nothing now: the end is not the receiver's
	// Requests sent now queue on the unbound end.
	for n := int32(6); n <= 10; n++ {
		if err := remote.Note(n, ""); err != nil {
			t.Fatal(err)
		}
	}
	startChild(t, mage.DefaultNode(), "calc-v1", u.pipe)
	there, err := remote.Notes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all := append(append([]int32(nil), impl.allNotes()...), there...)
	if want := []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !reflect.DeepEqual(all, want) {
		t.Errorf("notes here %v and in the child %v, want %v in all", impl.allNotes(), there, want)
	}
}

// TestReceiverUnbindGivesBackReadAhead: requests read ahead while a
// method ran (to find cancels behind them) go back on the end at Unbind,
// in order, ahead of what is still on the pipe.
func TestReceiverUnbindGivesBackReadAhead(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	impl := &calc1{}
	rcv := calcv1.BindCalc(b, impl)
	remote := calcv1.NewCalcRemote(a)
	defer remote.Close()

	started, noted, stop := startedSignal()
	defer stop()
	waitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	waitDone := make(chan error, 1)
	go func() { waitDone <- remote.Wait(waitCtx, started) }()
	<-noted
	for n := int32(1); n <= 5; n++ {
		if err := remote.Note(n, ""); err != nil {
			t.Fatal(err)
		}
	}
	res := make(chan error, 1)
	var p mage.MessagePipe
	go func() {
		var err error
		p, err = rcv.Unbind()
		res <- err
	}()
	// Unbind lets Wait run until its caller gives up.
	cancel()
	if err := <-waitDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v", err)
	}
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	impl2 := &calc1{}
	rcv2 := calcv1.BindCalc(p, impl2)
	defer rcv2.Close()
	all := impl.allNotes()
	there, err := remote.Notes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all = append(all, there...)
	if want := []int32{1, 2, 3, 4, 5}; !reflect.DeepEqual(all, want) {
		t.Errorf("notes %v, then %v after rebinding; want %v in all", impl.allNotes(), there, want)
	}
}

// TestRemoteUnbind: Unbind fails a call in flight with ErrUnbound, tells
// its implementation to cancel, takes its reply off the pipe, and hands
// back the end; a Remote bound to it works, and the old one fails with
// ErrUnbound without touching the end.
func TestRemoteUnbind(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	startChild(t, mage.DefaultNode(), "calc-v1", b)
	remote := calcv1.NewCalcRemote(a)

	started, noted, stop := startedSignal()
	defer stop()
	waitDone := make(chan error, 1)
	go func() { waitDone <- remote.Wait(ctx, started) }()
	<-noted
	p, err := remote.Unbind()
	if err != nil {
		t.Fatal(err)
	}
	if err := <-waitDone; !errors.Is(err, bindings.ErrUnbound) {
		t.Fatalf("the call in flight = %v, want ErrUnbound", err)
	}
	if _, _, err := remote.Add(ctx, 1, 2, 3); !errors.Is(err, bindings.ErrUnbound) {
		t.Errorf("Add after Unbind = %v", err)
	}
	if err := remote.Note(1, ""); !errors.Is(err, bindings.ErrUnbound) {
		t.Errorf("Note after Unbind = %v", err)
	}
	if _, err := remote.Unbind(); !errors.Is(err, bindings.ErrUnbound) {
		t.Errorf("second Unbind = %v", err)
	}
	_ = remote.Close() // not the end's owner any more: does nothing

	again := calcv1.NewCalcRemote(p)
	defer again.Close()
	// Request ids start over; the reply to the failed Wait was taken off
	// the pipe, so it cannot be taken for this call's.
	if sum, three, err := again.Add(ctx, 1, 2, 3); err != nil || sum != 6 || !three {
		t.Fatalf("Add on the end bound again = %d, %v, %v", sum, three, err)
	}
	endings, err := again.Waits(ctx)
	if err != nil || !reflect.DeepEqual(endings, []string{context.Canceled.Error()}) {
		t.Errorf("Waits = %q, %v: the unbound call was not cancelled", endings, err)
	}
}
