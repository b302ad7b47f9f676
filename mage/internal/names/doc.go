// Package names holds the one type for node names and the one for port
// names that the runtime (mage), the routing state machine (ports) and the
// frame codec (wire) share, so that a name crosses those layers without a
// conversion and reads the same in every log.
package names
