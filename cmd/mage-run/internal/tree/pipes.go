package tree

import (
	"github.com/mage-ipc/mage/cmd/mage-run/internal/spec"
	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/supervisor"
)

// linkKey names one pipe declaration inside one instance of its scope
// (nil for the top level).
type linkKey struct {
	pipe  *spec.Pipe
	scope *instance
}

// link is a pipe declaration inside one instance of its scope: the place
// where its ends meet. See the package documentation.
type link struct {
	pipe *spec.Pipe
	// single is the side (0 for From, 1 for To) that has one instance in
	// the scope while the other may have many, or -1 when both have one.
	single int
	// ends holds, for a one-to-one link, the slot of each side; for a
	// one-to-many link, the single side's slot.
	ends [2]*slot
	// peers is this process's end of the single side's Peers stream, for
	// a one-to-many link.
	peers *supervisor.PeersRemote
}

// slot is one attachment of one instance.
type slot struct {
	in         *instance
	attachment string
	link       *link
	side       int
	// next is the pipe end the instance gets at its next start, or, when
	// it was made while the instance ran, through Reconnect.
	next mage.MessagePipe
}

// stream reports whether the slot carries a Peers stream.
func (s *slot) stream() bool { return s.link.single == s.side }

// addSlots gives a new instance its attachments, and makes the links
// they belong to.
func (t *Tree) addSlots(in *instance) {
	for _, p := range t.opts.Spec.Pipes {
		for side, e := range [2]spec.Endpoint{p.From, p.To} {
			if e.Process == in.block.Name {
				t.addSlot(in, p, side, e.Attachment)
			}
		}
	}
}

func (t *Tree) addSlot(in *instance, p *spec.Pipe, side int, attachment string) {
	scopeBlock := p.Scope(t.opts.Spec)
	key := linkKey{pipe: p, scope: in.ancestor(scopeBlock)}
	l := t.links[key]
	if l == nil {
		l = &link{pipe: p, single: -1}
		from, to := t.opts.Spec.Process(p.From.Process), t.opts.Spec.Process(p.To.Process)
		switch {
		case spec.MultiBelow(to, scopeBlock):
			l.single = 0
		case spec.MultiBelow(from, scopeBlock):
			l.single = 1
		}
		t.links[key] = l
	}
	s := &slot{in: in, attachment: attachment, link: l, side: side}
	in.slots[attachment] = s
	if l.single == -1 || l.single == side {
		l.ends[side] = s
	}
	if l.single == side {
		// The stream exists from the start, so that instances of the other
		// side started before this one are announced on it.
		end, peers := t.node.CreatePipe()
		s.next = end
		l.peers = supervisor.NewPeersRemote(peers)
	}
}

// takeForStart returns the pipe end s's instance gets as it starts.
func (t *Tree) takeForStart(s *slot) mage.MessagePipe {
	l := s.link
	if s.next.IsValid() {
		end := s.next
		s.next = mage.MessagePipe{}
		return end
	}
	switch {
	case l.single == -1:
		mine, theirs := t.node.CreatePipe()
		t.offer(l.ends[1-s.side], theirs)
		return mine
	case s.stream():
		// A new stream: the instances on the other side are announced on
		// it again, each with a new pipe.
		mine, peers := t.node.CreatePipe()
		_ = l.peers.Close()
		l.peers = supervisor.NewPeersRemote(peers)
		for _, other := range t.all {
			if peerSlot := other.slots[l.pipe.Attachment(1-s.side)]; peerSlot != nil && peerSlot.link == l && other.state.live() {
				t.announce(l, other, peerSlot)
			}
		}
		return mine
	default:
		// An instance of the many side: a new pipe at every start, whose
		// far end the single side gets through Connected.
		mine, theirs := t.node.CreatePipe()
		t.connected(l, s.in, theirs)
		return mine
	}
}

// announce gives other, through its slot peerSlot, a new pipe to the
// single side of l, and the single side its other end.
func (t *Tree) announce(l *link, other *instance, peerSlot *slot) {
	mine, theirs := t.node.CreatePipe()
	t.connected(l, other, theirs)
	t.offer(peerSlot, mine)
}

// connected tells l's single side, through its Peers stream, about a pipe
// to instance in.
func (t *Tree) connected(l *link, in *instance, end mage.MessagePipe) {
	if err := l.peers.Connected(in.name, end); err != nil {
		// The single side has ended; the end went with the failed call.
		t.log.Debug("peers stream closed", "instance", in.name, "error", err)
	}
}

// offer gives s's instance end as its next pipe: at its next start, or at
// once to a Reconnect waiting for it.
func (t *Tree) offer(s *slot, end mage.MessagePipe) {
	if s == nil || s.in.ended() {
		_ = end.Close()
		return
	}
	if s.next.IsValid() {
		_ = s.next.Close()
	}
	s.next = end
	if s.in.state == StateRunning || s.in.state == StateStopping {
		t.answerReconnects(s)
	}
}

// endSlots releases the pipe ends held for in, which has ended for good,
// and fails the Reconnects that waited for it.
func (t *Tree) endSlots(in *instance) {
	for _, s := range in.slots {
		if s.next.IsValid() {
			_ = s.next.Close()
			s.next = mage.MessagePipe{}
		}
		l := s.link
		switch {
		case l.single == -1:
			if peer := l.ends[1-s.side]; peer != nil {
				t.failReconnectsOf(peer, "the process at the other end, "+in.name+", has ended")
			}
		case s.stream():
			_ = l.peers.Close()
			for _, other := range t.all {
				if peerSlot := other.slots[l.pipe.Attachment(1-s.side)]; peerSlot != nil && peerSlot.link == l {
					t.failReconnectsOf(peerSlot, "the process at the other end, "+in.name+", has ended")
				}
			}
		}
	}
}

// closeLinks releases what the links still hold once the tree has ended.
func (t *Tree) closeLinks() {
	for _, l := range t.links {
		if l.peers != nil {
			_ = l.peers.Close()
		}
	}
	for _, in := range t.all {
		for _, s := range in.slots {
			if s.next.IsValid() {
				_ = s.next.Close()
			}
		}
	}
}
