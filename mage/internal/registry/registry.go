package registry

import (
	"fmt"
	"sync"
)

// Interface is what the table holds for one interface: something that
// names its methods (a *bindings.InterfaceDescriptor).
type Interface interface {
	// MethodName names a method as "pkg.Interface.Method".
	MethodName(ordinal uint32) string
}

// table is filled while packages initialise and read afterwards.
var table struct {
	// mu guards byFingerprint.
	mu            sync.RWMutex
	byFingerprint map[uint32]Interface
}

// Register records iface under fingerprint and returns the entry the table
// keeps: iface, or the one registered first under the same fingerprint
// (the same .magen file generated into two packages).
func Register(fingerprint uint32, iface Interface) Interface {
	table.mu.Lock()
	defer table.mu.Unlock()
	if table.byFingerprint == nil {
		table.byFingerprint = map[uint32]Interface{}
	}
	if kept, ok := table.byFingerprint[fingerprint]; ok {
		return kept
	}
	table.byFingerprint[fingerprint] = iface
	return iface
}

// Lookup returns the entry registered under fingerprint.
func Lookup(fingerprint uint32) (Interface, bool) {
	table.mu.RLock()
	defer table.mu.RUnlock()
	iface, ok := table.byFingerprint[fingerprint]
	return iface, ok
}

// MethodName names the method of a message: the registered interface's
// name for it, or "interface 0x1234abcd method 7" when no registered
// interface has the fingerprint.
func MethodName(fingerprint, ordinal uint32) string {
	if iface, ok := Lookup(fingerprint); ok {
		return iface.MethodName(ordinal)
	}
	return fmt.Sprintf("interface 0x%08x method %d", fingerprint, ordinal)
}
