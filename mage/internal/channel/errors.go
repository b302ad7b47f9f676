package channel

import "errors"

// Sentinel errors. Errors from the peer's bytes wrap the wire package's
// errors instead (errors.Is(err, wire.ErrBadMagic) and so on).
var (
	// ErrClosed is returned by Send after the channel stopped or began
	// closing, and is what HandleError receives after a local Close. When
	// the socket failed, the error returned wraps both ErrClosed and the
	// cause.
	ErrClosed = errors.New("channel: closed")

	// ErrBackpressure is returned by Send when queueing the frames would
	// exceed Options.MaxPendingBytes. The channel stays open.
	ErrBackpressure = errors.New("channel: too many bytes pending")

	// ErrInvalidSend is returned by Send when its bytes are not whole,
	// valid-headed frames within the size limit, or when the number of
	// descriptors does not match what the headers declare.
	ErrInvalidSend = errors.New("channel: invalid send")

	// ErrMissingHandles means the peer sent a frame declaring more
	// descriptors than had arrived with it.
	ErrMissingHandles = errors.New("channel: frame declares handles that did not arrive")

	// ErrTooManyHandles means the peer sent more descriptors ahead of their
	// frames than the receive queue holds.
	ErrTooManyHandles = errors.New("channel: too many handles queued")

	// ErrControlTruncated means the kernel truncated the ancillary data of a
	// read (MSG_CTRUNC): descriptors were lost, so the stream of handles no
	// longer lines up with the frames.
	ErrControlTruncated = errors.New("channel: control message truncated")
)
