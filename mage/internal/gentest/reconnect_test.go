package gentest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
	"github.com/mage-ipc/mage/mage/internal/gentest/calcv1"
)

// TestReconnectingAcrossARestart: the peer process dies in the middle of
// a call and is started again (by the test, standing in for the
// launcher). The call in flight fails with ErrDisconnected; the next Get
// binds a pipe to the new process, where nothing was replayed.
func TestReconnectingAcrossARestart(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	first := startChild(t, mage.DefaultNode(), "calc-v1", b)
	redials := 0
	redial := func(context.Context) (mage.MessagePipe, error) {
		redials++
		a, b := mage.CreatePipe()
		startChild(t, mage.DefaultNode(), "calc-v1", b)
		return a, nil
	}
	calc := bindings.NewReconnecting(a, calcv1.NewCalcRemote, redial)
	defer calc.Close()

	r, err := calc.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Note(1, "to the first"); err != nil {
		t.Fatal(err)
	}
	started, noted, stop := startedSignal()
	defer stop()
	waitDone := make(chan error, 1)
	go func() { waitDone <- r.Wait(ctx, started) }()
	<-noted
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := <-waitDone; !errors.Is(err, bindings.ErrDisconnected) {
		t.Fatalf("the call in flight when the peer died = %v, want ErrDisconnected", err)
	}
	_ = first.wait()

	again, err := calc.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again == r || redials != 1 || calc.Reconnects() != 1 {
		t.Fatalf("Get after the restart: same Remote %v, %d redials, %d reconnects", again == r, redials, calc.Reconnects())
	}
	// Nothing was replayed to the new process: no note, no Wait.
	if notes, err := again.Notes(ctx); err != nil || len(notes) != 0 {
		t.Errorf("Notes on the new peer = %v, %v", notes, err)
	}
	if waits, err := again.Waits(ctx); err != nil || len(waits) != 0 {
		t.Errorf("Waits on the new peer = %v, %v", waits, err)
	}
	if sum, _, err := again.Add(ctx, 2, 3, 4); err != nil || sum != 9 {
		t.Errorf("Add on the new peer = %d, %v", sum, err)
	}
	// The old Remote stays failed; a connected one is not replaced.
	if _, _, err := r.Add(ctx, 1, 1, 1); !errors.Is(err, bindings.ErrDisconnected) && !errors.Is(err, bindings.ErrRemoteClosed) {
		t.Errorf("the old Remote = %v", err)
	}
	if same, err := calc.Get(ctx); err != nil || same != again || redials != 1 {
		t.Errorf("Get while connected redialed: %v, %d redials", err, redials)
	}
	_ = calc.Close()
	if _, err := calc.Get(ctx); !errors.Is(err, bindings.ErrReconnectingClosed) {
		t.Errorf("Get after Close = %v", err)
	}
}
