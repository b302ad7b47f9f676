package mage

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage/internal/channel"
	"github.com/mage-ipc/mage/mage/internal/ports"
	"github.com/mage-ipc/mage/mage/internal/wire"
)

// These tests play hostile nodes against a broker: each rawPeer speaks the
// wire protocol by hand, over a real socket, with frames built by the
// wire package's Append functions, and breaks one of the broker's rules.

// rawPeer is a node written by hand: a channel and the frames it got.
type rawPeer struct {
	t    *testing.T
	name ports.NodeName
	// proof is the one its Hello sent, zero if none.
	proof  wire.NameProof
	ch     *channel.Channel
	frames chan rawFrame
	ended  chan error
}

type rawFrame struct {
	f   wire.Frame
	fds []int
}

func (p *rawPeer) HandleFrame(f *wire.Frame, fds []int) {
	select {
	case p.frames <- rawFrame{f: *f, fds: fds}:
	default:
		closeFDs(fds)
		p.t.Errorf("raw peer %s: too many unread frames", NodeName(p.name))
	}
}

func (p *rawPeer) HandleError(err error) { p.ended <- err }

func randomNodeName(t *testing.T) ports.NodeName {
	t.Helper()
	var n ports.NodeName
	if _, err := rand.Read(n[:]); err != nil {
		t.Fatal(err)
	}
	return n
}

// rawID is a raw node's identity: its name and the proof of it.
type rawID struct {
	name  ports.NodeName
	proof wire.NameProof
}

func newRawID(t *testing.T) rawID {
	t.Helper()
	proof, name, err := wire.NewNameProof(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return rawID{name: ports.NodeName(name), proof: proof}
}

// hello is id's Hello to its broker, proving its name.
func (id rawID) hello() *wire.Hello {
	return &wire.Hello{Version: wire.Version, Node: wire.NodeName(id.name), HasProof: true, Proof: id.proof}
}

// startRawPeer runs a raw node id on conn, a connection to its broker: it
// sends its Hello, proving its name, and an empty Attach at once, as a
// node's Connect would.
func startRawPeer(t *testing.T, conn *net.UnixConn, id rawID) *rawPeer {
	t.Helper()
	return startRawPeerHello(t, conn, id.hello())
}

// startRawPeerHello is startRawPeer with the Hello given.
func startRawPeerHello(t *testing.T, conn *net.UnixConn, hello *wire.Hello) *rawPeer {
	t.Helper()
	name := ports.NodeName(hello.Node)
	p := &rawPeer{t: t, name: name, proof: hello.Proof, frames: make(chan rawFrame, 64), ended: make(chan error, 1)}
	p.ch = channel.New(conn, p, channel.Options{})
	p.ch.Start()
	t.Cleanup(func() {
		_ = p.ch.Close()
		<-p.ch.Done()
		for {
			select {
			case f := <-p.frames:
				closeFDs(f.fds)
			default:
				return
			}
		}
	})
	// A channel the broker has closed already fails these; the tests
	// learn that from p.ended.
	_ = p.ch.Send(wire.AppendHello(nil, hello), nil)
	_ = p.ch.Send(wire.AppendAttach(nil, nil), nil)
	return p
}

func (p *rawPeer) send(frame []byte, fds []int) {
	p.t.Helper()
	if err := p.ch.Send(frame, fds); err != nil {
		p.t.Fatalf("raw peer %s: send: %v", NodeName(p.name), err)
	}
}

// next returns the next frame the peer got, skipping the handshake's.
func (p *rawPeer) next(ctx context.Context) rawFrame {
	p.t.Helper()
	for {
		select {
		case f := <-p.frames:
			if f.f.Type == wire.TypeHello || f.f.Type == wire.TypeAttach {
				continue
			}
			return f
		case err := <-p.ended:
			p.t.Fatalf("raw peer %s: channel ended (%v) while a frame was awaited", NodeName(p.name), err)
		case <-ctx.Done():
			p.t.Fatalf("raw peer %s: no frame: %v", NodeName(p.name), ctx.Err())
		}
	}
}

// cut waits until the broker has cut the peer off.
func (p *rawPeer) cut(ctx context.Context) {
	p.t.Helper()
	for {
		select {
		case f := <-p.frames:
			closeFDs(f.fds)
		case <-p.ended:
			return
		case <-ctx.Done():
			p.t.Fatalf("raw peer %s was not cut off: %v", NodeName(p.name), ctx.Err())
		}
	}
}

// alive proves the broker still serves p: it asks for counters and waits
// for the answer, which comes after every frame p sent before.
func (p *rawPeer) alive(ctx context.Context, id uint64) {
	p.t.Helper()
	p.send(wire.AppendCountersRequest(nil, &wire.CountersRequest{ID: id}), nil)
	for {
		f := p.next(ctx)
		closeFDs(f.fds)
		if f.f.Type == wire.TypeCounters && f.f.Counters.ID == id {
			return
		}
	}
}

// register sends the broker a registration of child over a new socket and
// returns the child's end.
func (p *rawPeer) register(child ports.NodeName) *os.File {
	p.t.Helper()
	mine, theirs, err := sockets.Pair()
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = theirs.Close() })
	fd, err := dupFile(mine)
	_ = mine.Close()
	if err != nil {
		p.t.Fatal(err)
	}
	p.send(wire.AppendIntroduce(nil, &wire.Introduce{Node: wire.NodeName(child)}), []int{fd})
	return theirs
}

// brokerHarness is a broker node with a bad-message recorder.
type brokerHarness struct {
	t    *testing.T
	ctx  context.Context
	node *Node
	bad  chan *BadMessageError
}

func newBrokerHarness(t *testing.T, limits BrokerLimits) *brokerHarness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	// The reports wait here for the test to read them. OnBadMessage runs
	// on a connection's goroutine, so it must never block: a full buffer
	// would stall the node, and the test would wait out its context (a
	// fuzz input of 24 forged registrations may make more than a few).
	h := &brokerHarness{t: t, ctx: ctx, bad: make(chan *BadMessageError, 64)}
	h.node = NewNode(NodeOptions{Broker: limits, OnBadMessage: func(from NodeName, err error) {
		var bad *BadMessageError
		if !errors.As(err, &bad) || bad.Node != from {
			t.Errorf("report from %s is %v, not a *BadMessageError about that node", from, err)
			return
		}
		select {
		case h.bad <- bad:
		default:
			t.Errorf("more than %d bad-message reports unread; dropped %v", cap(h.bad), bad)
		}
	}})
	t.Cleanup(func() { _ = h.node.Close() })
	return h
}

// direct connects a raw peer as a direct client of the broker (a child the
// broker invited) and waits for the broker's side of the handshake.
func (h *brokerHarness) direct() *rawPeer {
	h.t.Helper()
	p, err := h.directHello(newRawID(h.t).hello())
	if err != nil {
		h.t.Fatalf("broker side of the handshake: %v", err)
	}
	return p
}

// directHello runs the broker's side of a direct child's handshake, as
// the broker invites a child (RegisterChild), against a raw peer sending
// hello, and returns the peer and the broker's Connect error.
func (h *brokerHarness) directHello(hello *wire.Hello) (*rawPeer, error) {
	h.t.Helper()
	ca, cb, err := sockets.ConnPair()
	if err != nil {
		h.t.Fatal(err)
	}
	child, err := h.node.NewChildBroker()
	if err != nil {
		h.t.Fatal(err)
	}
	defer child.Close()
	done := make(chan error, 1)
	go func() {
		_, err := h.node.Connect(h.ctx, ca, ConnectOptions{RegisterChild: child})
		done <- err
	}()
	p := startRawPeerHello(h.t, cb, hello)
	return p, <-done
}

// completeRegistration plays the registered child id on its end of the
// registration socket, and waits until the broker counts it as connected.
func (h *brokerHarness) completeRegistration(end *os.File, id rawID) *rawPeer {
	h.t.Helper()
	name := id.name
	p := startRawPeer(h.t, endConn(h.t, end), id)
	// The broker's Hello and Attach arrive once its handshake is done.
	for got := 0; got < 2; {
		select {
		case fr := <-p.frames:
			if fr.f.Type == wire.TypeHello || fr.f.Type == wire.TypeAttach {
				got++
			}
		case err := <-p.ended:
			h.t.Fatalf("registered node %s: channel ended during the handshake: %v", NodeName(name), err)
		case <-h.ctx.Done():
			h.t.Fatal("registration handshake never finished")
		}
	}
	h.waitFor(func() bool {
		c := h.node.broker.clients[name]
		return c != nil && c.counted
	})
	return p
}

// endConn makes a connection of end, the child's end of a registration
// socket, closing end.
func endConn(t *testing.T, end *os.File) *net.UnixConn {
	t.Helper()
	f, err := dupFile(end)
	_ = end.Close()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := sockets.Conn(os.NewFile(uintptr(f), "registered"))
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// waitFor waits, without polling, until cond holds under the node's lock.
func (h *brokerHarness) waitFor(cond func() bool) {
	h.t.Helper()
	changed := make(chan struct{}, 1)
	n := h.node
	signal := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	n.mu.Lock()
	n.flushed, n.broker.changed = signal, signal
	n.unlock()
	defer func() {
		n.mu.Lock()
		n.flushed, n.broker.changed = nil, nil
		n.unlock()
	}()
	for {
		n.mu.Lock()
		ok := cond()
		n.unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-h.ctx.Done():
			h.t.Fatal("condition never held")
		}
	}
}

// expectBad waits for a report charged to responsible.
func (h *brokerHarness) expectBad(node, responsible ports.NodeName) *BadMessageError {
	h.t.Helper()
	select {
	case bad := <-h.bad:
		if bad.Node != NodeName(node) || bad.Responsible != NodeName(responsible) {
			h.t.Fatalf("report %v: about %s charged to %s, want about %s charged to %s",
				bad, bad.Node, bad.Responsible, NodeName(node), NodeName(responsible))
		}
		return bad
	case <-h.ctx.Done():
		h.t.Fatalf("no bad-message report about %s", NodeName(node))
	}
	return nil
}

// expectEOF reads f, the far end of a socket the broker held, until the
// broker closes its end.
func expectEOF(t *testing.T, f *os.File) {
	t.Helper()
	fd, err := dupFile(f)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := sockets.Conn(os.NewFile(uintptr(fd), "registration"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, conn); err != nil {
		t.Fatalf("the broker kept its end of a registration socket: %v", err)
	}
}

// tablesEmpty reports whether the broker keeps nothing but the records of
// the nodes in live.
func (h *brokerHarness) tablesEmpty(live ...ports.NodeName) bool {
	b := &h.node.broker
	if len(b.registrations) != 0 || len(b.waiters) != 0 || len(b.introduced) != 0 || len(b.clients) > len(live) {
		return false
	}
	for _, n := range live {
		if c := b.clients[n]; c != nil && len(c.waits) != 0 {
			return false
		}
	}
	return true
}

func TestBrokerRefusesRegistrationOfAConnectedNode(t *testing.T) {
	h := newBrokerHarness(t, BrokerLimits{})
	b := h.direct()
	for _, name := range []func(a *rawPeer) ports.NodeName{
		func(*rawPeer) ports.NodeName { return b.name },
		func(*rawPeer) ports.NodeName { return h.node.name },
		func(a *rawPeer) ports.NodeName { return a.name },
	} {
		a := h.direct()
		end := a.register(name(a))
		h.expectBad(a.name, a.name)
		a.cut(h.ctx)
		expectEOF(t, end)
	}
	b.alive(h.ctx, 1)
}

// A client that registers a name twice at once is refused.
func TestBrokerRefusesDuplicateRegistration(t *testing.T) {
	h := newBrokerHarness(t, BrokerLimits{})
	a, b := h.direct(), h.direct()
	x := newRawID(t)
	first := a.register(x.name)
	a.alive(h.ctx, 1)
	// Another client's registration of the name in progress is no
	// offence of its own: which one is x's, only the proof can tell.
	other := b.register(x.name)
	b.alive(h.ctx, 1)
	again := a.register(x.name)
	bad := h.expectBad(a.name, a.name)
	if !strings.Contains(bad.Error(), "registering already") {
		t.Fatalf("report %v does not say the name is being registered already", bad)
	}
	a.cut(h.ctx)
	expectEOF(t, again)
	expectEOF(t, first)
	// b's registration is untouched and completes.
	h.completeRegistration(other, x)
}

func TestBrokerBoundsPendingRegistrations(t *testing.T) {
	h := newBrokerHarness(t, BrokerLimits{MaxPendingRegistrations: 2})
	a := h.direct()
	ends := []*os.File{a.register(randomNodeName(t)), a.register(randomNodeName(t))}
	a.alive(h.ctx, 1)
	over := a.register(randomNodeName(t))
	h.expectBad(a.name, a.name)
	a.cut(h.ctx)
	// Every socket the broker took from it is closed, the registrations in
	// progress included, and nothing of it is kept.
	for _, end := range append(ends, over) {
		expectEOF(t, end)
	}
	h.waitFor(func() bool { return h.tablesEmpty() })
}

func TestBrokerForgetsARegistrationNeverCompleted(t *testing.T) {
	h := newBrokerHarness(t, BrokerLimits{MaxPendingRegistrations: 1, RegistrationTimeout: 100 * time.Millisecond})
	a := h.direct()
	silent := a.register(randomNodeName(t))
	expectEOF(t, silent)
	h.waitFor(func() bool {
		return len(h.node.broker.registrations) == 0 && h.node.broker.clients[a.name].pending == 0
	})
	// The place is free again, and the timeout was no offence.
	x := newRawID(t)
	h.completeRegistration(a.register(x.name), x)
	select {
	case bad := <-h.bad:
		t.Fatalf("a timed-out registration was reported: %v", bad)
	default:
	}
}

func TestBrokerBoundsChildrenPerNode(t *testing.T) {
	h := newBrokerHarness(t, BrokerLimits{MaxChildrenPerNode: 2})
	a := h.direct()
	x1, x2 := newRawID(t), newRawID(t)
	h.completeRegistration(a.register(x1.name), x1)
	c2 := h.completeRegistration(a.register(x2.name), x2)
	// One registered child goes: its place is free again.
	_ = c2.ch.Close()
	h.waitFor(func() bool { return h.node.broker.clients[a.name].children == 1 })
	x3 := newRawID(t)
	h.completeRegistration(a.register(x3.name), x3)
	over := a.register(randomNodeName(t))
	h.expectBad(a.name, a.name)
	a.cut(h.ctx)
	expectEOF(t, over)
}

// Whatever a node registered by a direct client does, at any depth, is
// charged to that direct client.
func TestBrokerChargesDescendantsToTheirDirectClient(t *testing.T) {
	h := newBrokerHarness(t, BrokerLimits{})
	a := h.direct()
	x, y := newRawID(t), newRawID(t)
	px := h.completeRegistration(a.register(x.name), x)
	py := h.completeRegistration(px.register(y.name), y)
	// y breaks a rule: it asks to be introduced to itself.
	py.send(wire.AppendRequestIntroduction(nil, &wire.RequestIntroduction{Node: wire.NodeName(y.name)}), nil)
	bad := h.expectBad(y.name, a.name)
	if !errors.Is(bad, errProtocol) {
		t.Fatalf("report %v does not match errProtocol", bad)
	}
	if got := ResponsibleNode(bad.Node, bad); got != NodeName(a.name) {
		t.Fatalf("ResponsibleNode = %s, want %s", got, NodeName(a.name))
	}
	py.cut(h.ctx)
	// x and a are innocent and still served.
	px.alive(h.ctx, 1)
	a.alive(h.ctx, 2)
}

// A registered socket on which another node answers is a fault of the
// registering client.
func TestBrokerChargesAWrongNameToTheRegistrant(t *testing.T) {
	h := newBrokerHarness(t, BrokerLimits{})
	a := h.direct()
	x := randomNodeName(t)
	end := a.register(x)
	f, err := dupFile(end)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := sockets.Conn(os.NewFile(uintptr(f), "registered"))
	if err != nil {
		t.Fatal(err)
	}
	impostor := startRawPeer(t, conn, newRawID(t))
	bad := h.expectBad(a.name, a.name)
	if !errors.Is(bad, ErrHandshake) {
		t.Fatalf("report %v does not match ErrHandshake", bad)
	}
	impostor.cut(h.ctx)
	h.waitFor(func() bool {
		return h.node.broker.clients[a.name].pending == 0 && len(h.node.broker.registrations) == 0
	})
}

func TestBrokerBoundsAndDeduplicatesIntroductionRequests(t *testing.T) {
	h := newBrokerHarness(t, BrokerLimits{MaxPendingIntroductions: 2})
	a := h.direct()
	n1, n2 := randomNodeName(t), randomNodeName(t)
	for range 5 {
		a.send(wire.AppendRequestIntroduction(nil, &wire.RequestIntroduction{Node: wire.NodeName(n1)}), nil)
	}
	a.send(wire.AppendRequestIntroduction(nil, &wire.RequestIntroduction{Node: wire.NodeName(n2)}), nil)
	a.alive(h.ctx, 1)
	a.send(wire.AppendRequestIntroduction(nil, &wire.RequestIntroduction{Node: wire.NodeName(randomNodeName(t))}), nil)
	h.expectBad(a.name, a.name)
	a.cut(h.ctx)
	// Everything it asked for is forgotten, timers and all.
	h.waitFor(func() bool { return h.tablesEmpty() })
}

func TestBrokerAnswersAnUnknownNodeAfterTheWait(t *testing.T) {
	h := newBrokerHarness(t, BrokerLimits{IntroductionWait: 50 * time.Millisecond})
	a := h.direct()
	nobody := randomNodeName(t)
	a.send(wire.AppendRequestIntroduction(nil, &wire.RequestIntroduction{Node: wire.NodeName(nobody)}), nil)
	f := a.next(h.ctx)
	if f.f.Type != wire.TypeIntroduce || !f.f.Introduce.Unknown || ports.NodeName(f.f.Introduce.Node) != nobody || len(f.fds) != 0 {
		t.Fatalf("got %v %+v with %d descriptors, want an unknown-node Introduce for %s", f.f.Type, f.f.Introduce, len(f.fds), NodeName(nobody))
	}
	h.waitFor(func() bool { return h.tablesEmpty(a.name) })
}

// A request for a node whose registration has not reached the broker yet
// waits for it, and is answered when it connects.
func TestBrokerIntroducesANodeThatRegistersLater(t *testing.T) {
	h := newBrokerHarness(t, BrokerLimits{})
	a, b := h.direct(), h.direct()
	x := newRawID(t)
	a.send(wire.AppendRequestIntroduction(nil, &wire.RequestIntroduction{Node: wire.NodeName(x.name)}), nil)
	a.alive(h.ctx, 1)
	px := h.completeRegistration(b.register(x.name), x)
	for _, p := range []struct {
		peer  *rawPeer
		other ports.NodeName
	}{{a, x.name}, {px, a.name}} {
		f := p.peer.next(h.ctx)
		closeFDs(f.fds)
		if f.f.Type != wire.TypeIntroduce || f.f.Introduce.Unknown || ports.NodeName(f.f.Introduce.Node) != p.other || len(f.fds) != 1 {
			t.Fatalf("got %v %+v with %d descriptors, want an introduction to %s", f.f.Type, f.f.Introduce, len(f.fds), NodeName(p.other))
		}
	}
	// Once the requester goes, the pair is forgotten.
	_ = a.ch.Close()
	h.waitFor(func() bool { return len(h.node.broker.introduced) == 0 && h.node.broker.clients[a.name] == nil })
}
