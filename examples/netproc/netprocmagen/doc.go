// Package netprocmagen holds the bindings generated from netproc.magen.
package netprocmagen

//go:generate go tool magen netproc.magen
