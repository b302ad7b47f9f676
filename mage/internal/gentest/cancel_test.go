package gentest_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/internal/gentest/calcv1"
)

// TestCancelAcrossProcesses: cancelling the caller's context ends the
// callee's, in another process; the caller gets context.Canceled, and the
// pending-call table empties.
func TestCancelAcrossProcesses(t *testing.T) {
	tctx := testContext(t)
	a, b := mage.CreatePipe()
	startChild(t, mage.DefaultNode(), "calc-v1", b)
	remote := calcv1.NewCalcRemote(a)
	defer remote.Close()

	started, noted, stop := startedSignal()
	defer stop()
	ctx, cancel := context.WithCancel(tctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- remote.Wait(ctx, started) }()
	select {
	case <-noted:
	case <-tctx.Done():
		t.Fatal("Wait never started")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	if n := remote.PendingCalls(); n != 0 {
		t.Errorf("%d calls still pending", n)
	}
	// The callee's context ended because of the cancel: Waits is served
	// after Wait returned, and says how.
	endings, err := remote.Waits(tctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{context.Canceled.Error()}; !reflect.DeepEqual(endings, want) {
		t.Errorf("the callee's context ended with %q, want %q", endings, want)
	}
	// The pipe is still up.
	if sum, _, err := remote.Add(tctx, 1, 2, 0); err != nil || sum != 3 {
		t.Errorf("Add after the cancel = %d, %v", sum, err)
	}
}

// TestDeadlineAcrossProcesses: the caller's deadline travels with the
// request, so that the callee's context has it; a call that outlives it
// fails with context.DeadlineExceeded and the callee's context ends.
func TestDeadlineAcrossProcesses(t *testing.T) {
	tctx := testContext(t)
	a, b := mage.CreatePipe()
	startChild(t, mage.DefaultNode(), "calc-v1", b)
	remote := calcv1.NewCalcRemote(a)
	defer remote.Close()

	// No deadline: the callee's context has none.
	if has, _, err := remote.Deadline(context.Background()); err != nil || has {
		t.Fatalf("Deadline without one = %v, %v", has, err)
	}
	ctx, cancel := context.WithTimeout(tctx, 20*time.Second)
	has, left, err := remote.Deadline(ctx)
	cancel()
	if err != nil || !has || left <= 0 || left > 20000 {
		t.Fatalf("Deadline with 20s left = %v, %dms, %v", has, left, err)
	}

	started, noted, stop := startedSignal()
	defer stop()
	ctx, cancel = context.WithTimeout(tctx, 300*time.Millisecond)
	defer cancel()
	err = remote.Wait(ctx, started)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want context.DeadlineExceeded", err)
	}
	select {
	case <-noted:
	default:
		t.Error("Wait's reply came without Wait having started")
	}
	endings, err := remote.Waits(tctx)
	if err != nil {
		t.Fatal(err)
	}
	// The callee's own deadline and the caller's cancel race; either ends
	// its context.
	if len(endings) != 1 || endings[0] != context.DeadlineExceeded.Error() && endings[0] != context.Canceled.Error() {
		t.Errorf("the callee's context ended with %q", endings)
	}
	if n := remote.PendingCalls(); n != 0 {
		t.Errorf("%d calls still pending", n)
	}
}

// TestCancelBehindARequest: a cancel queued behind a later request still
// reaches the running call, in another process: the receiver reads ahead
// while a method runs, and the request it passes runs next, in order.
func TestCancelBehindARequest(t *testing.T) {
	tctx := testContext(t)
	a, b := mage.CreatePipe()
	startChild(t, mage.DefaultNode(), "calc-v1", b)
	remote := calcv1.NewCalcRemote(a)
	defer remote.Close()

	started, noted, stop := startedSignal()
	defer stop()
	ctx, cancel := context.WithCancel(tctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- remote.Wait(ctx, started) }()
	<-noted
	// Queued ahead of the cancel: without reading ahead, the callee would
	// see the cancel only after Wait returned, which it never would.
	if err := remote.Note(5, "queued"); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v", err)
	}
	notes, err := remote.Notes(tctx)
	if err != nil || !reflect.DeepEqual(notes, []int32{5}) {
		t.Fatalf("Notes = %v, %v", notes, err)
	}
	endings, err := remote.Waits(tctx)
	if err != nil || !reflect.DeepEqual(endings, []string{context.Canceled.Error()}) {
		t.Fatalf("Waits = %q, %v", endings, err)
	}
}

// TestCallerDiesMidCall: when the caller's process dies in the middle of a
// call, the callee's context ends: no one is left to take the reply.
func TestCallerDiesMidCall(t *testing.T) {
	a, b := mage.CreatePipe()
	impl := &calc1{}
	impl.waiting = make(chan struct{}, 1)
	impl.ended = make(chan string, 1)
	rcv := calcv1.BindCalc(a, impl)
	defer rcv.Close()
	ch := startChild(t, mage.DefaultNode(), "calc-waiter", b)
	<-impl.waiting
	if err := ch.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if how := <-impl.ended; how != context.Canceled.Error() {
		t.Errorf("the callee's context ended with %q", how)
	}
	_ = ch.wait()
}
