package bindings

import (
	"encoding/binary"
	"time"

	"github.com/mage-ipc/mage/mage"
)

// The bindings' own parts of a message header (docs/protocol.md, "Bindings
// control"). mage owns flag bits 0 and 1; the bindings use bit 2 and bits
// 16 to 31, and reserve the method ordinals from ReservedOrdinals up for
// control messages, which carry the interface's fingerprint like any other
// message but reach no implementation.
const (
	// flagTimeout marks a request whose payload starts with the caller's
	// remaining time: 8 bytes, little-endian nanoseconds, not negative.
	flagTimeout uint32 = 1 << 2
	// versionShift places the sender's interface version in the flags'
	// top 16 bits: the version whose layout the payload has.
	versionShift = 16
	// knownFlags are every flag bit a message may carry.
	knownFlags = 1<<0 | 1<<1 | flagTimeout | 0xFFFF<<versionShift

	// timeoutSize is the size of a request's timeout.
	timeoutSize = 8

	// ReservedOrdinals is the lowest method ordinal kept for control
	// messages; magen rejects ordinals at and above it.
	ReservedOrdinals uint32 = 0xFFFFFF00
	// ordinalCancel: the caller gave up the call whose request id the
	// message carries (its context ended). No payload, no reply; a cancel
	// for a call that is not running is ignored.
	ordinalCancel uint32 = 0xFFFFFFFF
	// ordinalQueryVersion asks for the receiver's interface version. No
	// payload; the reply's results are one int, the version.
	ordinalQueryVersion uint32 = 0xFFFFFFFE
	// ordinalRequireVersion carries one int, a version: a receiver older
	// than it closes the pipe. No reply.
	ordinalRequireVersion uint32 = 0xFFFFFFFD

	// MaxVersion is the highest interface version the header can carry.
	MaxVersion = 0xFFFF
)

// messageVersion is the interface version a message was sent at.
func messageVersion(flags uint32) uint32 { return flags >> versionShift }

// versionFlags are the flags that say a message was sent at version v.
func versionFlags(v uint32) uint32 { return v << versionShift }

// putTimeout writes the time left until deadline before e's payload, and
// returns the payload with it.
func (e *Encoder) putTimeout(deadline time.Time) []byte {
	left := time.Until(deadline)
	if left < 0 {
		left = 0
	}
	if e.start < timeoutSize {
		// A large request, encoded without room for the timeout (see
		// NewEncoder): move it behind one, and give its buffer, never
		// sent, back.
		old := e.buf
		e.buf = mage.NewPayload(timeoutSize + len(old) - e.start)
		copy(e.buf[timeoutSize:], old[e.start:])
		e.start = timeoutSize
		(&mage.Message{Payload: old}).Release()
	}
	binary.LittleEndian.PutUint64(e.buf[:timeoutSize], uint64(left))
	return e.buf
}

// controlName names a control method for errors and traces.
func controlName(ordinal uint32) string {
	switch ordinal {
	case ordinalCancel:
		return "Cancel"
	case ordinalQueryVersion:
		return "QueryVersion"
	case ordinalRequireVersion:
		return "RequireVersion"
	}
	return ""
}
