// Package everything is generated from mage/testdata/magen/everything.magen
// and observer.magen, which use every construct of the magen language.
package everything

//go:generate go tool magen -out . ../../../testdata/magen/everything.magen ../../../testdata/magen/observer.magen
