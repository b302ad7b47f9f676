package ports

import "fmt"

// CloseReason says why a port reports its peer closed.
type CloseReason uint8

const (
	// ReasonNone: the peer has not closed (or not every message it sent
	// before closing has been taken yet).
	ReasonNone CloseReason = iota
	// ReasonPeerClosed: the peer closed its end.
	ReasonPeerClosed
	// ReasonNodeLost: a node on the pipe's route (possibly the peer's) was
	// lost; what was received in sequence has been delivered.
	ReasonNodeLost
)

func (r CloseReason) String() string {
	switch r {
	case ReasonNone:
		return "none"
	case ReasonPeerClosed:
		return "peer closed"
	case ReasonNodeLost:
		return "node lost"
	}
	return fmt.Sprintf("CloseReason(%d)", uint8(r))
}

// Status is what a receiving port shows its reader.
type Status struct {
	// Readable: GetMessage would return a message now.
	Readable bool
	// PeerClosed: the peer closed (or was lost) AND every message it sent
	// before closing that will ever arrive has been taken. Nothing more will
	// arrive.
	PeerClosed bool
	// Reason is set when PeerClosed.
	Reason CloseReason
	// LostNode names the lost node when Reason is ReasonNodeLost and this
	// node observed the loss itself; it is zero when the loss was reported
	// by another node's ClosureEvent.
	LostNode NodeName
}
