package ports

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned by Node. API errors come wrapped in *PortError, errors
// about events from other nodes in *EventError; test with errors.Is.
var (
	// ErrUnknownPort: no such port on this node. It never existed, was
	// closed, or (for a proxy) has been removed.
	ErrUnknownPort = errors.New("ports: unknown port")
	// ErrPortInTransit: the port is attached to a message sitting on this
	// node, or it has moved to another node (it is a proxy now). Its owner is
	// the message or the other node, not the caller.
	ErrPortInTransit = errors.New("ports: port in transit")
	// ErrInvalidAttachment: a port attached to SendMessage is not a
	// receiving port of this node the caller owns, is attached twice, or is
	// the sending port, its peer, or carries either of them in its queue.
	ErrInvalidAttachment = errors.New("ports: invalid attachment")
	// ErrPeerClosed: the peer closed (or was lost); nothing can be sent.
	ErrPeerClosed = errors.New("ports: peer closed")
	// ErrInvalidNode: a zero node name, or this node where another is needed.
	ErrInvalidNode = errors.New("ports: invalid node")
	// ErrNodeLost: the node was already reported lost.
	ErrNodeLost = errors.New("ports: node lost")
	// ErrPortExists: a descriptor names a port that already exists here.
	ErrPortExists = errors.New("ports: port name in use")
	// ErrBadDescriptor: a descriptor is malformed.
	ErrBadDescriptor = errors.New("ports: malformed descriptor")
	// ErrBadSequence: an event's sequence number is zero, repeats one
	// already received, or lies beyond the peer's announced last one.
	ErrBadSequence = errors.New("ports: bad sequence number")
	// ErrBadEvent: an event of unknown type or with a malformed field.
	ErrBadEvent = errors.New("ports: malformed event")
	// ErrNotAuthorized: the sending node may not address that port with
	// that event (see Capabilities in the package documentation).
	ErrNotAuthorized = errors.New("ports: event from a node not entitled to address the port")
	// ErrOutsideWindow: a user message's sequence number lies further
	// ahead of the next one expected than Config.ReorderWindow allows.
	ErrOutsideWindow = errors.New("ports: sequence number beyond the reordering window")
	// ErrTooManyPorts: the sending node would have more ports adopted from
	// it alive on this node than Config.MaxPortsPerNode allows.
	ErrTooManyPorts = errors.New("ports: too many ports from one node")
	// ErrTooManyHeld: the sending node has more events waiting for its
	// authority to be confirmed than Config.MaxHeldEvents allows, spread
	// over stints of one event each (a fuller stint is refused instead).
	ErrTooManyHeld = errors.New("ports: too many events held from one node")
)

// PortError is an error from a Node method about one port.
type PortError struct {
	Op   string   // the method: "send", "get", "status", "close", "move", "adopt"
	Port PortName // the port the call was about (for an attachment: the attachment)
	Err  error    // one of the sentinels above
}

func (e *PortError) Error() string {
	return fmt.Sprintf("ports: %s %s: %s", e.Op, e.Port, trimPrefix(e.Err))
}

func (e *PortError) Unwrap() error { return e.Err }

// EventError is an error about an event that arrived from another node. The
// event has been dealt with (dropped, its body passed to DropBody and its
// attached ports closed) when this is returned; the error is for the
// runtime's bad-message policy.
type EventError struct {
	From   NodeName
	Target PortName
	Seq    uint64 // the event's sequence number, when it has one
	Detail string
	Err    error
}

func (e *EventError) Error() string {
	s := fmt.Sprintf("ports: event from %s to %s", e.From, e.Target)
	if e.Seq != 0 {
		s += fmt.Sprintf(" seq %d", e.Seq)
	}
	s += ": " + trimPrefix(e.Err)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

func (e *EventError) Unwrap() error { return e.Err }

func trimPrefix(err error) string { return strings.TrimPrefix(err.Error(), "ports: ") }

func portErr(op string, p PortName, err error) error { return &PortError{Op: op, Port: p, Err: err} }

// causeError is an error matching several sentinels.
type causeError struct {
	text string
	errs []error
}

func (e *causeError) Error() string   { return e.text }
func (e *causeError) Unwrap() []error { return e.errs }
