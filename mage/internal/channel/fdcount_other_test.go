//go:build !linux

package channel

// openFDs cannot count descriptors portably; the leak checks are skipped.
func openFDs() int { return -1 }
