package mage

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/mage/internal/names"
	"github.com/mage-ipc/mage/mage/internal/ports"
	"github.com/mage-ipc/mage/mage/internal/wake"
	"github.com/mage-ipc/mage/mage/internal/wire"
)

// NodeName is the random 128-bit name of a node. Its String is the name in
// hex, as every log and error of the runtime spells it.
type NodeName = names.NodeName

// Limits bound what one message may carry, and everything another node can
// make this one hold: frames, time, queues, descriptors, memory. The
// message limits are enforced when a message is written, and when one
// arrives from another node: a node that sends more than this node allows
// is misbehaving, and its connection is cut and reported to the bad-message
// handlers (and to ConnectOptions.OnBadMessage). Zero fields take the value
// of DefaultLimits; docs/security.md lists every bound with its policy.
type Limits struct {
	// MaxPayload is the largest payload in bytes. Default 16 MiB.
	MaxPayload int
	// MaxPipes is the most pipe ends one message may carry. Default 64.
	MaxPipes int
	// MaxHandles is the most OS handles one message may carry. Default 64.
	MaxHandles int

	// MaxHandshakeFrame is the largest frame accepted on a connection
	// before the peer's Hello has been checked (version, token, name).
	// Default 4 KiB; a Hello is at most 144 bytes. A peer that declares a
	// larger frame first is cut as soon as the frame's header arrives,
	// and reported.
	MaxHandshakeFrame int
	// HandshakeTimeout bounds Connect when its context has no deadline of
	// its own (the launcher's AcceptTimeout is one). Default 30 s. Connect
	// then fails with an error matching ErrHandshake and
	// context.DeadlineExceeded.
	HandshakeTimeout time.Duration
	// FrameTimeout bounds the time from the arrival of a frame's first byte
	// to its last. Default 30 s. A peer that starts a frame and stalls is
	// cut, and reported; nothing of the frame is kept. Silence between
	// frames is not bounded.
	FrameTimeout time.Duration
	// MaxQueuedBytes bounds the bytes queued toward one peer node that
	// does not read them. Default 64 MiB. Once that much is queued,
	// WriteMessage on a pipe whose peer is on that node fails with an
	// error matching ErrPeerBackedUp, sending and consuming nothing.
	// Frames the node must send regardless (messages it forwards, control
	// frames, answers) may take the queue to twice this bound; beyond
	// that the connection is cut as a slow reader (ErrSlowReader), and
	// reported, so nothing is ever dropped silently.
	MaxQueuedBytes int
	// MaxQueuedHandles bounds the OS handles in flight on one connection,
	// in each direction: received ahead of the frames that claim them, and
	// queued toward a peer that does not read. Default 1000. Receiving
	// more is a protocol violation; queueing more cuts the connection as a
	// slow reader. Both are reported.
	MaxQueuedHandles int
	// MaxEarlyAnswers bounds the answers (counters, introductions) a peer
	// may ask for before this side's attachments have gone out, which the
	// node must hold until then. Default 16. More is a protocol violation.
	MaxEarlyAnswers int
	// MaxLostNodes bounds how many lost nodes the node remembers, for the
	// cause in PeerClosedError and for LastPeerCounters. Default 1024; the
	// oldest is forgotten first.
	MaxLostNodes int
	// ReorderWindow is how far ahead of the next expected sequence number
	// a message from another node may be; one beyond it is a bad message.
	ReorderWindow uint64
	// MaxPortsPerNode is how many pipe ends received from one node may be
	// alive on this node at once; more is a bad message.
	MaxPortsPerNode int
	// MaxHeldEvents is how many events from one node may wait for that
	// node's right to address their pipe to be confirmed. When it is
	// reached, the node's stints (ends or proxies not yet known to the
	// pipe) that hold the most are refused, charging no one, since the
	// node may be relaying a made-up descriptor: their events are dropped,
	// and a refused stint that later starts cuts its pipe off as lost. A
	// hold spread over stints of one event each is a bad message.
	MaxHeldEvents int
}

// NodeOptions configures a Node. The zero value is usable.
type NodeOptions struct {
	// Logger receives the node's diagnostics. Nil means no logging.
	Logger hclog.Logger
	// Limits bounds messages; zero fields take the defaults (DefaultLimits).
	Limits Limits
	// OnBadMessage is called, on an I/O goroutine, when a message from
	// another node is rejected: a malformed frame, a broken protocol rule,
	// or a message the bindings could not decode. err is a
	// *BadMessageError (see AddBadMessageHandler). It must not block. A
	// supervisor uses it to kill the node's process.
	OnBadMessage func(from NodeName, err error)
	// Broker bounds what this node keeps for the nodes of its tree when it
	// is their broker; zero fields take the defaults (DefaultBrokerLimits).
	Broker BrokerLimits
	// Trace, when not nil, receives a line for every message the node's
	// pipes write and read: the method's name (from the interfaces magen
	// registered), the payload's size, the pipes and handles attached, and
	// the nodes it goes from and to. See also EnvTrace.
	Trace hclog.Logger
}

// Node is this process's place in a mage process tree: it owns the ports
// behind every MessagePipe of the process and the sockets to other nodes.
//
// Most programs use the process's DefaultNode through the package-level
// functions. Tests create several nodes in one process with NewNode and join
// them with Connect over a socketpair; they behave exactly like processes.
//
// All methods are safe for concurrent use. Close ends the node's
// connections and waits for their goroutines.
type Node struct {
	name ports.NodeName
	// proof is the secret name is derived from; it goes to the broker
	// alone (nameproof.go).
	proof  wire.NameProof
	log    hclog.Logger
	limits Limits
	onBad  func(from NodeName, err error)
	// trace is NodeOptions.Trace; nil when off.
	trace hclog.Logger
	// counts are the node's message counts.
	counts counters
	// version is the protocol version this node speaks: ProtocolVersion,
	// except in tests of the version check.
	version uint16

	// mu serialises every call into the port state machine and guards the
	// fields below. Lock order: mu, then a channel's own lock (channels never
	// call back into the node while holding theirs). No system call runs
	// under it: release it with unlock, which writes what was queued.
	mu        sync.Mutex
	ports     *ports.Node
	endpoints map[ports.PortName]*endpoint
	links     map[ports.NodeName]*link
	// waiting holds events for nodes we have no connection to yet, in
	// order; they are sent when a connection to that node appears.
	// waitingBytes is the payload bytes waiting per node, which
	// WriteMessage bounds as it bounds a connection's queue.
	waiting      map[ports.NodeName][]ports.Outgoing
	waitingBytes map[ports.NodeName]int
	// lost remembers why each lost node went, for PeerClosedError;
	// lostOrder holds the same nodes, oldest first, so that at most
	// Limits.MaxLostNodes are remembered (see rememberLostLocked).
	lost      map[ports.NodeName]error
	lostOrder []ports.NodeName
	// allLinks holds every connection not yet closed, handshaking or not,
	// so Close can end them all.
	allLinks map[*link]struct{}
	// brokerLink is the connection to this node's broker; nil on the broker.
	brokerLink *link
	// introRequested holds the nodes a client asked its broker for.
	introRequested map[ports.NodeName]bool
	// broker is what this node keeps as the broker of its tree.
	broker brokerTables
	// countersCalls are the PeerCounters calls waiting for answers, by
	// request id; countersNext is the last id used.
	countersCalls map[uint64]*countersCall
	countersNext  uint64
	// lastCounters holds the latest counts each peer reported.
	lastCounters map[ports.NodeName]Counters
	// closing is set when Close starts, closed once it stops taking
	// connections. In between, Close waits for the node to drain (see
	// awaitDrainedLocked).
	closing bool
	closed  bool
	// drainProgress, while Close waits, is signalled by the unlock after
	// which the node has drained.
	drainProgress chan struct{}
	// due holds the connections with frames queued under mu and not yet
	// written; unlock writes them once mu is released (writes.go).
	due []*link
	// notifyFirst and notifyRest are the functions armed with
	// MessagePipe.Notify that fired under mu, in order; unlock calls them
	// once mu is released (pipe_notify.go). The first has a field of its
	// own so that the common case allocates nothing.
	notifyFirst func()
	notifyRest  []func()
	// readers are the goroutines waiting in WaitMessage, by the end
	// they wait on; nil until the first waits (pipe_wait.go).
	readers map[*endpoint][]waitingReader
	// spareReaders are empty lists for readers, reused (pipe_wait.go).
	spareReaders [][]waitingReader

	// badMu guards badHandlers, apart from mu so that handlers may call
	// into the node.
	badMu       sync.Mutex
	badHandlers map[int]func(from NodeName, err error)
	badNext     int

	// bg counts the goroutines that connect introduced sockets; Close waits
	// for them.
	bg sync.WaitGroup

	// beforeAttachWait, when set, is called by Connect before it waits for
	// the peer's attachments, with the connection's dead channel: tests
	// use it to make the peer's last frame and its end arrive together
	// (export_test.go). It is set before any Connect and never changed.
	beforeAttachWait func(dead <-chan struct{})

	// flushed, when set, is called with mu held at the end of every
	// flushLocked: tests use it to wait for the node to settle without
	// sleeping (export_test.go).
	flushed func()
}

var defaultNode = sync.OnceValue(func() *Node { return NewNode(NodeOptions{Trace: traceFromEnv()}) })

// DefaultNode returns the process's node, creating it on first use. It
// traces its messages when EnvTrace is set.
func DefaultNode() *Node { return defaultNode() }

// CreatePipe returns the two ends of a new pipe on the DefaultNode.
func CreatePipe() (MessagePipe, MessagePipe) { return DefaultNode().CreatePipe() }

// DefaultLimits are the limits a Node uses for zero fields of its Limits.
var DefaultLimits = Limits{
	MaxPayload:        16 << 20,
	MaxPipes:          64,
	MaxHandles:        64,
	MaxHandshakeFrame: 4 << 10,
	HandshakeTimeout:  30 * time.Second,
	FrameTimeout:      30 * time.Second,
	MaxQueuedBytes:    64 << 20,
	MaxQueuedHandles:  1000,
	MaxEarlyAnswers:   16,
	MaxLostNodes:      1024,
	ReorderWindow:     ports.DefaultReorderWindow,
	MaxPortsPerNode:   ports.DefaultMaxPortsPerNode,
	MaxHeldEvents:     ports.DefaultMaxHeldEvents,
}

// NewNode returns a node with a fresh random name, derived from a secret
// that only the node and its broker ever hold.
func NewNode(opts NodeOptions) *Node {
	proof, name, err := wire.NewNameProof(rand.Reader)
	if err != nil {
		panic("mage: crypto/rand failed: " + err.Error())
	}
	log := opts.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	n := &Node{
		name:      ports.NodeName(name),
		proof:     proof,
		log:       log,
		limits:    opts.Limits.withDefaults(),
		onBad:     opts.OnBadMessage,
		trace:     opts.Trace,
		version:   ProtocolVersion,
		endpoints: make(map[ports.PortName]*endpoint),
		links:     make(map[ports.NodeName]*link),
		waiting:   make(map[ports.NodeName][]ports.Outgoing),

		waitingBytes: make(map[ports.NodeName]int),
		lost:         make(map[ports.NodeName]error),
		allLinks:     make(map[*link]struct{}),

		introRequested: make(map[ports.NodeName]bool),
		broker:         newBrokerTables(opts.Broker),
	}
	n.ports = ports.NewNode(ports.Config{Name: n.name, Rand: rand.Reader, DropBody: dropBody,
		ReorderWindow: n.limits.ReorderWindow, MaxPortsPerNode: n.limits.MaxPortsPerNode, MaxHeldEvents: n.limits.MaxHeldEvents})
	wake.Waiters.Hold(1) // until Close: WaitMessage borrows bells from it
	return n
}

func (l Limits) withDefaults() Limits {
	if l.MaxPayload <= 0 {
		l.MaxPayload = DefaultLimits.MaxPayload
	}
	if l.MaxPipes <= 0 {
		l.MaxPipes = DefaultLimits.MaxPipes
	}
	if l.MaxHandles <= 0 {
		l.MaxHandles = DefaultLimits.MaxHandles
	}
	if l.MaxHandshakeFrame <= 0 {
		l.MaxHandshakeFrame = DefaultLimits.MaxHandshakeFrame
	}
	if l.HandshakeTimeout <= 0 {
		l.HandshakeTimeout = DefaultLimits.HandshakeTimeout
	}
	if l.FrameTimeout <= 0 {
		l.FrameTimeout = DefaultLimits.FrameTimeout
	}
	if l.MaxQueuedBytes <= 0 {
		l.MaxQueuedBytes = DefaultLimits.MaxQueuedBytes
	}
	if l.MaxQueuedHandles <= 0 {
		l.MaxQueuedHandles = DefaultLimits.MaxQueuedHandles
	}
	if l.MaxEarlyAnswers <= 0 {
		l.MaxEarlyAnswers = DefaultLimits.MaxEarlyAnswers
	}
	if l.MaxLostNodes <= 0 {
		l.MaxLostNodes = DefaultLimits.MaxLostNodes
	}
	if l.ReorderWindow == 0 {
		l.ReorderWindow = DefaultLimits.ReorderWindow
	}
	if l.MaxPortsPerNode <= 0 {
		l.MaxPortsPerNode = DefaultLimits.MaxPortsPerNode
	}
	if l.MaxHeldEvents <= 0 {
		l.MaxHeldEvents = DefaultLimits.MaxHeldEvents
	}
	return l
}

// Name returns the node's name.
func (n *Node) Name() NodeName { return NodeName(n.name) }

// CreatePipe returns the two ends of a new pipe. Messages written to one end
// queue at the other until it is read, wherever it has moved by then.
func (n *Node) CreatePipe() (MessagePipe, MessagePipe) {
	n.mu.Lock()
	defer n.unlock()
	a, b := n.ports.CreatePortPair()
	return n.newEndpointLocked(a), n.newEndpointLocked(b)
}

// PortCount returns the number of live ports of the node, including proxies
// and ports travelling inside queued messages. Tests use it to check that
// nothing leaked.
func (n *Node) PortCount() int {
	n.mu.Lock()
	defer n.unlock()
	return n.ports.PortCount()
}

// Close disconnects the node from every other node and closes every pipe
// end it holds. Before it disconnects, it waits, for at most 5 seconds,
// until nothing is on its way through the node: frames queued for a node
// still being connected, and proxies left by pipe ends this node passed on,
// which go once the routes around them are shortened. So a process that
// calls Close before it exits loses none of the messages it wrote or
// forwarded. It waits for the node's goroutines to finish. It is
// idempotent.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closing {
		n.unlock()
		return nil
	}
	n.closing = true
	for p, e := range n.endpoints {
		e.state = endpointClosed
		_ = n.ports.ClosePort(p)
		delete(n.endpoints, p)
		e.signal() // its readers (Ready, Notify, WaitMessage) see ErrPipeClosed
	}
	n.flushLocked()
	n.awaitDrainedLocked(flushTimeout)
	n.closed = true
	links := make([]*link, 0, len(n.allLinks))
	for l := range n.allLinks {
		links = append(links, l)
	}
	n.reportFinalCountersLocked()
	n.unlock()
	// Channels are closed outside mu: their readers report their end through
	// the node, which takes mu.
	for _, l := range links {
		l.close()
	}
	// Introduced connections still in their handshake see the node closed
	// and give up.
	n.bg.Wait()
	wake.Waiters.Hold(-1)
	return nil
}

// awaitDrainedLocked waits, for at most d, until the node has nothing on
// its way through it: no event waits for a connection still being made, and
// no proxy is left. A message written just before Close to a node this one
// was being introduced to would otherwise be lost with the introduction; and
// a pipe end this node passed on shortly before leaves a proxy here until
// the route around it collapses, so closing the connections earlier would
// cut that pipe, and lose what was on its way through, although nothing
// failed (the process may exit right after Close). Events for a node that
// turns out lost are dropped meanwhile, and proxies that depend on it are
// removed, which ends the wait too. It releases n.mu while it waits
// (writing what was queued under it, see unlock) and holds it again when it
// returns.
func (n *Node) awaitDrainedLocked(d time.Duration) {
	if n.drainedLocked() {
		return
	}
	n.drainProgress = make(chan struct{}, 1)
	timer := time.NewTimer(d)
	defer timer.Stop()
	for !n.drainedLocked() {
		progress := n.drainProgress
		n.unlock()
		select {
		case <-progress:
			n.mu.Lock()
		case <-timer.C:
			n.mu.Lock()
			n.log.Debug("closing with pipes still on their way through this node",
				"waiting_nodes", len(n.waiting), "proxies", n.ports.ProxyCount())
			n.drainProgress = nil
			return
		}
	}
	n.drainProgress = nil
}

// drainedLocked reports whether nothing is on its way through the node.
func (n *Node) drainedLocked() bool {
	return len(n.waiting) == 0 && n.ports.ProxyCount() == 0
}

// drainedNowLocked wakes a Close waiting for the node to drain.
func (n *Node) drainedNowLocked() {
	select {
	case n.drainProgress <- struct{}{}:
	default:
	}
}

func (n *Node) newEndpointLocked(p ports.PortName) MessagePipe {
	e := &endpoint{node: n, port: p}
	n.endpoints[p] = e
	// A port handed to the user may already hold messages or a closure:
	// Ready, when first called, and Notify look for them.
	return MessagePipe{e: e}
}

// flushLocked sends what the port state machine produced and wakes the
// readers whose ports changed.
func (n *Node) flushLocked() {
	// Connections first: an introduction asked for here goes to the broker
	// ahead of the events below, among them the acks that let a proxy on
	// the broker go.
	for _, node := range n.ports.TakeWatchedNodes() {
		n.watchLocked(node)
	}
	for _, out := range n.ports.TakeOutgoing() {
		n.sendLocked(out)
	}
	for _, p := range n.ports.TakeStatusChanges() {
		if e := n.endpoints[p]; e != nil {
			e.signal()
		}
	}
	if n.flushed != nil {
		n.flushed()
	}
}

// watchLocked makes sure this node hears if node is lost: a port now
// depends on it (it sends there, or something for it comes from there),
// and only a connection's end tells of a node's loss. Once routes
// collapse, the nodes that used to stand between two ends no longer do
// that for them.
func (n *Node) watchLocked(node ports.NodeName) {
	if _, gone := n.lost[node]; gone || node == n.name || n.links[node] != nil {
		return
	}
	n.requestIntroductionLocked(node)
}

// sendLocked hands one event to the connection to its node, or keeps it
// until that node is reachable.
func (n *Node) sendLocked(out ports.Outgoing) {
	l := n.links[out.To]
	if l == nil || !l.ready {
		n.waiting[out.To] = append(n.waiting[out.To], out)
		n.waitingBytes[out.To] += eventBytes(out)
		if l == nil {
			n.requestIntroductionLocked(out.To)
		}
		return
	}
	l.sendEventLocked(out)
}

// dropBody releases the OS handles of a message the ports layer discarded.
func dropBody(body any) {
	if m, ok := body.(*Message); ok && m != nil {
		closeFDs(m.fds)
		m.fds = nil
	}
}

// AddBadMessageHandler registers fn to be called, on an I/O goroutine, each
// time a message from another node is rejected: a malformed frame, a broken
// protocol rule, or a message the bindings could not decode (see
// MessagePipe.ReportBadMessage). from names the node the message came from;
// err is a *BadMessageError, whose Responsible field (or ResponsibleNode)
// names the node to charge: on the broker, a node registered by another
// is charged to the direct client it was registered through.
// fn must not block. The returned function removes fn; it is idempotent.
func (n *Node) AddBadMessageHandler(fn func(from NodeName, err error)) (remove func()) {
	n.badMu.Lock()
	defer n.badMu.Unlock()
	if n.badHandlers == nil {
		n.badHandlers = make(map[int]func(NodeName, error))
	}
	id := n.badNext
	n.badNext++
	n.badHandlers[id] = fn
	return func() {
		n.badMu.Lock()
		defer n.badMu.Unlock()
		delete(n.badHandlers, id)
	}
}

// Logger returns the node's logger.
func (n *Node) Logger() hclog.Logger { return n.log }
