// Package benchmagen holds the bindings generated from bench.magen, the
// interface the benchmark's "mage typed" contender calls.
package benchmagen

//go:generate go run github.com/mage-ipc/mage/cmd/magen -out . bench.magen
