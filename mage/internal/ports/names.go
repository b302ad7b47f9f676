package ports

import (
	"fmt"
	"io"

	"github.com/mage-ipc/mage/mage/internal/names"
)

// NodeName names a node (one process); the type is shared with the
// runtime and the codec. The zero value names no node.
type NodeName = names.NodeName

// PortName names a port on its node; the type is shared with the runtime
// and the codec. The zero value names no port.
type PortName = names.PortName

// Address is where a port lives.
type Address struct {
	Node NodeName
	Port PortName
}

// String formats the address as node:port.
func (a Address) String() string { return a.Node.String() + ":" + a.Port.String() }

// newPortName draws a fresh name that is neither zero nor in use here.
// Names of ports created for other nodes are drawn here too; collisions on
// the other node are refused by AdoptPort.
func (n *Node) newPortName() PortName {
	if n.nameBuf == nil {
		n.nameBuf = make([]byte, len(PortName{}))
	}
	for {
		// Read into the node's buffer: a local array passed to the
		// io.Reader would escape, an allocation per name.
		if _, err := io.ReadFull(n.rand, n.nameBuf); err != nil {
			// Config.Rand is crypto/rand in production, which does not fail;
			// a failing source is a configuration bug nothing can recover from.
			panic(fmt.Sprintf("ports: reading a port name: %v", err))
		}
		p := PortName(n.nameBuf)
		if _, used := n.ports[p]; !p.IsZero() && !used {
			return p
		}
	}
}

// lessPort orders port names so that iteration over ports is deterministic.
func lessPort(a, b PortName) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
