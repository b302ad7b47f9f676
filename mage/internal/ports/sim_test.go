package ports

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The simulator drives several nodes through random interleavings of
// sends (with and without attached pipe ends), moves, partial delivery,
// closes and node deaths, and checks the pipe invariants exactly: each
// message body names its pipe, direction and sequence number.

var (
	simIters = flag.Int("sim.iters", 10000, "number of seeded random runs in TestSim")
	simSeed  = flag.Int64("sim.seed", -1, "run only this seed in TestSim, with a trace on failure")
	// simKeepGoing makes each worker go on past its first failing seed,
	// to count how many of a range fail.
	simKeepGoing = flag.Bool("sim.keepgoing", false, "in TestSim, report every failing seed, not only each worker's first")
	simSteps     = flag.Int("sim.steps", 400, "random actions per run before the final drain")
)

// simRegressions are seeds beyond the default range that once failed,
// each with what it found; TestSimRegressions runs them every time.
var simRegressions = []struct {
	seed  uint64
	found string
}{
	{14463, "an end moved on after its peer's loss was cut off, and not cut off again when its old node died with its queue"},
	{17594, "the same"},
	{52336, "the same"},
	{91494, "the same"},
	{93245, "the same"},
	{30105, "an honest message refused: the node it came from went on from a node that had held the sender twice, whose count hid one stint"},
	{79801, "an honest peer-moved event refused, the same way"},
	// Refused under protocol v2, where a node's stints at a port were a
	// count that could not say which stint an end marker ended; v3 names
	// the stints (sending port, PeerMovedEvent.NewPort).
	{106025, "an honest event refused under concurrent moves (stint counts)"},
	{159984, "the same"},
	{167110, "the same"},
	{201056, "the same"},
	{222175, "the same"},
	{253963, "the same"},
	{359689, "the same"},
	{70, "a stint set that lost its second entry when the first ended (found while making v3)"},
	{174537, "two early loss reports of one node at a port, the second overwriting the first (found while making v3)"},
}

func TestSimRegressions(t *testing.T) {
	for _, r := range simRegressions {
		if _, err := runSim(r.seed, false); err != nil {
			t.Errorf("seed %d (once: %s): %v\n  rerun: go test ./mage/internal/ports -run 'TestSim$' -sim.seed=%d -v", r.seed, r.found, err, r.seed)
		}
	}
}

func TestSim(t *testing.T) {
	if *simSeed >= 0 {
		if _, err := runSim(uint64(*simSeed), true); err != nil {
			t.Fatalf("seed %d: %v", *simSeed, err)
		}
		return
	}
	start := time.Now()
	iters := *simIters
	if testing.Short() {
		iters = min(iters, 1000)
	}
	workers := runtime.GOMAXPROCS(0)
	var (
		mu       sync.Mutex
		failures []string
		total    simStats
		wg       sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sum simStats
			defer func() {
				mu.Lock()
				total.add(sum)
				mu.Unlock()
			}()
			for seed := w; seed < iters; seed += workers {
				st, err := runSim(uint64(seed), false)
				sum.add(st)
				if err != nil {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("seed %d: %v\n  rerun: go test ./mage/internal/ports -run 'TestSim$' -sim.seed=%d -v", seed, err, seed))
					mu.Unlock()
					if !*simKeepGoing {
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	// Ports without rare state of their own read a shared zero one: a run
	// of moves, proxies, losses and vouching must never have written it.
	if !reflect.DeepEqual(noRare, portRare{}) {
		failures = append(failures, fmt.Sprintf("the shared zero rare state was written: %+v", noRare))
	}
	if len(failures) > 0 {
		slices.Sort(failures)
		t.Fatalf("%d worker(s) failed:\n%s", len(failures), strings.Join(failures, "\n"))
	}
	t.Logf("%d seeded runs in %v: %d messages sent, %d taken, %d dropped, %d pipe ends carried, %d events between nodes, %d nodes killed, %d pipes damaged by a kill, %d observe-proxy and %d acks between nodes, %d drained nodes checked free of proxies, %d pipe ends found on a direct route",
		iters, time.Since(start).Round(time.Millisecond), total.msgs, total.taken, total.dropped, total.attached, total.crossNode, total.kills, total.damagedPipes,
		total.observes, total.acks, total.collapsedNodes, total.directEnds)
}

type endState uint8

const (
	endHeld   endState = iota + 1 // a user holds it on node
	endInMsg                      // attached to message msg
	endClosed                     // closed by the user, or dropped with a message
	endGone                       // vanished with a node or a lost message
)

type simEnd struct {
	pipe, side int
	state      endState
	node       int
	port       PortName
	msg        int
}

type simPipe struct {
	ends    [2]*simEnd
	sent    [2]int // messages sent by each side
	taken   [2]int // messages each side took from the other
	touched map[int]bool
}

type simMsg struct {
	pipe, side, seq int
	ends            []*simEnd
	taken, dropped  bool
}

type sim struct {
	r      *rand.Rand
	nodes  []*Node
	dead   []bool
	links  map[[2]int][]Event
	notify map[[2]int]bool // {observer, lost}: LostNode still to be called
	// contact holds the pairs {a, b}, a < b, that have a connection: they
	// exchanged an event, or one asked to watch the other
	// (TakeWatchedNodes). As in the runtime, a node learns of a loss only
	// over a connection; a connection to a node already dead fails at once,
	// which tells it.
	contact map[[2]int]bool
	pipes   []*simPipe
	msgs    []*simMsg
	trace   []string
	err     error
	traceOn bool
	cross   int
	// collapsed counts live nodes checked for proxies after a drain, direct
	// the pipe ends found sending straight to their peer.
	collapsed, direct int
	// observes and acks count the collapsing events between nodes.
	observes, acks int
}

func (s *sim) logf(format string, args ...any) {
	if s.traceOn {
		s.trace = append(s.trace, fmt.Sprintf(format, args...))
	}
}

func (s *sim) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf(format, args...)
	}
}

// simStats counts what runs exercised, to show the simulator does work.
type simStats struct {
	msgs, taken, dropped, attached, crossNode, kills, damagedPipes int
	collapsedNodes, directEnds, observes, acks                     int
}

func (a *simStats) add(b simStats) {
	a.msgs += b.msgs
	a.taken += b.taken
	a.dropped += b.dropped
	a.attached += b.attached
	a.crossNode += b.crossNode
	a.kills += b.kills
	a.damagedPipes += b.damagedPipes
	a.collapsedNodes += b.collapsedNodes
	a.directEnds += b.directEnds
	a.observes += b.observes
	a.acks += b.acks
}

func (s *sim) stats() simStats {
	st := simStats{msgs: len(s.msgs), crossNode: s.cross, collapsedNodes: s.collapsed, directEnds: s.direct, observes: s.observes, acks: s.acks}
	for _, m := range s.msgs {
		if m.taken {
			st.taken++
		}
		if m.dropped {
			st.dropped++
		}
		st.attached += len(m.ends)
	}
	for _, d := range s.dead {
		if d {
			st.kills++
		}
	}
	for i := range s.pipes {
		if s.damaged(i) {
			st.damagedPipes++
		}
	}
	return st
}

func runSim(seed uint64, traceOn bool) (st simStats, err error) {
	s := &sim{
		r:       rand.New(rand.NewPCG(seed, 0x5eed)),
		links:   map[[2]int][]Event{},
		notify:  map[[2]int]bool{},
		contact: map[[2]int]bool{},
		traceOn: traceOn,
	}
	defer func() {
		if err != nil && traceOn {
			var ends []string
			for _, p := range s.pipes {
				for _, e := range p.ends {
					ends = append(ends, fmt.Sprintf("pipe %d side %d: state %d node %d port %v msg %d", e.pipe, e.side, e.state, e.node, e.port, e.msg))
				}
			}
			err = fmt.Errorf("%w\ntrace:\n  %s\nends:\n  %s", err, strings.Join(s.trace, "\n  "), strings.Join(ends, "\n  "))
		}
	}()
	numNodes := 2 + s.r.IntN(3)
	for i := range numNodes {
		var cs [32]byte
		cs[0], cs[1] = byte(seed), byte(seed>>8)
		cs[2], cs[3], cs[4] = byte(seed>>16), byte(seed>>24), byte(i)
		s.nodes = append(s.nodes, NewNode(Config{
			Name:     testNodeName(i),
			Rand:     rand.NewChaCha8(cs),
			DropBody: func(b any) { s.dropBody(i, b) },
		}))
		s.dead = append(s.dead, false)
	}
	// A few pipes with an end on another node, so moves cross nodes.
	for range 2 + s.r.IntN(3) {
		e := s.createPipe(s.r.IntN(numNodes))
		s.bootstrapMove(e.pipe, s.r.IntN(2), s.r.IntN(numNodes))
	}
	kills := 0
	if s.r.IntN(2) == 0 {
		kills = 1 + s.r.IntN(numNodes-1)
	}
	for step := 0; step < *simSteps && s.err == nil; step++ {
		s.randomAction(&kills)
		s.collect()
	}
	if s.err == nil {
		s.finish()
	}
	return s.stats(), s.err
}

func (s *sim) randomAction(kills *int) {
	switch x := s.r.IntN(100); {
	case x < 40:
		s.deliverOne()
	case x < 60:
		if e := s.pickHeld(); e != nil {
			s.send(e)
		}
	case x < 72:
		if e := s.pickHeld(); e != nil {
			s.take(e, s.r.IntN(2) == 0)
		}
	case x < 76:
		if e := s.pickHeld(); e != nil {
			s.checkStatus(e, false)
		}
	case x < 80:
		if e := s.pickHeld(); e != nil {
			s.close(e)
		}
	case x < 85:
		if s.livePipes() < 10 {
			if n := s.pickLive(); n >= 0 {
				s.createPipe(n)
			}
		}
	case x < 89:
		if e := s.pickHeld(); e != nil {
			s.bootstrapMove(e.pipe, e.side, s.r.IntN(len(s.nodes)))
		}
	case x < 95:
		s.notifyOne()
	default:
		if *kills > 0 && s.r.IntN(4) == 0 {
			*kills--
			s.kill()
		}
	}
}

// livePipes counts the pipes with an end still held or travelling.
func (s *sim) livePipes() int {
	c := 0
	for _, p := range s.pipes {
		if p.ends[0].state <= endInMsg || p.ends[1].state <= endInMsg {
			c++
		}
	}
	return c
}

func (s *sim) pickLive() int {
	var live []int
	for i, d := range s.dead {
		if !d {
			live = append(live, i)
		}
	}
	if len(live) == 0 {
		return -1
	}
	return live[s.r.IntN(len(live))]
}

func (s *sim) held() []*simEnd {
	var out []*simEnd
	for _, p := range s.pipes {
		for _, e := range p.ends {
			if e.state == endHeld {
				out = append(out, e)
			}
		}
	}
	return out
}

func (s *sim) pickHeld() *simEnd {
	h := s.held()
	if len(h) == 0 {
		return nil
	}
	return h[s.r.IntN(len(h))]
}

func (s *sim) other(e *simEnd) *simEnd { return s.pipes[e.pipe].ends[1-e.side] }

func (s *sim) touch(pipe int, nodes ...int) {
	for _, n := range nodes {
		s.pipes[pipe].touched[n] = true
	}
}

// damaged reports whether a dead node ever carried anything of the pipe.
func (s *sim) damaged(pipe int) bool {
	for n := range s.pipes[pipe].touched {
		if s.dead[n] {
			return true
		}
	}
	return false
}

func (s *sim) createPipe(node int) *simEnd {
	a, b := s.nodes[node].CreatePortPair()
	id := len(s.pipes)
	p := &simPipe{touched: map[int]bool{node: true}}
	p.ends[0] = &simEnd{pipe: id, side: 0, state: endHeld, node: node, port: a}
	p.ends[1] = &simEnd{pipe: id, side: 1, state: endHeld, node: node, port: b}
	s.pipes = append(s.pipes, p)
	s.logf("create pipe %d on node %d: %v %v", id, node, a, b)
	return p.ends[0]
}

func (s *sim) bootstrapMove(pipe, side, to int) {
	e := s.pipes[pipe].ends[side]
	if e.state != endHeld || e.node == to || s.dead[to] {
		return
	}
	from := e.node
	d, err := s.nodes[from].MovePort(e.port, s.nodes[to].Name())
	if errors.Is(err, ErrNodeLost) {
		return // from has been told to is gone
	}
	if err != nil {
		s.fail("MovePort pipe %d side %d: %v", pipe, side, err)
		return
	}
	s.touch(pipe, from, to)
	s.connect(from, to) // the runtime hands a descriptor over a connection
	p, err := s.nodes[to].AdoptPort(s.nodes[from].Name(), d)
	if err != nil {
		s.fail("AdoptPort pipe %d side %d: %v", pipe, side, err)
		return
	}
	s.logf("bootstrap move pipe %d side %d: node %d %v -> node %d %v", pipe, side, from, e.port, to, p)
	e.node, e.port = to, p
}

// inside reports whether end x sits, at any depth, in the queue of end a:
// sending a to x's pipe would then make a cycle.
func (s *sim) inside(x, a *simEnd) bool {
	for cur := x; cur.state == endInMsg; {
		m := s.msgs[cur.msg]
		cur = s.pipes[m.pipe].ends[1-m.side]
		if cur == a {
			return true
		}
	}
	return false
}

func (s *sim) send(e *simEnd) {
	dest := s.other(e)
	var attach []*simEnd
	if s.r.IntN(3) == 0 {
		for _, c := range s.held() {
			if c.node == e.node && c.pipe != e.pipe && !s.inside(dest, c) && len(attach) < 2 && s.r.IntN(2) == 0 {
				attach = append(attach, c)
			}
		}
	}
	p := s.pipes[e.pipe]
	id := len(s.msgs)
	m := Message{Body: id}
	for _, c := range attach {
		m.Ports = append(m.Ports, c.port)
	}
	// Registered first: a same-node send may drop the body before it returns.
	sm := &simMsg{pipe: e.pipe, side: e.side, seq: p.sent[e.side] + 1, ends: attach}
	s.msgs = append(s.msgs, sm)
	for _, c := range attach {
		c.state, c.msg = endInMsg, id
	}
	err := s.nodes[e.node].SendMessage(e.port, m)
	if err != nil {
		s.msgs = s.msgs[:id]
		for _, c := range attach {
			c.state = endHeld
		}
	}
	if errors.Is(err, ErrPeerClosed) {
		if dest.state == endHeld && !s.damaged(e.pipe) {
			s.fail("send on pipe %d side %d: peer closed, but the peer is open and the pipe undamaged", e.pipe, e.side)
		}
		return
	}
	if err != nil {
		s.fail("send on pipe %d side %d: %v", e.pipe, e.side, err)
		return
	}
	p.sent[e.side]++
	s.logf("node %d pipe %d side %d sends msg %d (seq %d) attaching %d ends", e.node, e.pipe, e.side, id, sm.seq, len(attach))
}

func (s *sim) take(e *simEnd, all bool) {
	for {
		m, ok, err := s.nodes[e.node].GetMessage(e.port)
		if err != nil {
			s.fail("get on pipe %d side %d: %v", e.pipe, e.side, err)
			return
		}
		if !ok {
			return
		}
		id, _ := m.Body.(int)
		sm := s.msgs[id]
		p := s.pipes[e.pipe]
		switch {
		case sm.pipe != e.pipe || sm.side == e.side:
			s.fail("pipe %d side %d took msg %d of pipe %d side %d", e.pipe, e.side, id, sm.pipe, sm.side)
		case sm.taken || sm.dropped:
			s.fail("msg %d taken again (taken %v dropped %v)", id, sm.taken, sm.dropped)
		case sm.seq != p.taken[e.side]+1:
			s.fail("pipe %d side %d took seq %d after %d", e.pipe, e.side, sm.seq, p.taken[e.side])
		case uint64(sm.seq) != m.Seq:
			s.fail("msg %d has seq %d, sent as %d", id, m.Seq, sm.seq)
		case len(m.Ports) != len(sm.ends):
			s.fail("msg %d carries %d ports, sent with %d", id, len(m.Ports), len(sm.ends))
		}
		if s.err != nil {
			return
		}
		sm.taken = true
		p.taken[e.side]++
		for i, c := range sm.ends {
			if c.state != endInMsg || c.msg != id {
				s.fail("msg %d: attached end pipe %d side %d in state %d", id, c.pipe, c.side, c.state)
				return
			}
			c.state, c.node, c.port = endHeld, e.node, m.Ports[i]
			s.touch(c.pipe, e.node)
		}
		s.logf("node %d pipe %d side %d took msg %d (seq %d)", e.node, e.pipe, e.side, id, sm.seq)
		if !all {
			return
		}
	}
}

func (s *sim) dropBody(node int, b any) {
	id, ok := b.(int)
	if !ok || id < 0 || id >= len(s.msgs) {
		s.fail("node %d dropped unknown body %v", node, b)
		return
	}
	sm := s.msgs[id]
	if sm.taken || sm.dropped {
		s.fail("msg %d dropped after being taken %v or dropped %v", id, sm.taken, sm.dropped)
		return
	}
	sm.dropped = true
	for _, c := range sm.ends {
		if c.state == endInMsg && c.msg == id {
			c.state = endClosed
		}
	}
	s.logf("node %d dropped msg %d", node, id)
}

func (s *sim) close(e *simEnd) {
	if err := s.nodes[e.node].ClosePort(e.port); err != nil {
		s.fail("close pipe %d side %d: %v", e.pipe, e.side, err)
		return
	}
	e.state = endClosed
	s.logf("node %d closes pipe %d side %d", e.node, e.pipe, e.side)
}

// checkStatus checks what end e reports; final says the network is quiet
// and every message that will ever arrive has been taken.
func (s *sim) checkStatus(e *simEnd, final bool) {
	st, err := s.nodes[e.node].Status(e.port)
	if err != nil {
		s.fail("status pipe %d side %d: %v", e.pipe, e.side, err)
		return
	}
	p, o := s.pipes[e.pipe], s.other(e)
	damaged := s.damaged(e.pipe)
	all := p.taken[e.side] == p.sent[o.side]
	where := fmt.Sprintf("pipe %d side %d (taken %d of %d, other end state %d, damaged %v, final %v): %+v",
		e.pipe, e.side, p.taken[e.side], p.sent[o.side], o.state, damaged, final, st)
	if st.PeerClosed != (st.Reason != ReasonNone) {
		s.fail("reason inconsistent: %s", where)
	}
	// An orderly closure is reported only after everything the closed end
	// sent. (On a damaged pipe a loss can read as an orderly closure: a
	// port cut off by a loss that then moves carries only "peer closed" in
	// its descriptor.)
	if st.Reason == ReasonPeerClosed && !damaged && (o.state != endClosed || !all) {
		s.fail("peer closed too early or wrongly: %s", where)
	}
	if st.Reason == ReasonNodeLost && !damaged {
		s.fail("loss reported on a pipe no dead node ever carried: %s", where)
	}
	if !final {
		return
	}
	if st.Readable {
		s.fail("readable after taking everything: %s", where)
	}
	// A pipe that is not reported closed must be whole: its other end
	// lives and every message it sent arrived. A dead node the route
	// collapsed away from before it died does not break it; one that
	// still carried part of it does, and then both sides must say so.
	if !st.PeerClosed && (o.state != endHeld || !all) {
		s.fail("pipe neither whole nor reported closed: %s", where)
	}
}

func (s *sim) collect() {
	for i, n := range s.nodes {
		if s.dead[i] {
			continue
		}
		if n.internalErr != nil {
			s.fail("node %d internal error: %v", i, n.internalErr)
		}
		for _, w := range n.TakeWatchedNodes() {
			s.connect(i, int(w[1])-1)
		}
		for _, o := range n.TakeOutgoing() {
			to := int(o.To[1]) - 1
			s.connect(i, to)
			if u, ok := o.Event().(UserEvent); ok {
				id, _ := u.Body.(int)
				sm := s.msgs[id]
				s.touch(sm.pipe, i, to)
				for _, c := range sm.ends {
					s.touch(c.pipe, i, to)
				}
			}
			s.cross++
			switch o.Event().(type) {
			case ObserveProxyEvent:
				s.observes++
			case ObserveProxyAckEvent:
				s.acks++
			}
			if s.dead[to] {
				continue // the channel to a dead node swallows it
			}
			k := [2]int{i, to}
			s.links[k] = append(s.links[k], o.Event())
		}
	}
}

func (s *sim) busyLinks() [][2]int {
	var keys [][2]int
	for k, q := range s.links {
		if len(q) > 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
	return keys
}

func (s *sim) deliverOne() bool {
	keys := s.busyLinks()
	if len(keys) == 0 {
		return false
	}
	s.deliver(keys[s.r.IntN(len(keys))])
	return true
}

func (s *sim) deliver(k [2]int) {
	q := s.links[k]
	ev := q[0]
	s.links[k] = q[1:]
	from, to := k[0], k[1]
	s.logf("deliver %d->%d %T %+v", from, to, ev, ev)
	if err := s.nodes[to].AcceptEvent(s.nodes[from].Name(), ev); err != nil {
		if errors.Is(err, ErrNotAuthorized) {
			s.fail("an honest run produced an authority error: AcceptEvent %d->%d %+v: %v\n  node %d:%s", from, to, ev, err, to, s.nodes[to].dump())
			return
		}
		s.fail("AcceptEvent %d->%d %+v: %v", from, to, ev, err)
	}
	s.collect()
}

// kill makes a node vanish. Links into it die with it; what it already
// sent may still arrive, and each survivor learns of the loss later, after
// what it was going to receive from the dead node (as a socket reports EOF
// after the buffered data).
func (s *sim) kill() {
	x := s.pickLive()
	if x < 0 {
		return
	}
	live := 0
	for _, d := range s.dead {
		if !d {
			live++
		}
	}
	if live < 2 {
		return
	}
	s.collect()
	s.dead[x] = true
	for _, k := range s.busyLinks() {
		if k[1] == x || (k[0] == x && s.r.IntN(2) == 0) {
			delete(s.links, k)
		}
	}
	for j := range s.nodes {
		if !s.dead[j] && s.contact[pairOf(j, x)] {
			s.notify[[2]int{j, x}] = true
		}
	}
	for _, p := range s.pipes {
		for _, e := range p.ends {
			if e.state == endHeld && e.node == x {
				e.state = endGone
			}
		}
	}
	s.logf("kill node %d", x)
}

// connect records that nodes a and b have a connection. If one of them is
// dead, the other will learn of it.
func (s *sim) connect(a, b int) {
	k := pairOf(a, b)
	if a == b || s.contact[k] {
		return
	}
	s.contact[k] = true
	switch {
	case s.dead[a] && !s.dead[b]:
		s.notify[[2]int{b, a}] = true
	case s.dead[b] && !s.dead[a]:
		s.notify[[2]int{a, b}] = true
	}
}

func pairOf(a, b int) [2]int {
	if a > b {
		a, b = b, a
	}
	return [2]int{a, b}
}

// notifyOne tells one survivor of one loss, if the dead node's link to it
// has run dry.
func (s *sim) notifyOne() bool {
	var ready [][2]int
	for k := range s.notify {
		if len(s.links[[2]int{k[1], k[0]}]) == 0 {
			ready = append(ready, k)
		}
	}
	if len(ready) == 0 {
		return false
	}
	slices.SortFunc(ready, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
	k := ready[s.r.IntN(len(ready))]
	delete(s.notify, k)
	if s.dead[k[0]] {
		return true
	}
	s.logf("node %d learns node %d is lost", k[0], k[1])
	s.nodes[k[0]].LostNode(s.nodes[k[1]].Name())
	s.collect()
	return true
}

// drain delivers everything and every pending loss notice.
func (s *sim) drain() {
	for steps := 0; s.err == nil; steps++ {
		if steps > 200000 {
			s.fail("network does not quiesce: events keep circulating")
			return
		}
		if !s.deliverOne() && !s.notifyOne() {
			return
		}
	}
}

func (s *sim) finish() {
	s.drain()
	// Take everything, which hands the ends inside messages to users.
	for progress := true; progress && s.err == nil; {
		progress = false
		for _, e := range s.held() {
			before := s.pipes[e.pipe].taken[e.side]
			s.take(e, true)
			if s.pipes[e.pipe].taken[e.side] != before {
				progress = true
			}
		}
	}
	s.collect()
	if len(s.busyLinks()) > 0 {
		s.fail("taking messages produced events")
	}
	s.checkNothingHeld()
	for _, e := range s.held() {
		s.checkStatus(e, true)
	}
	s.checkCollapsed()
	if s.err != nil {
		return
	}
	for _, e := range s.held() {
		s.close(e)
		if s.r.IntN(2) == 0 {
			s.drain()
		}
	}
	s.collect()
	s.drain()
	for i, n := range s.nodes {
		if !s.dead[i] && n.PortCount() != 0 {
			s.fail("node %d leaked %d ports:%s", i, n.PortCount(), n.dump())
		}
	}
}

// checkCollapsed checks, once the network is quiet and every loss has been
// processed, that every route collapsed: no proxy is left on a live node,
// each end of a whole pipe sends straight to the other and watches the
// other's node alone, and the nodes' indexes agree with their ports.
func (s *sim) checkCollapsed() {
	for i, n := range s.nodes {
		if s.dead[i] {
			continue
		}
		s.collapsed++
		if c := n.ProxyCount(); c != 0 {
			s.fail("node %d keeps %d proxies after the run drained:%s", i, c, n.dump())
		}
		if err := n.checkIndexes(); err != nil {
			s.fail("node %d: %v", i, err)
		}
	}
	for _, e := range s.held() {
		o := s.other(e)
		p := s.nodes[e.node].ports[e.port]
		if o.state != endHeld || p.peerClosed {
			continue
		}
		want := Address{Node: s.nodes[o.node].Name(), Port: o.port}
		if p.peer != want {
			s.fail("pipe %d side %d on node %d sends to %v, not straight to its peer %v", e.pipe, e.side, e.node, p.peer, want)
		}
		if p.sources.len() != 1 || p.sources.count(want.Node) != 1 {
			s.fail("pipe %d side %d on node %d watches %v, want only node %d", e.pipe, e.side, e.node, p.sources, o.node)
		}
		// Authority is exact: the other end alone feeds this one, and no
		// early end of a stint of this node waits for its start.
		if l := p.stints.list(); len(l) != 1 || l[0] != (stintID{want.Node, want.Port}) || len(p.rare().endedEarly) != 0 {
			s.fail("pipe %d side %d on node %d has stints %v (early ends %v), want only its peer %v", e.pipe, e.side, e.node, p.stints, p.rare().endedEarly, want)
		}
		s.direct++
	}
}

// checkNothingHeld checks, once the network is quiet, that no node still
// holds an event waiting for its sender's authority: in an honest run
// every such event's stint starts sooner or later.
func (s *sim) checkNothingHeld() {
	for i, n := range s.nodes {
		if !s.dead[i] && len(n.held) != 0 {
			s.fail("node %d still holds events after the run drained: %v:%s", i, n.held, n.dump())
		}
	}
}
