// Package control is mage-run's control plane: the Control interface
// (control.magen), served by a running tree on a Unix socket reachable by
// its own user only (peer credentials) with a token, and the client side
// that mage-run ctl uses. The socket of a tree is found from the spec's
// directory, so that ctl needs no flags when run from there.
package control

//go:generate go tool magen control.magen
