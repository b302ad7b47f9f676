package wire

import (
	"errors"
	"strconv"
)

// Sentinel errors. Decode and ParseHeader return a *DecodeError (or a
// *VersionError) that matches exactly one of these with errors.Is; the
// Validate methods wrap them too.
var (
	// ErrTruncated means the input ends before the frame does.
	ErrTruncated = errors.New("wire: truncated frame")

	// ErrBadMagic means the frame does not start with Magic: the peer is
	// not speaking this protocol, or the stream lost its framing.
	ErrBadMagic = errors.New("wire: bad magic")

	// ErrUnsupportedVersion means a frame's header carries a version this
	// side does not speak. The error carrying it is a *VersionError naming
	// both.
	ErrUnsupportedVersion = errors.New("wire: unsupported version")

	// ErrUnknownType means the header names no defined FrameType.
	ErrUnknownType = errors.New("wire: unknown frame type")

	// ErrTooLarge means a frame is longer than MaxFrameSize (or than the
	// smaller limit the caller enforces).
	ErrTooLarge = errors.New("wire: frame too large")

	// ErrBadLength means a length is not a multiple of Alignment, is too
	// short for its type, or does not match what the frame holds.
	ErrBadLength = errors.New("wire: bad length")

	// ErrTooManyPorts means a frame carries more than MaxPorts port
	// descriptors.
	ErrTooManyPorts = errors.New("wire: too many ports")

	// ErrTooManyHandles means a frame declares more than MaxHandles OS
	// handles.
	ErrTooManyHandles = errors.New("wire: too many handles")

	// ErrBadCount means a port or handle count does not fit the frame type,
	// or two counts that must agree do not.
	ErrBadCount = errors.New("wire: bad count")

	// ErrReserved means a reserved field, an undefined flag bit or a padding
	// byte is not zero.
	ErrReserved = errors.New("wire: reserved bits set")

	// ErrBadName means a node or port name is zero where one is required,
	// or an attachment name is empty, too long, not printable or repeated.
	ErrBadName = errors.New("wire: bad name")

	// ErrBadValue means a field holds a value its type does not allow (a
	// token too long, a zero version).
	ErrBadValue = errors.New("wire: bad value")
)

// DecodeError describes why a frame was refused. It unwraps to one of the
// sentinel errors above.
type DecodeError struct {
	// Type is the frame's type, or zero if the header itself was bad.
	Type FrameType
	// Field names the offending field, as in docs/protocol.md.
	Field string
	// Offset is the byte offset of Field from the start of the frame.
	Offset int
	// Reason says what is wrong with it, in words.
	Reason string
	// Err is the sentinel the error matches.
	Err error
}

func (e *DecodeError) Error() string {
	kind := "frame"
	if e.Type.Valid() {
		kind = e.Type.String() + " frame"
	}
	return "wire: bad " + kind + ": " + e.Reason + " (" + e.Field + " at offset " + strconv.Itoa(e.Offset) + ")"
}

func (e *DecodeError) Unwrap() error { return e.Err }

// VersionError reports a frame whose header carries a version this side
// does not speak.
type VersionError struct {
	// Peer is the version in the frame; Local the one this side speaks.
	Peer, Local uint16
}

func (e *VersionError) Error() string {
	return "wire: unsupported version: peer speaks " + strconv.Itoa(int(e.Peer)) +
		", this side speaks " + strconv.Itoa(int(e.Local))
}

func (e *VersionError) Unwrap() error { return ErrUnsupportedVersion }

// decodeErr builds a *DecodeError. It is only called on the failure path, so
// its allocation costs nothing on good frames.
func decodeErr(t FrameType, sentinel error, field string, off int, reason string) error {
	return &DecodeError{Type: t, Field: field, Offset: off, Reason: reason, Err: sentinel}
}

func itoa(n int) string { return strconv.Itoa(n) }
