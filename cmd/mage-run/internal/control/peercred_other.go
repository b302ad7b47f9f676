//go:build !linux && !darwin

package control

import (
	"errors"
	"net"
)

// peerUID is not available here: every connection is refused.
func peerUID(*net.UnixConn) (int, error) { return -1, errors.ErrUnsupported }
