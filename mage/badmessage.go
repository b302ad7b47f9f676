package mage

import (
	"errors"
	"fmt"

	"github.com/mage-ipc/mage/mage/internal/ports"
)

// BadMessageError is the error every bad-message report carries (see
// AddBadMessageHandler and NodeOptions.OnBadMessage): what was wrong, the
// node the offending bytes came from, and the node that answers for it.
//
// On the broker, a node registered by another node is answered for by the
// broker's direct client through which it was registered, at any depth:
// whatever a child's registered descendants do is charged to that child,
// so that its supervisor can kill it. Elsewhere a node answers for itself.
type BadMessageError struct {
	// Node is the node the offending message or frame came from.
	Node NodeName
	// Responsible is the node that answers for Node: Node itself, or its
	// registering ancestor that is a direct client of this broker.
	Responsible NodeName
	// Err says what was wrong.
	Err error
}

func (e *BadMessageError) Error() string {
	if e.Responsible == e.Node {
		return fmt.Sprintf("mage: bad message from node %s: %v", e.Node, e.Err)
	}
	return fmt.Sprintf("mage: bad message from node %s, registered through %s: %v", e.Node, e.Responsible, e.Err)
}

// Unwrap returns what was wrong.
func (e *BadMessageError) Unwrap() error { return e.Err }

// ResponsibleNode returns the node a bad-message report (the arguments of
// a handler registered with AddBadMessageHandler) is charged to: the
// Responsible node of its *BadMessageError, or from when err carries none.
func ResponsibleNode(from NodeName, err error) NodeName {
	var bad *BadMessageError
	if errors.As(err, &bad) {
		return bad.Responsible
	}
	return from
}

// badMessageLocked makes the report of err, a fault of node from, charged
// to the node that answers for from.
func (n *Node) badMessageLocked(from NodeName, err error) *BadMessageError {
	var bad *BadMessageError
	if errors.As(err, &bad) {
		return bad
	}
	return &BadMessageError{Node: from, Responsible: NodeName(n.responsibleLocked(ports.NodeName(from))), Err: err}
}

// reportBadMessage logs bad and calls the bad-message hooks with it: onConn,
// the OnBadMessage of the connection the offence came over (nil if none),
// the node's OnBadMessage, and every AddBadMessageHandler handler.
func (n *Node) reportBadMessage(bad *BadMessageError, onConn func(error)) {
	n.log.Warn("bad message", "from", bad.Node.String(), "responsible", bad.Responsible.String(), "error", bad.Err)
	if onConn != nil {
		onConn(bad)
	}
	if n.onBad != nil {
		n.onBad(bad.Node, bad)
	}
	n.badMu.Lock()
	handlers := make([]func(NodeName, error), 0, len(n.badHandlers))
	for _, fn := range n.badHandlers {
		handlers = append(handlers, fn)
	}
	n.badMu.Unlock()
	for _, fn := range handlers {
		fn(bad.Node, bad)
	}
}
