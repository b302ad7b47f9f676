// Package sockets holds the Unix-socket helpers that the runtime (mage) and
// the invitation package share: close-on-exec socketpairs, and turning an
// inherited or received descriptor into a *net.UnixConn. It is internal so
// that none of this becomes part of the module's public surface.
package sockets
