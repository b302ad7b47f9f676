// Package calcv1 is generated from mage/testdata/magen/v1/calc.magen:
// version 1 of the interface Calc, for the tests of interface versioning.
package calcv1

//go:generate go tool magen -package calcv1 -out . ../../../testdata/magen/v1/calc.magen
