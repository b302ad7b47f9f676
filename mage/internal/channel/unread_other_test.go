//go:build !linux

package channel

import "testing"

// unreadBytes reports nothing unread: these systems are not asked for the
// receive queue's length, so tests that wait for the reader to have taken
// a write do not wait, and the writes may be read together.
func unreadBytes(*testing.T, int) int { return 0 }
