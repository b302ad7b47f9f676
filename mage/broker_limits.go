package mage

import "time"

// BrokerLimits bound what the broker keeps for the nodes of its tree. A
// node that goes over one of them is misbehaving: its connection is cut and
// the offence is reported to the bad-message handlers, charged to the
// broker's direct client that answers for it (see BadMessageError). They
// matter only on the broker, the root node of a tree.
type BrokerLimits struct {
	// MaxChildrenPerNode is the most nodes one node may have registered
	// with the broker at once, counting those whose registration is still
	// in progress. A registered node that goes frees its place.
	MaxChildrenPerNode int
	// MaxPendingRegistrations is the most registrations of one node that
	// may be in progress at once: sent, but not yet completed by the
	// registered child's handshake with the broker.
	MaxPendingRegistrations int
	// RegistrationTimeout bounds the registered child's handshake over the
	// socket its inviter handed the broker. A registration not completed in
	// time is forgotten and its socket closed.
	RegistrationTimeout time.Duration
	// MaxPendingIntroductions is the most introductions one node may be
	// waiting for at once: requests for nodes the broker has not (yet)
	// connected. Requests for the same node count once.
	MaxPendingIntroductions int
	// IntroductionWait bounds how long a request for a node the broker has
	// not connected waits for that node to register; then the broker
	// answers that it knows no such node, and the requester treats it as
	// lost.
	IntroductionWait time.Duration
}

// DefaultBrokerLimits are the limits a Node uses for zero fields of its
// NodeOptions.Broker.
var DefaultBrokerLimits = BrokerLimits{
	MaxChildrenPerNode:      256,
	MaxPendingRegistrations: 16,
	RegistrationTimeout:     10 * time.Second,
	MaxPendingIntroductions: 256,
	IntroductionWait:        10 * time.Second,
}

func (b BrokerLimits) withDefaults() BrokerLimits {
	d := DefaultBrokerLimits
	if b.MaxChildrenPerNode <= 0 {
		b.MaxChildrenPerNode = d.MaxChildrenPerNode
	}
	if b.MaxPendingRegistrations <= 0 {
		b.MaxPendingRegistrations = d.MaxPendingRegistrations
	}
	if b.RegistrationTimeout <= 0 {
		b.RegistrationTimeout = d.RegistrationTimeout
	}
	if b.MaxPendingIntroductions <= 0 {
		b.MaxPendingIntroductions = d.MaxPendingIntroductions
	}
	if b.IntroductionWait <= 0 {
		b.IntroductionWait = d.IntroductionWait
	}
	return b
}
