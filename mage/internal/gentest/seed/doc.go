// Package seed is generated from the seed README's ParentProcess and
// NetworkProcess interfaces, verbatim.
package seed

//go:generate go run github.com/mage-ipc/mage/cmd/magen -out . ../../../testdata/magen/parent_process.magen ../../../testdata/magen/network_process.magen
