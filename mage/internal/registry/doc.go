// Package registry is the table of the interfaces linked into the program,
// by fingerprint. mage/bindings fills it as generated packages initialise;
// the runtime reads it to name the method of a message in traces. It lives
// here, below both, because the runtime must not import the bindings.
package registry
