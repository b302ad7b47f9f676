package invitation

import (
	"fmt"
	"os"
)

// Value is an invitation as the invited process receives it, when the
// inviter passes it on a channel of its own rather than through EnvVar: an
// inherited descriptor at a number the two sides agreed on, a file sent
// over another socket, or the two halves of a test in one process.
// Invitation.ChildValue makes one; AcceptFrom accepts one.
//
// The token is a secret: it lets whoever holds File's peer accept the
// invitation's pipes. Pass it only to the invited process.
type Value struct {
	// File is the invited process's end of the invitation socket: a
	// connected Unix stream socket.
	File *os.File
	// Token is what the invited process presents in the handshake, and
	// what it expects from the inviter: TokenSize random bytes.
	Token []byte
	// Broker is the invited process's end of a socket to the tree's
	// broker, when the inviter is not the broker (it registers the invited
	// process with the broker once the invitation is accepted). Nil means
	// the inviter is the broker.
	Broker *os.File
}

// BadValueError says what is wrong with a Value given to AcceptFrom. It
// matches ErrBadInvitation.
type BadValueError struct {
	// Reason says what is wrong.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

func (e *BadValueError) Error() string {
	msg := "invitation: bad invitation value: " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes errors.Is(err, ErrBadInvitation) true.
func (e *BadValueError) Is(target error) bool { return target == ErrBadInvitation }

// Unwrap returns the underlying error.
func (e *BadValueError) Unwrap() error { return e.Err }

// ChildValue makes the invitation's socket, as PrepareCommand does, and
// returns the invited process's side of it, for the inviter to pass on a
// channel of its own; the invited process accepts it with AcceptFrom.
// Either side can thus invite: a parent its child through a descriptor it
// chose, or one process a node of its own.
//
// The files of the Value stay the invitation's: pass them on (an
// exec.Cmd's ExtraFiles duplicates them into the child), then call
// CloseChildSide, and Send, which returns once the invited process has
// accepted. To invite a node in this same process, hand the Value to a
// goroutine that calls AcceptFrom with AcceptOptions.Node set, without
// CloseChildSide: AcceptFrom takes the files over. ChildValue fails once
// the invitation was prepared (by PrepareCommand or an earlier ChildValue)
// or sent.
func (inv *Invitation) ChildValue() (Value, error) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if err := inv.makeSocketsLocked(); err != nil {
		return Value{}, fmt.Errorf("invitation: child value: %w", err)
	}
	v := Value{File: inv.theirs, Token: append([]byte(nil), inv.token...)}
	if !inv.broker.ViaInviter() {
		v.Broker = inv.broker.ChildEnd()
	}
	return v, nil
}
