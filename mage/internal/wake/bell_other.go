//go:build !linux

package wake

import "os"

// ringBytes is what Ring writes: one byte; a full pipe has rung already.
var ringBytes = [1]byte{1}

// New makes a Bell from a pipe (os.Pipe's ends go to the poller).
func New() (*Bell, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	return newBell(r, w), nil
}
