// Package gentest holds the end-to-end tests of magen and the typed
// bindings: packages generated from mage/testdata/magen, committed, and
// exercised in one process and across two.
package gentest
