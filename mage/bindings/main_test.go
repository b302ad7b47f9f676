package bindings

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: a Remote's
// reader, a Receiver's loop or a method's goroutine that outlives its
// owner.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
