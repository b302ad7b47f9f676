//go:build unix && !linux

package launcher

import (
	"errors"
	"fmt"
)

// BecomeSubreaper makes this process a child subreaper; see the Linux
// version. Elsewhere there is no such thing: it returns an error matching
// errors.ErrUnsupported, and a descendant that leaves its child's process
// group (setsid, setpgid) can outlive the child.
func BecomeSubreaper() error {
	return fmt.Errorf("launcher: become subreaper: %w", errors.ErrUnsupported)
}

// IsSubreaper reports whether this process is a child subreaper: never,
// here.
func IsSubreaper() bool { return false }

// killDescendantsLocked does nothing here: only the child's process group
// is signalled.
func (c *Child) killDescendantsLocked() {}

// endDescendants does nothing here.
func (c *Child) endDescendants() {}

// target is unused here.
type target struct{}
