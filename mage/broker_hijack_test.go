package mage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage/internal/ports"
	"github.com/mage-ipc/mage/mage/internal/wire"
)

// These tests try to take a node's name at the broker: a hostile node that
// learned the name (names travel in port descriptors and events) registers
// it first, with a socket of its own, and answers on it as that node.

// joinNodes connects a and b over a new socketpair with the options given
// for each side, and fails the test if either side fails.
func joinNodes(t *testing.T, ctx context.Context, a *Node, aOpts ConnectOptions, b *Node, bOpts ConnectOptions) {
	t.Helper()
	ca, cb, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	go func() {
		_, err := a.Connect(ctx, ca, aOpts)
		errs <- err
	}()
	_, err = b.Connect(ctx, cb, bOpts)
	if aErr := <-errs; aErr != nil {
		t.Fatalf("connect %s to %s: %v", a.Name(), b.Name(), aErr)
	}
	if err != nil {
		t.Fatalf("connect %s to %s: %v", b.Name(), a.Name(), err)
	}
}

// newTestNode returns a node closed when the test ends.
func newTestNode(t *testing.T) *Node {
	t.Helper()
	n := NewNode(NodeOptions{})
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// inviteDirect joins child to the broker as a child the broker invites,
// handing it attach.
func (h *brokerHarness) inviteDirect(child *Node, attach map[string]MessagePipe) *Connection {
	h.t.Helper()
	cb, err := h.node.NewChildBroker()
	if err != nil {
		h.t.Fatal(err)
	}
	defer cb.Close()
	ca, cc, err := sockets.ConnPair()
	if err != nil {
		h.t.Fatal(err)
	}
	errs := make(chan error, 1)
	go func() {
		_, err := h.node.Connect(h.ctx, ca, ConnectOptions{RegisterChild: cb, Attach: attach})
		errs <- err
	}()
	c, err := child.Connect(h.ctx, cc, ConnectOptions{AsBroker: true})
	if bErr := <-errs; bErr != nil {
		h.t.Fatalf("the broker's side of inviting %s: %v", child.Name(), bErr)
	}
	if err != nil {
		h.t.Fatalf("%s accepting the broker's invitation: %v", child.Name(), err)
	}
	return c
}

// hijackTree is a broker with: a direct raw client A; X, a raw node A
// registered, the hostile one; I, a real node the broker invited; D, a
// real node the broker invited; and C, the healthy child I is about to
// invite, whose name X knows. The broker's pipe has one end attached to D
// and the other to I, for I to pass on to C.
type hijackTree struct {
	h       *brokerHarness
	a, x    *rawPeer
	i, c, d *Node
	// atD is D's end of the broker's pipe, fromI I's.
	atD, fromI MessagePipe
	// childEnd is C's end of its socket to the broker.
	childEnd *net.UnixConn
	cb       *ChildBroker
}

func newHijackTree(t *testing.T) *hijackTree {
	h := newBrokerHarness(t, BrokerLimits{})
	tr := &hijackTree{h: h, a: h.direct(), i: newTestNode(t), c: newTestNode(t), d: newTestNode(t)}
	xid := newRawID(t)
	tr.x = h.completeRegistration(tr.a.register(xid.name), xid)
	toC, toD := h.node.CreatePipe()
	var ok bool
	if tr.atD, ok = h.inviteDirect(tr.d, map[string]MessagePipe{"p": toD}).Pipe("p"); !ok {
		t.Fatal("the broker's pipe did not reach D")
	}
	if tr.fromI, ok = h.inviteDirect(tr.i, map[string]MessagePipe{"p": toC}).Pipe("p"); !ok {
		t.Fatal("the broker's pipe did not reach I")
	}
	var err error
	if tr.cb, err = tr.i.NewChildBroker(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.cb.Close)
	if tr.childEnd, err = sockets.Conn(tr.cb.ChildEnd()); err != nil {
		t.Fatal(err)
	}
	tr.cb.CloseChildEnd()
	return tr
}

// inviteC runs I's invitation of C, handing it the pipe to D: I registers
// C with the broker as soon as C's Hello names it.
func (tr *hijackTree) inviteC(t *testing.T) MessagePipe {
	t.Helper()
	var atC *Connection
	ca, cc, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	go func() {
		_, err := tr.i.Connect(tr.h.ctx, ca, ConnectOptions{RegisterChild: tr.cb, Attach: map[string]MessagePipe{"p": tr.fromI}})
		errs <- err
	}()
	atC, err = tr.c.Connect(tr.h.ctx, cc, ConnectOptions{})
	if iErr := <-errs; iErr != nil {
		t.Fatalf("I inviting C: %v", iErr)
	}
	if err != nil {
		t.Fatalf("C accepting I's invitation: %v", err)
	}
	p, ok := atC.Pipe("p")
	if !ok {
		t.Fatal("the pipe did not reach C")
	}
	return p
}

// cJoinsBroker completes C's registration: C connects to the broker over
// its own socket and proves its name.
func (tr *hijackTree) cJoinsBroker(t *testing.T) {
	t.Helper()
	if _, err := tr.c.Connect(tr.h.ctx, tr.childEnd, ConnectOptions{AsBroker: true}); err != nil {
		t.Fatalf("C's registration with the broker: %v", err)
	}
	h := tr.h
	h.waitFor(func() bool {
		cl := h.node.broker.clients[tr.c.name]
		return cl != nil && cl.counted && cl.inviter == tr.i.name && len(h.node.broker.registrations[tr.c.name]) == 0
	})
}

// pending waits until the broker has n registrations of C in progress.
func (tr *hijackTree) pending(n int) {
	tr.h.waitFor(func() bool { return len(tr.h.node.broker.registrations[tr.c.name]) == n })
}

// expectInOrder sends count messages from C to D and checks that D reads
// them all, in order: C reaches D through an introduction by the broker.
func expectInOrder(t *testing.T, ctx context.Context, from, to MessagePipe, count int) {
	t.Helper()
	for i := range count {
		if err := from.WriteMessage(&Message{Payload: fmt.Appendf(nil, "m%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < count; {
		m, err := to.ReadMessage()
		if errors.Is(err, ErrNoMessage) {
			select {
			case <-to.Ready():
			case <-ctx.Done():
				t.Fatalf("message %d never arrived", i)
			}
			continue
		}
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if got, want := string(m.Payload), fmt.Sprintf("m%d", i); got != want {
			t.Fatalf("read %q, want %q", got, want)
		}
		i++
	}
}

// noMoreReports checks that nothing else was reported.
func (h *brokerHarness) noMoreReports() {
	h.t.Helper()
	select {
	case bad := <-h.bad:
		h.t.Fatalf("unexpected report: %v", bad)
	default:
	}
}

// TestBrokerRefusesANameHijack: X, a hostile registered node, learned C's
// name and registers it with a socket of its own, before I's registration
// of C reaches the broker or while it is in progress, and answers on it
// with a wrong proof, with none, or not at all. Each time the forgery is
// refused and charged to X's answerable client A, never to C or I; C's own
// registration succeeds, and C is introduced to D, its pipe delivering
// every message in order.
func TestBrokerRefusesANameHijack(t *testing.T) {
	for _, tt := range []struct {
		name string
		// forgeFirst: the forged registration reaches the broker before
		// I's; else while I's is in progress.
		forgeFirst bool
		// hello is what the forger answers with; nil: nothing at all.
		hello func(c ports.NodeName) *wire.Hello
		// want is what the report says.
		want string
	}{
		{"before, wrong proof", true, func(c ports.NodeName) *wire.Hello {
			h := newRawID(t).hello()
			h.Node = wire.NodeName(c)
			return h
		}, "is wrong"},
		{"before, silent", true, nil, "proved its name over another connection"},
		{"pending, no proof", false, func(c ports.NodeName) *wire.Hello {
			return &wire.Hello{Version: wire.Version, Node: wire.NodeName(c)}
		}, "sent no name proof"},
		{"pending, silent", false, nil, "proved its name over another connection"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := newHijackTree(t)
			h := tr.h
			var atC MessagePipe
			if !tt.forgeFirst {
				atC = tr.inviteC(t)
				tr.pending(1)
			}
			forged := tr.x.register(tr.c.name)
			if tt.forgeFirst {
				tr.pending(1)
				atC = tr.inviteC(t)
			}
			tr.pending(2)
			if tt.hello != nil {
				startRawPeerHello(t, endConn(t, forged), tt.hello(tr.c.name))
				bad := h.expectBad(tr.x.name, tr.a.name)
				if !errors.Is(bad, ErrNameProof) || !strings.Contains(bad.Error(), tt.want) {
					t.Fatalf("report %v, want ErrNameProof saying %q", bad, tt.want)
				}
				tr.pending(1)
				tr.cJoinsBroker(t)
			} else {
				tr.cJoinsBroker(t)
				bad := h.expectBad(tr.x.name, tr.a.name)
				if !strings.Contains(bad.Error(), tt.want) {
					t.Fatalf("report %v, want one saying %q", bad, tt.want)
				}
				expectEOF(t, forged)
			}
			// C's name is C's: the broker introduces it to D, and C's
			// messages reach D in order.
			expectInOrder(t, h.ctx, atC, tr.atD, 50)
			h.noMoreReports()
			tr.x.alive(h.ctx, 7)
		})
	}
}

// offHelloReservedForTest is the offset of the Hello's reserved field
// (docs/protocol.md).
const offHelloReservedForTest = 18

// TestBrokerNameProofErrors: on a registration's socket and on the
// connection of a child the broker invites, a Hello whose name proof is
// wrong, missing, or another node's is refused with an error that says
// which, before the name is taken; over a registration it is charged to
// the registering client, over a direct connection to that child. A valid
// proof of a name already connected, replayed, is refused as well.
func TestBrokerNameProofErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		hello func(other rawID) *wire.Hello
		want  string
	}{
		{"wrong proof", func(rawID) *wire.Hello {
			h := newRawID(t).hello()
			h.Proof[0] ^= 1
			return h
		}, "is wrong"},
		{"missing proof", func(rawID) *wire.Hello {
			return &wire.Hello{Version: wire.Version, Node: wire.NodeName(randomNodeName(t))}
		}, "sent no name proof"},
		{"another node's proof", func(other rawID) *wire.Hello {
			h := newRawID(t).hello()
			h.Proof = other.proof
			return h
		}, fmt.Sprintf("is node %s's", NodeName(ports.NodeName{}))},
	} {
		t.Run(tt.name+" over a registration", func(t *testing.T) {
			h := newBrokerHarness(t, BrokerLimits{})
			a := h.direct()
			other := newRawID(t)
			h.completeRegistration(a.register(other.name), other)
			hello := tt.hello(other)
			end := a.register(ports.NodeName(hello.Node))
			p := startRawPeerHello(t, endConn(t, end), hello)
			bad := h.expectBad(a.name, a.name)
			want := strings.Replace(tt.want, NodeName(ports.NodeName{}).String(), NodeName(other.name).String(), 1)
			if !errors.Is(bad, ErrNameProof) || !errors.Is(bad, errProtocol) || !strings.Contains(bad.Error(), want) {
				t.Fatalf("report %v, want ErrNameProof saying %q", bad, want)
			}
			p.cut(h.ctx)
			h.waitFor(func() bool {
				return len(h.node.broker.registrations) == 0 && h.node.links[ports.NodeName(hello.Node)] == nil &&
					h.node.broker.clients[a.name].pending == 0
			})
			// Nothing else is charged, and the client is still served.
			h.noMoreReports()
			a.alive(h.ctx, 1)
		})
		t.Run(tt.name+" directly", func(t *testing.T) {
			h := newBrokerHarness(t, BrokerLimits{})
			other := newRawID(t)
			h.completeRegistration(h.direct().register(other.name), other)
			p, err := h.directHello(tt.hello(other))
			want := strings.Replace(tt.want, NodeName(ports.NodeName{}).String(), NodeName(other.name).String(), 1)
			if !errors.Is(err, ErrNameProof) || !strings.Contains(err.Error(), want) {
				t.Fatalf("the broker's Connect: %v, want ErrNameProof saying %q", err, want)
			}
			// A child that breaks the rules in its Hello has no name yet:
			// the report reaches the connection's handlers unnamed.
			bad := h.expectBad(ports.NodeName{}, ports.NodeName{})
			if !errors.Is(bad, ErrNameProof) {
				t.Fatalf("report %v does not match ErrNameProof", bad)
			}
			p.cut(h.ctx)
		})
	}
	t.Run("malformed Hello over a registration", func(t *testing.T) {
		h := newBrokerHarness(t, BrokerLimits{})
		a := h.direct()
		end := a.register(randomNodeName(t))
		conn := endConn(t, end)
		defer conn.Close()
		hello := wire.AppendHello(nil, newRawID(t).hello())
		hello[offHelloReservedForTest] = 1
		if _, err := conn.Write(hello); err != nil {
			t.Fatal(err)
		}
		// One report, charged to the client that registered the socket.
		bad := h.expectBad(a.name, a.name)
		var de *wire.DecodeError
		if !errors.As(bad, &de) || !errors.Is(bad, wire.ErrReserved) {
			t.Fatalf("report %v, want a decode error of the Hello", bad)
		}
		h.waitFor(func() bool { return len(h.node.broker.registrations) == 0 })
		h.noMoreReports()
		a.alive(h.ctx, 1)
	})
	t.Run("replayed proof", func(t *testing.T) {
		h := newBrokerHarness(t, BrokerLimits{})
		a := h.direct()
		x := newRawID(t)
		h.completeRegistration(a.register(x.name), x)
		// Over a direct connection: the name is taken, whatever the proof.
		p, err := h.directHello(x.hello())
		if !errors.Is(err, ErrAlreadyConnected) || !strings.Contains(err.Error(), NodeName(x.name).String()) {
			t.Fatalf("the broker's Connect: %v, want ErrAlreadyConnected naming %s", err, NodeName(x.name))
		}
		p.cut(h.ctx)
		// Over a registration: refused before any handshake.
		b := h.direct()
		end := b.register(x.name)
		bad := h.expectBad(b.name, b.name)
		if !errors.Is(bad, errProtocol) || !strings.Contains(bad.Error(), "already connected") {
			t.Fatalf("report %v, want one saying the node is connected already", bad)
		}
		expectEOF(t, end)
		a.alive(h.ctx, 1)
	})
}

// TestNodeShowsItsProofToItsBrokerAlone: a node's Hello carries its name
// proof on a connection to its broker only.
func TestNodeShowsItsProofToItsBrokerAlone(t *testing.T) {
	for _, asBroker := range []bool{false, true} {
		n := newTestNode(t)
		ca, cb, err := sockets.ConnPair()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := n.Connect(ctx, ca, ConnectOptions{AsBroker: asBroker})
			done <- err
		}()
		// The raw side plays a broker and sends nothing that needs a proof.
		p := startRawPeerHello(t, cb, &wire.Hello{Version: wire.Version, Node: wire.NodeName(randomNodeName(t)), Broker: true})
		var f rawFrame
		select {
		case f = <-p.frames:
		case err := <-p.ended:
			t.Fatalf("no Hello: %v", err)
		}
		got := f.f.Hello
		switch {
		case f.f.Type != wire.TypeHello:
			t.Fatalf("first frame %v", f.f.Type)
		case got.HasProof != asBroker:
			t.Fatalf("AsBroker %v: the Hello's HasProof is %v", asBroker, got.HasProof)
		case asBroker && got.Proof.Node() != wire.NodeName(n.name):
			t.Fatal("the proof sent does not prove the node's name")
		case !asBroker && got.Proof != wire.NameProof{}:
			t.Fatal("a Hello without HasProof carries proof bytes")
		}
		if err := <-done; err != nil {
			t.Fatalf("AsBroker %v: connect: %v", asBroker, err)
		}
		cancel()
		_ = n.Close()
	}
}

// TestNodeRefusesAProofMeantForABroker: a node that is not a broker
// refuses a peer that proves its name to it as to its broker, without
// blaming it: whoever set the peer up took this node for its broker.
func TestNodeRefusesAProofMeantForABroker(t *testing.T) {
	ctx := context.Background()
	root, middle := newTestNode(t), newTestNode(t)
	joinNodes(t, ctx, root, ConnectOptions{}, middle, ConnectOptions{AsBroker: true})
	ca, cb, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := middle.Connect(ctx, ca, ConnectOptions{})
		done <- err
	}()
	p := startRawPeer(t, cb, newRawID(t))
	err = <-done
	if !errors.Is(err, ErrHandshake) || errors.Is(err, errProtocol) || !strings.Contains(err.Error(), "which it is not") {
		t.Fatalf("connect: %v, want a refusal saying this node is not a broker", err)
	}
	p.cut(ctx)
}
