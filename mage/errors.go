package mage

import (
	"errors"
	"fmt"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrNoMessage is returned by ReadMessage when no message is ready yet.
	ErrNoMessage = errors.New("mage: no message ready")
	// ErrPeerClosed matches the error ReadMessage returns once the other
	// end closed and every message it sent before closing has been read.
	ErrPeerClosed = errors.New("mage: peer closed")
	// ErrPipeClosed is returned by operations on an end that was closed.
	ErrPipeClosed = errors.New("mage: pipe closed")
	// ErrPipeMoved is returned by operations on an end that was sent away
	// inside a message or as an invitation attachment.
	ErrPipeMoved = errors.New("mage: pipe was sent away")
	// ErrPipeBound matches the error of sending an end that a binding (a
	// Remote or Receiver of mage/bindings) owns, in a message or as a
	// Connect or invitation attachment: the end stays where it is, and the
	// binding keeps working. That error matches ErrBadAttachment too.
	ErrPipeBound = errors.New("mage: pipe is bound to a Remote or Receiver")
	// ErrInvalidPipe is returned for the zero MessagePipe.
	ErrInvalidPipe = errors.New("mage: invalid pipe")
	// ErrBadAttachment is returned by WriteMessage for a message that
	// carries its own pipe, the pipe's peer, a pipe twice, or an invalid
	// pipe.
	ErrBadAttachment = errors.New("mage: bad pipe attachment")
	// ErrTooLarge is returned by WriteMessage for a message over the
	// configured limits.
	ErrTooLarge = errors.New("mage: message too large")
	// ErrNodeClosed is returned after the node was closed.
	ErrNodeClosed = errors.New("mage: node closed")
	// ErrHandshake matches every error of the connection handshake.
	ErrHandshake = errors.New("mage: handshake failed")
	// ErrNameProof matches the error of a handshake in which the peer did
	// not prove the node name it claims to the broker: it sent no proof
	// where one is due, or one that does not derive that name. On the
	// broker it is a bad message, charged to the node that answers for
	// the connection (docs/security.md).
	ErrNameProof = errors.New("mage: node name not proven")
	// ErrAlreadyConnected is returned by Connect when the peer node is
	// already connected to this one.
	ErrAlreadyConnected = errors.New("mage: node already connected")
	// ErrNotConnected is returned by Node.PeerCounters for a node this
	// node has no connection to, or whose connection ended.
	ErrNotConnected = errors.New("mage: not connected to that node")
	// ErrClosedLocally is Connection.Err after this side closed the
	// connection (Connection.Close or Node.Close).
	ErrClosedLocally = errors.New("mage: connection closed locally")
	// ErrPeerBackedUp is returned by WriteMessage, which then sends and
	// consumes nothing, when Limits.MaxQueuedBytes are already queued
	// toward the node the pipe's peer lives on: that node is not reading.
	// Try again later, or treat the peer as stuck.
	ErrPeerBackedUp = errors.New("mage: peer is not reading")
	// ErrSlowReader is why a connection was cut when the frames this node
	// had to send toward the peer exceeded twice Limits.MaxQueuedBytes (or
	// Limits.MaxQueuedHandles descriptors): the peer does not read. It is
	// reported as a bad message of the peer.
	ErrSlowReader = errors.New("mage: peer does not read: connection cut")
	// ErrCannotUnread is returned by MessagePipe.Unread for messages it
	// cannot put back.
	ErrCannotUnread = errors.New("mage: cannot unread message")
)

// PeerClosedError is what ReadMessage returns when the peer is gone. It
// matches ErrPeerClosed and says why: an orderly close, or the loss of the
// process the peer lived in.
type PeerClosedError struct {
	// NodeLost is true when the peer's node went away (process exit, socket
	// EOF, a bad frame) rather than closing the pipe.
	NodeLost bool
	// Node is the lost node, when NodeLost.
	Node NodeName
	// Cause is why the node was lost, when known.
	Cause error
}

func (e *PeerClosedError) Error() string {
	if !e.NodeLost {
		return "mage: peer closed"
	}
	if e.Cause != nil {
		return fmt.Sprintf("mage: peer closed: node %s lost: %v", e.Node, e.Cause)
	}
	return fmt.Sprintf("mage: peer closed: node %s lost", e.Node)
}

// Is makes errors.Is(err, ErrPeerClosed) true.
func (e *PeerClosedError) Is(target error) bool { return target == ErrPeerClosed }

// Unwrap returns the cause of a node loss.
func (e *PeerClosedError) Unwrap() error { return e.Cause }

// VersionError is returned when the two sides of a connection speak
// protocol versions with no overlap. Both sides get it.
type VersionError struct {
	Local, Remote uint16
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("mage: handshake failed: protocol version mismatch: this side speaks %d, the peer speaks %d", e.Local, e.Remote)
}

// Is makes errors.Is(err, ErrHandshake) true.
func (e *VersionError) Is(target error) bool { return target == ErrHandshake }
