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

	// ErrFrameTimeout means the peer began a frame and did not finish it
	// within Options.FrameTimeout.
	ErrFrameTimeout = errors.New("channel: frame not finished in time")

	// ErrPeerFault matches every error caused by what the peer sent: a
	// frame that fails to decode or is too large, descriptors that do not
	// match the frames, a frame not finished in time. An error that
	// matches it is the peer's misbehaviour, not an ordinary end of the
	// connection.
	ErrPeerFault = errors.New("channel: peer broke the protocol")

	// ErrControlTruncated means the kernel truncated the ancillary data of a
	// read (MSG_CTRUNC): descriptors were lost, so the stream of handles no
	// longer lines up with the frames.
	ErrControlTruncated = errors.New("channel: control message truncated")
)

// faultError marks err as caused by the peer: it matches ErrPeerFault and
// unwraps to err, and reads as err does.
type faultError struct{ err error }

func (e *faultError) Error() string        { return e.err.Error() }
func (e *faultError) Unwrap() error        { return e.err }
func (e *faultError) Is(target error) bool { return target == ErrPeerFault }

// peerFault marks err as the peer's fault.
func peerFault(err error) error { return &faultError{err: err} }
