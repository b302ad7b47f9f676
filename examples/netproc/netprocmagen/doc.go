// Package netprocmagen holds the bindings generated from netproc.magen.
package netprocmagen

//go:generate go run github.com/mage-ipc/mage/cmd/magen netproc.magen
