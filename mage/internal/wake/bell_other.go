//go:build !linux

package wake

// ringBytes is what Ring writes: one byte; a full pipe has rung already.
var ringBytes = [1]byte{1}

// New makes a Bell from a pipe.
func New() (*Bell, error) { return newPipeBell() }
