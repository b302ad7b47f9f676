package gentest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
	"github.com/mage-ipc/mage/mage/internal/gentest/calcv1"
)

// TestErrorCodesAcrossProcesses: every code an implementation in another
// process returns reaches the caller with its message, and matches
// errors.Is and errors.As there; an error without a code arrives as a
// *bindings.RemoteError that matches ErrUnknown.
func TestErrorCodesAcrossProcesses(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	startChild(t, mage.DefaultNode(), "calc-v1", b)
	remote := calcv1.NewCalcRemote(a)
	defer remote.Close()

	sentinels := map[bindings.Code]error{
		bindings.Canceled: bindings.ErrCanceled, bindings.Unknown: bindings.ErrUnknown,
		bindings.InvalidArgument: bindings.ErrInvalidArgument, bindings.DeadlineExceeded: bindings.ErrDeadlineExceeded,
		bindings.NotFound: bindings.ErrNotFound, bindings.AlreadyExists: bindings.ErrAlreadyExists,
		bindings.PermissionDenied: bindings.ErrPermissionDenied, bindings.ResourceExhausted: bindings.ErrResourceExhausted,
		bindings.FailedPrecondition: bindings.ErrFailedPrecondition, bindings.Aborted: bindings.ErrAborted,
		bindings.OutOfRange: bindings.ErrOutOfRange, bindings.Unimplemented: bindings.ErrUnimplemented,
		bindings.Internal: bindings.ErrInternal, bindings.Unavailable: bindings.ErrUnavailable,
		bindings.DataLoss: bindings.ErrDataLoss, bindings.Unauthenticated: bindings.ErrUnauthenticated,
	}
	for code := bindings.Canceled; code <= bindings.Unauthenticated; code++ {
		t.Run(code.String(), func(t *testing.T) {
			msg := "because " + code.String()
			err := remote.Fail(ctx, int32(code), msg)
			var e *bindings.Error
			if !errors.As(err, &e) || e.Code != code || e.Message != msg {
				t.Fatalf("Fail(%v) = %v, want a *bindings.Error of that code and message", code, err)
			}
			if !errors.Is(err, sentinels[code]) || !errors.Is(err, bindings.NewError(code, msg)) {
				t.Errorf("%v does not match its code's sentinel", err)
			}
			if errors.Is(err, bindings.NewError(code, "another message")) {
				t.Errorf("%v matches an error of another message", err)
			}
			for other, sentinel := range sentinels {
				if other != code && errors.Is(err, sentinel) {
					t.Errorf("%v matches the sentinel of %v", err, other)
				}
			}
			if bindings.CodeOf(err) != code {
				t.Errorf("CodeOf = %v", bindings.CodeOf(err))
			}
			if want := "bindings: " + code.String() + ": " + msg; err.Error() != want {
				t.Errorf("text %q, want %q", err.Error(), want)
			}
		})
	}
	// A code this side does not know (a newer peer's) keeps its number.
	err := remote.Fail(ctx, 42, "new")
	if bindings.CodeOf(err) != 42 || err.Error() != "bindings: code 42: new" {
		t.Errorf("Fail(42) = %v", err)
	}
	// OK is no error code: the caller sees Unknown rather than success.
	if err := remote.Fail(ctx, 0, "ok?"); bindings.CodeOf(err) != bindings.Unknown {
		t.Errorf("Fail(0) = %v", err)
	}
	// Without a code.
	err = remote.Fail(ctx, -1, "plain")
	var re *bindings.RemoteError
	if !errors.As(err, &re) || re.Message != "plain" || !errors.Is(err, bindings.ErrUnknown) || bindings.CodeOf(err) != bindings.Unknown {
		t.Errorf("Fail(-1) = %v, want a *bindings.RemoteError matching ErrUnknown", err)
	}
}

// TestContextErrorsBecomeCodes: an implementation that returns a context
// error (its own deadline passed, say) gives the caller a *bindings.Error
// of code DeadlineExceeded or Canceled, as gRPC does; the caller's own
// context is still live, so it is not the caller's context error.
func TestContextErrorsBecomeCodes(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	rcv := calcv1.BindCalc(b, &calc1{})
	defer rcv.Close()
	remote := calcv1.NewCalcRemote(a)
	defer remote.Close()
	for code, want := range map[int32]error{-2: context.DeadlineExceeded, -3: context.Canceled} {
		err := remote.Fail(ctx, code, "")
		var e *bindings.Error
		if !errors.As(err, &e) || e.Code != bindings.CodeOf(want) || e.Message != want.Error() {
			t.Errorf("an implementation returning %v: caller got %v", want, err)
		}
		if errors.Is(err, want) {
			t.Errorf("%v matches the caller's context error %v", err, want)
		}
	}
}

// TestErrorRulesWithoutHandler: a call on a Remote whose pipe is gone
// fails with an error matching ErrDisconnected and the cause, whether or
// not a disconnect handler was set (it used to depend on it, as only the
// handler's goroutine noticed the closure).
func TestErrorRulesWithoutHandler(t *testing.T) {
	ctx := testContext(t)
	failures := map[string]func() mage.MessagePipe{
		"peer closed": func() mage.MessagePipe {
			a, b := mage.CreatePipe()
			_ = b.Close()
			return a
		},
		"invalid pipe": func() mage.MessagePipe { return mage.MessagePipe{} },
	}
	causes := map[string]error{"peer closed": mage.ErrPeerClosed, "invalid pipe": mage.ErrInvalidPipe}
	for name, pipe := range failures {
		for _, handler := range []bool{false, true} {
			remote := calcv1.NewCalcRemote(pipe())
			var handled chan error
			if handler {
				handled = make(chan error, 1)
				remote.SetDisconnectHandler(func(err error) { handled <- err })
			}
			sendErr := remote.Note(1, "x")
			_, _, callErr := remote.Add(ctx, 1, 2, 3)
			for op, err := range map[string]error{"Send": sendErr, "Call": callErr} {
				// A one-way message written before the closure is known
				// is dropped silently, as on a MessagePipe; here the
				// closure is known at once.
				if !errors.Is(err, bindings.ErrDisconnected) || !errors.Is(err, causes[name]) {
					t.Errorf("%s, handler %v: %s = %v, want ErrDisconnected and %v", name, handler, op, err, causes[name])
				}
			}
			if handler {
				if err := <-handled; !errors.Is(err, bindings.ErrDisconnected) || !errors.Is(err, causes[name]) {
					t.Errorf("%s: handler got %v", name, err)
				}
			}
			_ = remote.Close()
		}
	}
}

// TestNilRemote: the methods of a nil or zero-value generated Remote fail
// with ErrNilRemote instead of dereferencing nil, and consume what they
// are given.
func TestNilRemote(t *testing.T) {
	ctx := testContext(t)
	var nilRemote *calcv1.CalcRemote
	var zero calcv1.CalcRemote
	for name, r := range map[string]*calcv1.CalcRemote{"nil": nilRemote, "zero": &zero} {
		if _, _, err := r.Add(ctx, 1, 2, 3); !errors.Is(err, bindings.ErrNilRemote) {
			t.Errorf("%s: Add = %v", name, err)
		}
		if err := r.Note(1, "x"); !errors.Is(err, bindings.ErrNilRemote) {
			t.Errorf("%s: Note = %v", name, err)
		}
		// A pipe passed to a failing call is consumed: its peer sees it
		// closed.
		started, mine := calcv1.NewCalcPipe()
		if err := r.Wait(ctx, started); !errors.Is(err, bindings.ErrNilRemote) {
			t.Errorf("%s: Wait = %v", name, err)
		}
		if _, err := mine.PassPipe().ReadMessage(); !errors.Is(err, mage.ErrPeerClosed) {
			t.Errorf("%s: the pipe passed to Wait was not closed: %v", name, err)
		}
		_ = mine.PassPipe().Close()
	}
	// The embedded methods work on a zero value.
	if err := zero.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if _, err := zero.QueryVersion(ctx); !errors.Is(err, bindings.ErrNilRemote) {
		t.Errorf("QueryVersion = %v", err)
	}
	if _, err := zero.Unbind(); !errors.Is(err, bindings.ErrNilRemote) {
		t.Errorf("Unbind = %v", err)
	}
	if err := zero.Err(); !errors.Is(err, bindings.ErrNilRemote) {
		t.Errorf("Err = %v", err)
	}
}
