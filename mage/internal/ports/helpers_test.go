package ports

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// testNet wires a few nodes with FIFO links and moves events by hand.
type testNet struct {
	t       *testing.T
	nodes   []*Node
	links   map[[2]int][]Event
	dead    map[int]bool
	dropped []any
}

func testNodeName(i int) NodeName { return NodeName{0xA0, byte(i + 1)} }

func newTestNet(t *testing.T, k int) *testNet {
	t.Helper()
	tn := &testNet{t: t, links: map[[2]int][]Event{}, dead: map[int]bool{}}
	for i := range k {
		var seed [32]byte
		seed[0] = byte(i + 1)
		tn.nodes = append(tn.nodes, NewNode(Config{
			Name:     testNodeName(i),
			Rand:     rand.NewChaCha8(seed),
			DropBody: func(b any) { tn.dropped = append(tn.dropped, b) },
		}))
	}
	return tn
}

// indexOf is index for a node that may be outside the net (a hostile
// one in the fuzz test), which yields -1: events to it vanish.
func (tn *testNet) indexOf(name NodeName) int {
	for i, n := range tn.nodes {
		if n.Name() == name {
			return i
		}
	}
	return -1
}

// collect moves every node's outgoing events onto the links.
func (tn *testNet) collect() {
	for i, n := range tn.nodes {
		if tn.dead[i] {
			continue
		}
		for _, o := range n.TakeOutgoing() {
			to := tn.indexOf(o.To)
			if to < 0 || tn.dead[to] {
				continue
			}
			k := [2]int{i, to}
			tn.links[k] = append(tn.links[k], o.Event())
		}
		if n.internalErr != nil {
			tn.t.Fatalf("node %d internal error: %v", i, n.internalErr)
		}
	}
}

// step delivers the first event of link from->to; it reports whether there
// was one.
func (tn *testNet) step(from, to int) bool {
	tn.t.Helper()
	tn.collect()
	k := [2]int{from, to}
	q := tn.links[k]
	if len(q) == 0 {
		return false
	}
	tn.links[k] = q[1:]
	if err := tn.nodes[to].AcceptEvent(tn.nodes[from].Name(), q[0]); err != nil {
		tn.t.Fatalf("AcceptEvent %d->%d %#v: %v", from, to, q[0], err)
	}
	tn.collect()
	return true
}

// run delivers events, lowest link first, until none are left.
func (tn *testNet) run() {
	tn.t.Helper()
	for {
		tn.collect()
		keys := make([][2]int, 0, len(tn.links))
		for k, q := range tn.links {
			if len(q) > 0 {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			return
		}
		slices.SortFunc(keys, func(a, b [2]int) int {
			if a[0] != b[0] {
				return a[0] - b[0]
			}
			return a[1] - b[1]
		})
		tn.step(keys[0][0], keys[0][1])
	}
}

// move sends port p of node from to node to by bootstrap.
func (tn *testNet) move(p PortName, from, to int) PortName {
	tn.t.Helper()
	d, err := tn.nodes[from].MovePort(p, tn.nodes[to].Name())
	if err != nil {
		tn.t.Fatalf("MovePort: %v", err)
	}
	q, err := tn.nodes[to].AdoptPort(tn.nodes[from].Name(), d)
	if err != nil {
		tn.t.Fatalf("AdoptPort: %v", err)
	}
	return q
}

// kill makes node i vanish with everything on its links, and tells the
// others.
func (tn *testNet) kill(i int) {
	tn.collect()
	tn.dead[i] = true
	for k := range tn.links {
		if k[0] == i || k[1] == i {
			delete(tn.links, k)
		}
	}
	for j, n := range tn.nodes {
		if !tn.dead[j] {
			n.LostNode(tn.nodes[i].Name())
		}
	}
	tn.collect()
}

func (tn *testNet) portCounts() []int {
	var c []int
	for _, n := range tn.nodes {
		c = append(c, n.PortCount())
	}
	return c
}

func (tn *testNet) requireNoPorts() {
	tn.t.Helper()
	for i, n := range tn.nodes {
		if c := n.PortCount(); c != 0 && !tn.dead[i] {
			tn.t.Fatalf("node %d has %d ports left (all: %v)", i, c, tn.portCounts())
		}
	}
}

func mustSend(t *testing.T, n *Node, from PortName, body any, attach ...PortName) {
	t.Helper()
	if err := n.SendMessage(from, Message{Body: body, Ports: attach}); err != nil {
		t.Fatalf("SendMessage(%v): %v", body, err)
	}
}

func mustGet(t *testing.T, n *Node, p PortName) Message {
	t.Helper()
	m, ok, err := n.GetMessage(p)
	if err != nil || !ok {
		t.Fatalf("GetMessage: ok=%v err=%v", ok, err)
	}
	return m
}

func mustStatus(t *testing.T, n *Node, p PortName) Status {
	t.Helper()
	s, err := n.Status(p)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	return s
}

func requireNone(t *testing.T, n *Node, p PortName) {
	t.Helper()
	m, ok, err := n.GetMessage(p)
	if err != nil || ok {
		t.Fatalf("GetMessage: want nothing, got %v ok=%v err=%v", m.Body, ok, err)
	}
}

// requireBodies takes len(want) messages and checks their bodies in order.
func requireBodies(t *testing.T, n *Node, p PortName, want ...any) {
	t.Helper()
	for i, w := range want {
		m := mustGet(t, n, p)
		if m.Body != w {
			t.Fatalf("message %d: body %v, want %v", i, m.Body, w)
		}
	}
}

func requireErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
}

// dump describes every port of n, for failure messages.
func (n *Node) dump() string {
	var b strings.Builder
	names := make([]PortName, 0, len(n.ports))
	for name := range n.ports {
		names = append(names, name)
	}
	slices.SortFunc(names, comparePorts)
	for _, name := range names {
		p := n.ports[name]
		fmt.Fprintf(&b, "\n    %v state=%d peer=%v target=%v send=%d recv=%d missing=%d queued=%d peerClosed=%v last=%d lost=%v sources=%v inTransit=%v announce=%v observing=%v asked=%v acked=%v ackSeq=%d handover=%v held=%d stints=%v movedAway=%v unvouched=%v vouchWaits=%v",
			name, p.state, p.peer, p.rare().target, p.nextSend, p.nextRecv, p.nextMissing, p.queue.len(), p.peerClosed, p.lastRecv, p.lost, p.sources, p.inTransit,
			p.announceMove, p.observing, p.rare().asked, p.acked, p.rare().ackSeq, p.rare().handover, len(p.rare().held), p.stints, p.rare().movedAway, p.unvouched, p.rare().vouchWaits)
		for _, h := range p.rare().held {
			fmt.Fprintf(&b, "\n      held from %v:%v vouch=%v user=%v ev=%+v", h.from, h.sender, h.vouch, h.isUser(), h.ev)
			if h.isUser() {
				fmt.Fprintf(&b, " seq=%d", h.user.seq)
			}
		}
	}
	return b.String()
}

// checkIndexes reports whether n's lookup maps agree with its ports: every
// receiving port with a peer on this node is that peer's referrer, every proxy is found by its
// target, and nothing else is in either map.
func (n *Node) checkIndexes() error {
	receiving, proxies := 0, 0
	for name, p := range n.ports {
		switch p.state {
		case stateReceiving:
			got, indexed := n.referrers.get(p.peer)
			if p.peer.Node != n.name {
				if indexed {
					return fmt.Errorf("port %v with peer %v on another node is indexed as a referrer", name, p.peer)
				}
				break
			}
			receiving++
			if got != name {
				return fmt.Errorf("port %v with peer %v: referrers index says %v", name, p.peer, got)
			}
		case stateProxying:
			proxies++
			if got := n.proxyTo[p.rare().target]; got != name {
				return fmt.Errorf("proxy %v to %v: proxyTo index says %v", name, p.rare().target, got)
			}
		}
	}
	if n.referrers.len() != receiving || len(n.proxyTo) != proxies {
		return fmt.Errorf("indexes hold %d referrers and %d proxies, the node %d receiving ports with a peer here and %d proxies",
			n.referrers.len(), len(n.proxyTo), receiving, proxies)
	}
	return nil
}

// sent is an Outgoing as tests compare it: the user message boxed.
type sent struct {
	To    NodeName
	Event Event
}

func sentOf(out []Outgoing) []sent {
	s := make([]sent, len(out))
	for i, o := range out {
		s[i] = sent{To: o.To, Event: o.Event()}
	}
	return s
}

// adoptAndMoveOn adopts on n, from r1, port {1} of a pipe whose other end
// {2} lives on r0 (the proxy {3} left on r1 feeds it), and moves it on to
// r2: it returns the proxy left here and the descriptor sent to r2.
func adoptAndMoveOn(t *testing.T, n *Node, r0, r1, r2 NodeName) (PortName, Descriptor) {
	t.Helper()
	x, err := n.AdoptPort(r1, Descriptor{Name: PortName{1}, Peer: Address{Node: r0, Port: PortName{2}}, Proxy: PortName{3}, NextSendSeq: 1, NextRecvSeq: 1})
	if err != nil {
		t.Fatal(err)
	}
	d, err := n.MovePort(x, r2)
	if err != nil {
		t.Fatal(err)
	}
	return x, d
}
