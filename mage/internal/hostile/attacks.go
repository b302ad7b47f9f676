package hostile

import (
	"fmt"
	"os"
	"sort"

	"github.com/mage-ipc/mage/mage/internal/wire"
)

// The attacks, by mode name. Each breaks one rule on purpose; Main runs
// one and then waits to be killed.
const (
	// ModeMalformed: a well-behaved handshake, then a Closure frame whose
	// reserved field is not zero.
	ModeMalformed = "malformed"
	// ModeOversizeFirst: before any Hello, the header of a 1 MiB frame.
	ModeOversizeFirst = "oversize-first"
	// ModeStall: a handshake, then the first 20 bytes of a frame, and
	// nothing more.
	ModeStall = "stall"
	// ModeLargeStall: a handshake, then half of a 1 MiB user frame (which
	// the parent reads into a payload buffer of its own), and nothing
	// more.
	ModeLargeStall = "large-stall"
	// ModeLargeBadLength: a handshake, then the fixed part of a large user
	// frame whose payload length exceeds the frame it declares.
	ModeLargeBadLength = "large-bad-length"
	// ModeLargeOverLimit: a handshake, then the fixed part of a well-formed
	// user frame of 32 MiB, within the wire's frame limit but over the
	// parent's payload limit, and nothing more.
	ModeLargeOverLimit = "large-over-limit"
	// ModeNoRead: a handshake, then it never reads while the parent writes.
	ModeNoRead = "noread"
	// ModeSeqAhead: user messages with sequence numbers far beyond the next
	// one expected, then FloodDone on "main".
	ModeSeqAhead = "seq-ahead"
	// ModeCountersFlood: counters requests without end, never reading the
	// answers.
	ModeCountersFlood = "counters-flood"
	// ModeIntroFlood: introduction requests for many nodes that do not
	// exist, then FloodDone on "main".
	ModeIntroFlood = "intro-flood"
	// ModePeerMovedFlood: PeerMoved frames for the attached port naming many
	// nodes that do not exist, then FloodDone on "main".
	ModePeerMovedFlood = "peermoved-flood"
	// ModeFDCount: a user frame that declares two descriptors and comes
	// with one.
	ModeFDCount = "fd-count"
	// ModeFDFlood: descriptors far ahead of any frame that claims them.
	ModeFDFlood = "fd-flood"
	// ModeVersion: a Hello of the next protocol version (wire.Version+1),
	// header and body.
	ModeVersion = "version"
	// ModeSameWrite: the Hello, the Attach and a frame with a bad magic,
	// all in the first write.
	ModeSameWrite = "same-write"
	// ModeBadProof: a Hello to the broker whose name proof is wrong (one
	// bit off), as a node that learned a name and claims it would send.
	ModeBadProof = "bad-proof"
	// ModeNoProof: a Hello to the broker without a name proof.
	ModeNoProof = "no-proof"
	// ModeForge: hands the pipe attached as "extra" back to the parent,
	// completes the route collapse so the parent's end no longer sends
	// here, and then sends a forged user message and a forged closure to
	// that end.
	ModeForge = "forge"
	// ModeLaunder: hands the pipe attached as "extra" back to the parent
	// as an honest node would (the route collapse done, the move
	// announced), waits for a message on "main" (the parent has passed
	// that end on by then), and then sends on "main" a message carrying a
	// descriptor it makes up, whose peer is the parent's own end of
	// "extra": a port the parent adopts that would speak to that end as
	// the parent itself.
	ModeLaunder = "launder"
	// ModeLaunderThird: waits for a message on "main" that carries a
	// pipe's end whose peer lives on a third node (the healthy child),
	// adopts that end as an honest node would, and then sends on "main"
	// a message carrying a descriptor it makes up with the same peer: a
	// port the parent adopts whose writes reach the third node as the
	// parent's, so that a third node which charged them would cut off the
	// innocent parent.
	ModeLaunderThird = "launder-third"
)

// Flood sizes: enough that a parent which kept a record of each would
// show it in its heap.
const (
	floodCount = 20000
	floodBatch = 500
)

// ForgedPayload is the payload of ModeForge's forged user message.
const ForgedPayload = "forged by the hostile child"

// HandedBack is the payload of ModeLaunder's message on "main" once the
// end it handed back is the parent's alone.
const HandedBack = "handed back"

// FloodDone is the payload of the message a flood sends on "main" once
// every frame of the flood is written: a parent that lets the flood pass
// reads it, and can measure what the flood left it holding while the
// attacker is still connected.
const FloodDone = "flood done"

var attacks = map[string]func(p *Peer, token []byte) error{
	ModeMalformed: func(p *Peer, token []byte) error {
		if _, _, err := p.Handshake(token); err != nil {
			return err
		}
		b := wire.AppendClosure(nil, &wire.Closure{Target: wire.PortName(RandomName()), Sender: wire.PortName(RandomName())})
		b[44] = 1 // reserved
		return p.Write(b)
	},
	ModeOversizeFirst: func(p *Peer, token []byte) error {
		b := wire.AppendUser(nil, &wire.User{Target: wire.PortName(RandomName()), Sender: wire.PortName(RandomName()), Seq: 1})
		b[4], b[5], b[6], b[7] = 0, 0, 0x10, 0 // length 1 MiB
		return p.Write(b[:wire.HeaderSize])
	},
	ModeStall: func(p *Peer, token []byte) error {
		if _, _, err := p.Handshake(token); err != nil {
			return err
		}
		b := wire.AppendClosure(nil, &wire.Closure{Target: wire.PortName(RandomName()), Sender: wire.PortName(RandomName())})
		return p.Write(b[:20])
	},
	ModeLargeStall: func(p *Peer, token []byte) error {
		if _, _, err := p.Handshake(token); err != nil {
			return err
		}
		b := wire.AppendUser(nil, &wire.User{Target: wire.PortName(RandomName()), Sender: wire.PortName(RandomName()), Seq: 1, Payload: make([]byte, 1<<20)})
		return p.Write(b[:len(b)/2])
	},
	ModeLargeBadLength: func(p *Peer, token []byte) error {
		if _, _, err := p.Handshake(token); err != nil {
			return err
		}
		b := wire.AppendUser(nil, &wire.User{Target: wire.PortName(RandomName()), Sender: wire.PortName(RandomName()), Seq: 1, Payload: make([]byte, 1<<20)})
		b[52], b[53], b[54], b[55] = 0, 0, 0, 0x40 // payload length 1 GiB
		return p.Write(b[:wire.UserPayloadOffset])
	},
	ModeLargeOverLimit: func(p *Peer, token []byte) error {
		if _, _, err := p.Handshake(token); err != nil {
			return err
		}
		b := wire.AppendUserWithoutPayload(nil, &wire.User{Target: wire.PortName(RandomName()), Sender: wire.PortName(RandomName()), Seq: 1, Payload: make([]byte, 32<<20)})
		return p.Write(b[:wire.UserPayloadOffset])
	},
	ModeNoRead: func(p *Peer, token []byte) error {
		_, atts, err := p.Handshake(token)
		if err != nil {
			return err
		}
		return p.Accepted(atts)
	},
	ModeSeqAhead: func(p *Peer, token []byte) error {
		_, atts, err := p.Handshake(token)
		if err != nil {
			return err
		}
		if err := p.Accepted(atts); err != nil {
			return err
		}
		main, err := attachment(atts, "main")
		if err != nil {
			return err
		}
		payload := make([]byte, 1024)
		return p.flood(main, func(b []byte, i int) []byte {
			return wire.AppendUser(b, &wire.User{Target: main.PeerPort, Sender: main.Name, Seq: main.NextSendSeq + 1<<40 + uint64(i), Payload: payload})
		})
	},
	ModeCountersFlood: func(p *Peer, token []byte) error {
		if _, _, err := p.Handshake(token); err != nil {
			return err
		}
		// Until the parent cuts the connection: a write error ends it.
		var b []byte
		for id := uint64(1); ; {
			b = b[:0]
			for i := 0; i < floodBatch; i++ {
				b = wire.AppendCountersRequest(b, &wire.CountersRequest{ID: id})
				id++
			}
			if err := p.Write(b); err != nil {
				return nil
			}
		}
	},
	ModeIntroFlood: func(p *Peer, token []byte) error {
		_, atts, err := p.Handshake(token)
		if err != nil {
			return err
		}
		if err := p.Accepted(atts); err != nil {
			return err
		}
		main, err := attachment(atts, "main")
		if err != nil {
			return err
		}
		return p.flood(main, func(b []byte, _ int) []byte {
			return wire.AppendRequestIntroduction(b, &wire.RequestIntroduction{Node: wire.NodeName(RandomName())})
		})
	},
	ModePeerMovedFlood: func(p *Peer, token []byte) error {
		_, atts, err := p.Handshake(token)
		if err != nil {
			return err
		}
		if err := p.Accepted(atts); err != nil {
			return err
		}
		main, err := attachment(atts, "main")
		if err != nil {
			return err
		}
		return p.flood(main, func(b []byte, _ int) []byte {
			return wire.AppendPeerMoved(b, &wire.PeerMoved{Target: main.PeerPort, Sender: main.Name, NewNode: wire.NodeName(RandomName()), NewPort: wire.PortName(RandomName())})
		})
	},
	ModeFDCount: func(p *Peer, token []byte) error {
		_, atts, err := p.Handshake(token)
		if err != nil {
			return err
		}
		main, err := attachment(atts, "main")
		if err != nil {
			return err
		}
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		defer r.Close()
		defer w.Close()
		b := wire.AppendUser(nil, &wire.User{Target: main.PeerPort, Sender: main.Name, Seq: main.NextSendSeq, NumHandles: 2})
		return p.Write(b, int(w.Fd()))
	},
	ModeFDFlood: func(p *Peer, token []byte) error {
		if _, _, err := p.Handshake(token); err != nil {
			return err
		}
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		defer r.Close()
		defer w.Close()
		fds := make([]int, 250)
		for i := range fds {
			fds[i] = int(w.Fd())
		}
		// One byte of a frame header per write, each with a full load of
		// descriptors.
		hdr := wire.AppendClosure(nil, &wire.Closure{Target: wire.PortName(RandomName()), Sender: wire.PortName(RandomName())})
		for i := 0; i < 8; i++ {
			if err := p.Write(hdr[i:i+1], fds...); err != nil {
				return nil // cut already
			}
		}
		return nil
	},
	ModeVersion: func(p *Peer, token []byte) error {
		if err := p.Write(p.Hello(wire.Version+1, token)); err != nil {
			return err
		}
		f, err := p.ReadUntil(wire.TypeHello)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "hostile: the parent speaks version %d, this child %d\n", f.Hello.Version, wire.Version+1)
		return nil
	},
	ModeBadProof: func(p *Peer, token []byte) error {
		p.ProvesName = true
		p.Proof[0] ^= 1
		return p.Write(p.Hello(wire.Version, token))
	},
	ModeNoProof: func(p *Peer, token []byte) error {
		p.ProvesName = false
		return p.Write(p.Hello(wire.Version, token))
	},
	ModeSameWrite: func(p *Peer, token []byte) error {
		b := p.Hello(wire.Version, token)
		b = append(b, EmptyAttach()...)
		b = append(b, BadMagic()...)
		return p.Write(b)
	},
	ModeForge:        forge,
	ModeLaunder:      launder,
	ModeLaunderThird: launderThird,
}

// Modes returns the names of every attack, sorted.
func Modes() []string {
	names := make([]string, 0, len(attacks))
	for name := range attacks {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// flood writes floodCount frames made by frame, in batches, then the first
// message on main, FloodDone: a parent that lets every frame of the flood
// pass reads it, and knows the check is missing.
func (p *Peer) flood(main wire.PortDescriptor, frame func(b []byte, i int) []byte) error {
	var b []byte
	for i := 0; i < floodCount; {
		b = b[:0]
		for j := 0; j < floodBatch && i < floodCount; j++ {
			b = frame(b, i)
			i++
		}
		if err := p.Write(b); err != nil {
			return nil // cut already, which is what the flood is for
		}
	}
	_ = p.Write(wire.AppendUser(nil, &wire.User{Target: main.PeerPort, Sender: main.Name, Seq: main.NextSendSeq, Payload: []byte(FloodDone)}))
	return nil
}

// attachment finds the attachment called name.
func attachment(atts []wire.Attachment, name string) (wire.PortDescriptor, error) {
	for _, a := range atts {
		if a.Name == name {
			return a.Port, nil
		}
	}
	return wire.PortDescriptor{}, fmt.Errorf("no attachment %q", name)
}

// handedBack is what handBack leaves its attack: the parent's node, the
// "main" and "extra" attachments, and the next sequence number on main.
type handedBack struct {
	parent      wire.NodeName
	main, extra wire.PortDescriptor
	nextSeq     uint64
}

// handBack accepts the invitation and hands the "extra" end back to the
// parent inside a message on "main", as a new port on the parent whose
// peer is the parent's own end of "extra". It then plays the proxy left
// behind correctly, so that the parent's end of "extra" sends to the
// returned port, not here. With announce, it also tells that end of the
// move, as an honest node does; without, it leaves that out.
func handBack(p *Peer, token []byte, announce bool) (handedBack, error) {
	var h handedBack
	hello, atts, err := p.Handshake(token)
	if err != nil {
		return h, err
	}
	h.parent = hello.Node
	if h.main, err = attachment(atts, "main"); err != nil {
		return h, err
	}
	if h.extra, err = attachment(atts, "extra"); err != nil {
		return h, err
	}
	if err := p.Accepted(atts); err != nil {
		return h, err
	}
	back := wire.PortDescriptor{
		Name:        wire.PortName(RandomName()),
		PeerNode:    h.parent,
		PeerPort:    h.extra.PeerPort,
		NextSendSeq: h.extra.NextSendSeq,
		NextRecvSeq: h.extra.NextRecvSeq,
		Proxy:       h.extra.Name, // this child's end forwards to it
	}
	h.nextSeq = h.main.NextSendSeq
	u := wire.AppendUser(nil, &wire.User{Target: h.main.PeerPort, Sender: h.main.Name, Seq: h.nextSeq, Payload: []byte("here it is back"), Ports: []wire.PortDescriptor{back}})
	if err := p.Write(u); err != nil {
		return h, err
	}
	h.nextSeq++
	if err := p.awaitFrame(wire.TypePortAccepted, func(f *wire.Frame) bool { return f.PortAccepted.Target == back.Name }); err != nil {
		return h, err
	}
	var b []byte
	if announce {
		b = wire.AppendPeerMoved(b, &wire.PeerMoved{Target: h.extra.PeerPort, Sender: h.extra.Name, NewNode: h.parent, NewPort: back.Name})
	}
	b = wire.AppendObserveProxy(b, &wire.ObserveProxy{ProxyNode: p.Node, ProxyPort: h.extra.Name, ProxyTargetNode: h.parent, ProxyTargetPort: back.Name,
		Referrer: h.extra.PeerPort})
	if err := p.Write(b); err != nil {
		return h, err
	}
	var referrer wire.PortName
	if err := p.awaitFrame(wire.TypeObserveProxyAck, func(f *wire.Frame) bool {
		referrer = f.ObserveProxyAck.Sender
		return f.ObserveProxyAck.Target == h.extra.Name
	}); err != nil {
		return h, err
	}
	// The bypassed proxy's last word: the referrer now feeds the returned
	// end directly.
	return h, p.Write(wire.AppendPeerMoved(nil, &wire.PeerMoved{Target: back.Name, Sender: h.extra.Name, NewNode: h.parent, NewPort: referrer}))
}

// forge is ModeForge.
func forge(p *Peer, token []byte) error {
	h, err := handBack(p, token, false)
	if err != nil {
		return err
	}
	// The end is the parent's alone now. Address it anyway.
	// As the stint it really had there: the strongest claim it can make.
	b := wire.AppendUser(nil, &wire.User{Target: h.extra.PeerPort, Sender: h.extra.Name, Seq: h.extra.NextSendSeq, Payload: []byte(ForgedPayload)})
	b = wire.AppendClosure(b, &wire.Closure{Target: h.extra.PeerPort, Sender: h.extra.Name, LastSeq: h.extra.NextSendSeq})
	return p.Write(b)
}

// launder is ModeLaunder.
func launder(p *Peer, token []byte) error {
	h, err := handBack(p, token, true)
	if err != nil {
		return err
	}
	// The parent's end of extra sends to the returned end now: say so on
	// main, behind the frames that made it so.
	b := wire.AppendUser(nil, &wire.User{Target: h.main.PeerPort, Sender: h.main.Name, Seq: h.nextSeq, Payload: []byte(HandedBack)})
	if err := p.Write(b); err != nil {
		return err
	}
	h.nextSeq++
	if err := p.awaitFrame(wire.TypeUser, func(f *wire.Frame) bool { return f.User.Target == h.main.Name }); err != nil {
		return err
	}
	forged := wire.PortDescriptor{
		Name:        wire.PortName(RandomName()),
		PeerNode:    h.parent,
		PeerPort:    h.extra.PeerPort,
		NextSendSeq: 1 << 20,
		NextRecvSeq: 1,
		Proxy:       wire.PortName(RandomName()),
	}
	return p.Write(wire.AppendUser(nil, &wire.User{Target: h.main.PeerPort, Sender: h.main.Name, Seq: h.nextSeq, Payload: []byte(ForgedPayload), Ports: []wire.PortDescriptor{forged}}))
}

// launderThird is ModeLaunderThird.
func launderThird(p *Peer, token []byte) error {
	hello, atts, err := p.Handshake(token)
	if err != nil {
		return err
	}
	main, err := attachment(atts, "main")
	if err != nil {
		return err
	}
	if err := p.Accepted(atts); err != nil {
		return err
	}
	var carried wire.PortDescriptor
	if err := p.awaitFrame(wire.TypeUser, func(f *wire.Frame) bool {
		if f.User.Target != main.Name || len(f.User.Ports) != 1 {
			return false
		}
		carried = f.User.Ports[0]
		return true
	}); err != nil {
		return err
	}
	if carried.PeerNode == hello.Node {
		return fmt.Errorf("the end carried on main has its peer on the parent, not on a third node")
	}
	if err := p.Write(wire.AppendPortAccepted(nil, &wire.PortAccepted{Target: carried.Name})); err != nil {
		return err
	}
	forged := wire.PortDescriptor{
		Name:        wire.PortName(RandomName()),
		PeerNode:    carried.PeerNode,
		PeerPort:    carried.PeerPort,
		NextSendSeq: carried.NextSendSeq,
		NextRecvSeq: 1,
		Proxy:       wire.PortName(RandomName()),
	}
	return p.Write(wire.AppendUser(nil, &wire.User{Target: main.PeerPort, Sender: main.Name, Seq: main.NextSendSeq, Payload: []byte(ForgedPayload), Ports: []wire.PortDescriptor{forged}}))
}

// awaitFrame reads frames until one of type t for which match holds.
func (p *Peer) awaitFrame(t wire.FrameType, match func(*wire.Frame) bool) error {
	for {
		f, err := p.ReadUntil(t)
		if err != nil {
			return err
		}
		if match(f) {
			return nil
		}
	}
}
