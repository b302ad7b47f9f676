package gentest_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
	"github.com/mage-ipc/mage/mage/internal/gentest/calcv0"
	"github.com/mage-ipc/mage/mage/internal/gentest/calcv1"
	"github.com/mage-ipc/mage/magen"
)

// TestVersionsShareAFingerprint: the fingerprint covers version 0 only.
func TestVersionsShareAFingerprint(t *testing.T) {
	if calcv0.CalcFingerprint != calcv1.CalcFingerprint {
		t.Fatalf("v0 %#x, v1 %#x", calcv0.CalcFingerprint, calcv1.CalcFingerprint)
	}
	if calcv0.CalcDescriptor.Version != 0 || calcv1.CalcDescriptor.Version != 1 || calcv1.CalcVersion != 1 {
		t.Fatalf("versions %d and %d", calcv0.CalcDescriptor.Version, calcv1.CalcDescriptor.Version)
	}
	if magen.ReservedOrdinals != bindings.ReservedOrdinals {
		t.Fatalf("magen reserves ordinals from %#x, the bindings from %#x", magen.ReservedOrdinals, bindings.ReservedOrdinals)
	}
}

// TestNewCallerOldCallee: a version-1 caller and a version-0
// implementation in another process. The parameter v0 does not know is
// ignored, the result it does not send reads as zero, a newer method fails
// with Unimplemented (a call) or is dropped (one-way) without closing the
// pipe, QueryVersion says 0, and RequireVersion(1) closes the pipe.
func TestNewCallerOldCallee(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	startChild(t, mage.DefaultNode(), "calc-v0", b)
	remote := calcv1.NewCalcRemote(a)
	defer remote.Close()

	sum, three, err := remote.Add(ctx, 1, 2, 40)
	if err != nil || sum != 3 || three {
		t.Fatalf("Add(1, 2, 40) on v0 = %d, %v, %v; want 3, false (c ignored, three zero)", sum, three, err)
	}
	_, err = remote.Sub(ctx, 5, 3)
	var e *bindings.Error
	if !errors.As(err, &e) || e.Code != bindings.Unimplemented || !errors.Is(err, bindings.ErrUnimplemented) {
		t.Fatalf("Sub on v0 = %v, want Unimplemented", err)
	}
	if err := remote.Ping(); err != nil {
		t.Fatal(err)
	}
	if err := remote.Note(7, "label v0 ignores"); err != nil {
		t.Fatal(err)
	}
	if notes, err := remote.Notes(ctx); err != nil || !reflect.DeepEqual(notes, []int32{7}) {
		t.Fatalf("Notes = %v, %v", notes, err)
	}
	v, err := remote.QueryVersion(ctx)
	if err != nil || v != 0 || remote.Version() != 0 {
		t.Fatalf("QueryVersion = %d, %v", v, err)
	}
	// Requiring what the peer has changes nothing.
	if err := remote.RequireVersion(0); err != nil {
		t.Fatal(err)
	}
	disconnected := make(chan error, 1)
	remote.SetDisconnectHandler(func(err error) { disconnected <- err })
	if err := remote.RequireVersion(1); err != nil {
		t.Fatal(err)
	}
	if err := <-disconnected; !errors.Is(err, bindings.ErrDisconnected) {
		t.Fatalf("after RequireVersion(1) on v0: %v", err)
	}
	if _, _, err := remote.Add(ctx, 1, 1, 1); !errors.Is(err, bindings.ErrDisconnected) {
		t.Fatalf("Add after the pipe closed = %v", err)
	}
}

// TestOldCallerNewCallee: a version-0 caller and a version-1
// implementation in another process. The parameter v0 does not send reads
// as zero, the result v0 does not know is ignored, QueryVersion says 1, and
// RequireVersion(1) keeps the pipe.
func TestOldCallerNewCallee(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	startChild(t, mage.DefaultNode(), "calc-v1", b)
	remote := calcv0.NewCalcRemote(a)
	defer remote.Close()

	if sum, err := remote.Add(ctx, 1, 2); err != nil || sum != 3 {
		t.Fatalf("Add(1, 2) on v1 = %d, %v", sum, err)
	}
	if err := remote.Note(9); err != nil {
		t.Fatal(err)
	}
	if notes, err := remote.Notes(ctx); err != nil || !reflect.DeepEqual(notes, []int32{9}) {
		t.Fatalf("Notes = %v, %v", notes, err)
	}
	if v, err := remote.QueryVersion(ctx); err != nil || v != 1 {
		t.Fatalf("QueryVersion = %d, %v", v, err)
	}
	if err := remote.RequireVersion(1); err != nil {
		t.Fatal(err)
	}
	if sum, err := remote.Add(ctx, 2, 2); err != nil || sum != 4 {
		t.Fatalf("Add after RequireVersion(1) = %d, %v", sum, err)
	}
}

// TestVersionedPipeIgnored: a pipe in a value an old reader does not know
// is released, not leaked; here the v1 Add carries none, so a raw message
// stands in: a v1 Note with a trailing pipe index reaches a v0 receiver.
func TestVersionedPipeIgnored(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	impl := &calc0{}
	rcv := calcv0.BindCalc(b, impl)
	defer rcv.Close()
	x, y := mage.CreatePipe()
	defer y.Close()
	// Note(int n) at version 1, with an int and a pipe after n.
	payload := []byte{3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}
	var note uint32
	for _, m := range calcv0.CalcDescriptor.Methods {
		if m.Name == "Note" {
			note = m.Ordinal
		}
	}
	if err := a.WriteMessage(&mage.Message{Interface: calcv0.CalcFingerprint, Method: note, Flags: 1 << 16, Payload: payload, Pipes: []mage.MessagePipe{x}}); err != nil {
		t.Fatal(err)
	}
	remote := calcv0.NewCalcRemote(a)
	defer remote.Close()
	if notes, err := remote.Notes(ctx); err != nil || !reflect.DeepEqual(notes, []int32{3}) {
		t.Fatalf("Notes = %v, %v", notes, err)
	}
	// The pipe the v0 receiver did not know was closed.
	if _, err := y.ReadMessage(); !errors.Is(err, mage.ErrPeerClosed) {
		t.Errorf("the unknown pipe's peer reads %v", err)
	}
	// A version-0 message with the same extra bytes is still bad.
	x2, y2 := mage.CreatePipe()
	defer y2.Close()
	if err := a.WriteMessage(&mage.Message{Interface: calcv0.CalcFingerprint, Method: note, Payload: payload, Pipes: []mage.MessagePipe{x2}}); err != nil {
		t.Fatal(err)
	}
	<-rcv.Done()
	if err := rcv.Err(); !errors.Is(err, bindings.ErrBadMessage) {
		t.Errorf("a v0 message with trailing bytes: receiver stopped with %v", err)
	}
}
