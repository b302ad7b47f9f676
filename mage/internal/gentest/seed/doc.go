// Package seed is generated from the seed README's ParentProcess and
// NetworkProcess interfaces, verbatim.
package seed

//go:generate go tool magen -out . ../../../testdata/magen/parent_process.magen ../../../testdata/magen/network_process.magen
