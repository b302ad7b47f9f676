package bindings

import "errors"

// Errors of the typed bindings (Remote, Receiver, Encoder, Decoder). Match
// them with errors.Is.
var (
	// ErrBadMessage matches every error for a message that failed
	// validation: a short or overlong payload, a bad length, count, bool or
	// index, a missing or extra pipe or handle, an unknown method, a wrong
	// interface fingerprint, or flags that do not fit the method. Such a
	// message never reaches user code; the pipe it came on is closed and
	// the node's bad-message hook fires.
	ErrBadMessage = errors.New("bindings: bad message")
	// ErrUnknownMethod matches a bad message whose method ordinal the
	// interface does not have. It matches ErrBadMessage too.
	ErrUnknownMethod error = &badMessageKind{"bindings: bad message: unknown method"}
	// ErrWrongInterface matches a bad message whose interface fingerprint is
	// not the one of the Remote or Receiver it reached. It matches
	// ErrBadMessage too.
	ErrWrongInterface error = &badMessageKind{"bindings: bad message: wrong interface"}
	// ErrDisconnected matches the error of a call that cannot complete
	// because the pipe closed: the peer closed it, its process died, or a
	// bad message closed it. The error wraps the cause.
	ErrDisconnected = errors.New("bindings: disconnected")
	// ErrRemoteClosed is returned by calls on a Remote after Close, and
	// fails the calls still waiting when Close is called.
	ErrRemoteClosed = errors.New("bindings: remote closed")
	// ErrReceiverClosed is what Receiver.Err returns after Close.
	ErrReceiverClosed = errors.New("bindings: receiver closed")
	// ErrUnbound is returned by calls on a Remote after Unbind, and fails
	// the calls waiting when Unbind is called; Receiver.Err returns it
	// after Receiver.Unbind.
	ErrUnbound = errors.New("bindings: unbound")
	// ErrNilRemote is returned by every call on a nil *Remote, which is
	// what a zero-value or nil generated FooRemote holds: make one with
	// NewFooRemote or FooPendingRemote.Bind.
	ErrNilRemote = errors.New("bindings: call on a nil Remote (a zero-value or nil generated Remote: make one with NewFooRemote)")
	// ErrReconnectingClosed is returned by Reconnecting.Get after Close.
	ErrReconnectingClosed = errors.New("bindings: reconnecting remote closed")
	// ErrEncode matches an argument that cannot be encoded: a string,
	// byte slice or array over 4 GiB, or one *os.File passed twice.
	ErrEncode = errors.New("bindings: cannot encode")
)

// RemoteError is the error a call returns when the implementation returned
// an error, or when its results could not be sent (over a limit, say): it
// carries the error's text across the pipe.
type RemoteError struct {
	// Method is the full name of the method, as "calc.Calculator.Add".
	Method string
	// Message is the text of the implementation's error.
	Message string
}

func (e *RemoteError) Error() string {
	return "bindings: " + e.Method + ": remote error: " + e.Message
}

// Is makes a RemoteError match ErrUnknown: its error had no code.
func (e *RemoteError) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == Unknown && t.Message == ""
}

// badMessageKind is a sentinel for one kind of bad message.
type badMessageKind struct{ msg string }

func (e *badMessageKind) Error() string { return e.msg }

// Is makes the kind match ErrBadMessage.
func (e *badMessageKind) Is(target error) bool { return target == ErrBadMessage }
