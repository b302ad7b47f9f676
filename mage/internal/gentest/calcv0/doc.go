// Package calcv0 is generated from mage/testdata/magen/v0/calc.magen:
// version 0 of the interface Calc, for the tests of interface versioning.
package calcv0

//go:generate go tool magen -package calcv0 -out . ../../../testdata/magen/v0/calc.magen
