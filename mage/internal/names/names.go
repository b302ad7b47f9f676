package names

import "encoding/hex"

// Size is the length of a name in bytes.
const Size = 16

// NodeName is the random 128-bit name of a node (one process). The zero
// name is never a valid node.
type NodeName [Size]byte

// IsZero reports whether n is the zero name.
func (n NodeName) IsZero() bool { return n == NodeName{} }

// String returns n in hex, the spelling every log and error uses.
func (n NodeName) String() string { return hex.EncodeToString(n[:]) }

// PortName is the random 128-bit name of a port on its node. The zero name
// is never a valid port.
type PortName [Size]byte

// IsZero reports whether p is the zero name.
func (p PortName) IsZero() bool { return p == PortName{} }

// String returns p in hex, the spelling every log and error uses.
func (p PortName) String() string { return hex.EncodeToString(p[:]) }
