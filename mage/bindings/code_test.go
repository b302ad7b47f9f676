package bindings

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestCodedErrorsMatchContextErrors: a reply of code DeadlineExceeded or
// Canceled, which an implementation returns when its copy of the caller's
// deadline fires first, matches the context error the caller would get had
// its own context ended first; no other code does.
func TestCodedErrorsMatchContextErrors(t *testing.T) {
	for code := Code(0); code <= Unauthenticated; code++ {
		err := fmt.Errorf("bindings: Calc.Wait: %w", NewError(code, "from the callee"))
		if got, want := errors.Is(err, context.DeadlineExceeded), code == DeadlineExceeded; got != want {
			t.Errorf("code %v: errors.Is(err, context.DeadlineExceeded) = %v", code, got)
		}
		if got, want := errors.Is(err, context.Canceled), code == Canceled; got != want {
			t.Errorf("code %v: errors.Is(err, context.Canceled) = %v", code, got)
		}
		if !errors.Is(err, &Error{Code: code}) {
			t.Errorf("code %v: does not match its own sentinel", code)
		}
	}
}
