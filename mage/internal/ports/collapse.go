package ports

import (
	"fmt"
	"slices"
)

// Route collapsing: a proxy asks the port that sends to it (its referrer)
// to send to the proxy's target instead, then forwards what was already
// routed through it and goes. See the package documentation for the
// protocol and why it keeps pipes ordered and losses reported.

// startObserving makes proxy p, whose move was just acknowledged, ask
// each of its live stints whether it is its referrer. Later
// PeerMovedEvents name further stints (acceptPeerMoved asks those too).
func (n *Node) startObserving(p *port) {
	if p.state != stateProxying || p.observing || p.peerClosed {
		return // a closed or cut-off pipe's proxy drains and goes anyway
	}
	p.observing = true
	p.rareForWrite().asked = map[NodeName]bool{}
	stints := p.stints.list()
	slices.SortFunc(stints, compareStints)
	for _, s := range stints {
		n.observe(p, s)
	}
}

// observe asks stint s's node to switch s, if it sends to proxy p, past
// it.
func (n *Node) observe(p *port, s stintID) {
	r := p.rareForWrite()
	r.asked[s.node] = true
	if !slices.Contains(r.askedPorts, s) {
		r.askedPorts = append(r.askedPorts, s)
	}
	n.emit(s.node, ObserveProxyEvent{Proxy: Address{Node: n.name, Port: p.name}, ProxyTarget: r.target, Referrer: s.port})
}

// acceptObserveProxy handles an ObserveProxyEvent: if a receiving port of
// this node sends to the proxy, it sends to the proxy's target from now on
// and tells the proxy the last sequence number it sent through it.
func (n *Node) acceptObserveProxy(from NodeName, ev ObserveProxyEvent) error {
	bad := func(detail string) error {
		return &EventError{From: from, Target: ev.Proxy.Port, Err: ErrBadEvent, Detail: detail}
	}
	switch {
	case ev.Proxy.Node != from:
		// A proxy speaks only for itself.
		return bad(fmt.Sprintf("observe-proxy for a proxy on node %s", ev.Proxy.Node))
	case ev.Proxy.Port.IsZero() || ev.ProxyTarget.Node.IsZero() || ev.ProxyTarget.Port.IsZero() || ev.Referrer.IsZero():
		return bad("observe-proxy with a zero name")
	case ev.ProxyTarget == ev.Proxy:
		return bad("observe-proxy for a proxy that forwards to itself")
	}
	name := ev.Referrer
	p := n.ports[name]
	if p == nil || p.state != stateReceiving || p.peer != ev.Proxy {
		// The sender moved on (its new stint will be asked), or the port
		// sending to the proxy is a proxy itself, to be bypassed first
		// (its removal names the sender's stint to the proxy), or the
		// pipe closed.
		return nil
	}
	if p.peerClosed {
		// p sends nothing more; its closure (or cut-off) reaches the
		// proxy, which then drains and goes.
		return nil
	}
	if ev.ProxyTarget == (Address{Node: n.name, Port: name}) {
		return bad("observe-proxy would make a port its own peer")
	}
	if n.vouchHolder(p) != nil {
		// What p sent waits at the proxy to be vouched for; switching
		// now would let p's later messages, and its stint's end,
		// overtake them. p answers once vouched for (vouch.go).
		p.rareForWrite().deferredObserve = &ev
		return nil
	}
	if other, used := n.referrers.get(ev.ProxyTarget); used && other != name && ev.ProxyTarget.Node == n.name {
		return bad("observe-proxy target already has a sender on this node")
	}
	n.forgetReferrer(p)
	p.peer = ev.ProxyTarget
	n.referrers.set(p.peer, name)
	n.noteWatched(p.peer.Node)
	// Behind every message p sent the proxy from this node.
	n.emit(from, ObserveProxyAckEvent{Target: ev.Proxy.Port, Sender: name, LastSeq: p.nextSend - 1})
	if n.lost[p.peer.Node] {
		// The proxy's target went with a lost node: so did the pipe.
		n.lose(p, p.peer.Node)
	}
	return nil
}

// acceptObserveProxyAck handles an ObserveProxyAckEvent: proxy p has been
// bypassed; it forwards what is left up to ev.LastSeq and then goes.
func (n *Node) acceptObserveProxyAck(from NodeName, ev ObserveProxyAckEvent) error {
	p := n.ports[ev.Target]
	if p == nil {
		return nil // cut off and removed meanwhile
	}
	bad := func(err error, detail string) error {
		return &EventError{From: from, Target: ev.Target, Seq: ev.LastSeq, Err: err, Detail: detail}
	}
	if p.state == stateProxying && p.lost {
		return nil // cut off; the ack is moot
	}
	switch {
	case p.state != stateProxying || !p.observing || p.acked || !p.rare().asked[from]:
		return bad(ErrBadEvent, "observe-proxy ack this proxy did not ask for")
	case p.peerClosed:
		return bad(ErrBadEvent, "observe-proxy ack from a sender that closed")
	case ev.LastSeq+1 < p.nextRecv:
		// The sender claims less than was already forwarded: treat the
		// pipe as broken rather than trust either number.
		n.cutOff(p, NodeName{})
		return bad(ErrBadSequence, fmt.Sprintf("last sequence number below %d, already forwarded", p.nextRecv-1))
	}
	var err error
	if extra := p.takeAbove(ev.LastSeq); len(extra) > 0 {
		n.discard(extra...)
		err = &EventError{From: from, Target: ev.Target, Seq: extra[0].seq, Err: ErrBadSequence,
			Detail: fmt.Sprintf("beyond the last message %d routed through this bypassed proxy", ev.LastSeq)}
	}
	r := p.rareForWrite()
	p.acked, r.ackSeq, r.handover = true, ev.LastSeq, stintID{from, ev.Sender}
	// The ack travelled behind every message the referrer sent here from
	// from: its stint here is over. Stints on other nodes end with their
	// own PeerMovedEvents.
	p.addSource(from, -1)
	n.maybeRemoveProxy(p)
	return err
}

func compareNodes(a, b NodeName) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}
