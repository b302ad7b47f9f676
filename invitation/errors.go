package invitation

import (
	"errors"
	"fmt"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrNotInvited is returned by Accept in a process whose environment
	// holds no invitation.
	ErrNotInvited = errors.New("invitation: this process was not invited (" + EnvVar + " is not set)")
	// ErrBadInvitation matches every error about a malformed or unusable
	// invitation variable, and a handshake the peer failed.
	ErrBadInvitation = errors.New("invitation: bad invitation")
	// ErrAlreadySent is returned when an invitation is used twice.
	ErrAlreadySent = errors.New("invitation: already sent")
	// ErrTokenUsed is why a Listener refuses a dialer that proved the
	// token after another did: a token is single-use.
	ErrTokenUsed = errors.New("invitation: the invitation's token was used already")
	// ErrPeerGone is returned when the other side closed its end before the
	// handshake finished: a child that exited before accepting, or a parent
	// that exited before the child accepted.
	ErrPeerGone = errors.New("invitation: the other side went away before the handshake finished")
)

// BadInvitationError says what is wrong with the invitation variable. It
// matches ErrBadInvitation.
type BadInvitationError struct {
	// Value is the variable's value with the token elided.
	Value string
	// Reason says what is wrong.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

func (e *BadInvitationError) Error() string {
	msg := fmt.Sprintf("invitation: bad %s %q: %s", EnvVar, e.Value, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes errors.Is(err, ErrBadInvitation) true.
func (e *BadInvitationError) Is(target error) bool { return target == ErrBadInvitation }

// Unwrap returns the underlying error.
func (e *BadInvitationError) Unwrap() error { return e.Err }
