package bindings

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: a
// Receiver's serving goroutine or a disconnect handler's that outlives its
// owner.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
