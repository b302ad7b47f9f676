package mage

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"sort"

	"github.com/mage-ipc/mage/mage/internal/channel"
	"github.com/mage-ipc/mage/mage/internal/wire"
)

// ProtocolVersion is the version of the node-to-node protocol this build
// speaks. Both sides of a connection send theirs in the handshake; a
// mismatch fails the connection on both sides with a *VersionError.
const ProtocolVersion = wire.Version

// MaxAttachmentName is the longest name of a pipe attachment, in bytes.
const MaxAttachmentName = 64

// ConnectOptions configures one connection between two nodes.
type ConnectOptions struct {
	// Attach holds pipe ends to hand to the peer node by name. Each moves to
	// the peer once the handshake has succeeded; messages already queued at
	// it travel with it, in order, so the end kept here can be used before
	// the peer even exists. The ends become invalid for the caller when
	// Connect is called, and usable again if it fails before sending them.
	Attach map[string]MessagePipe
	// Token is sent to the peer in the handshake.
	Token []byte
	// ExpectToken, when not nil, must equal the token the peer sends, or the
	// connection fails.
	ExpectToken []byte
	// ExpectNode, when not zero, must be the peer's node name.
	ExpectNode NodeName
	// OnBadMessage, when not nil, is called, on an I/O goroutine, for every
	// message rejected from the peer of this connection, from the first
	// byte on: a bad frame, a broken protocol rule or bound, and a message
	// that arrived on this connection and was passed to ReportBadMessage.
	// It is in place before the handshake starts, so a peer whose first
	// write already breaks the rules is charged too, even before it has
	// named itself. It is called before the node's own handlers and must
	// not block.
	OnBadMessage func(err error)
	// OnPeer, when not nil, is called once with the peer's node name as
	// soon as its hello has been accepted, on the goroutine reading the
	// connection, and before this node sends its attachments: the peer
	// cannot send anything but its own attachments before OnPeer returns.
	// A log that names nodes learns the peer's name here in time for the
	// peer's first message. It must not block.
	OnPeer func(NodeName)
	// AsBroker makes the peer this node's broker: the node asks it for
	// introductions to nodes it has no connection to, and takes
	// introductions from it alone. A node has at most one broker; the
	// broker is the root of the tree and has none. Over this connection
	// alone the node proves its name: its Hello carries the secret the
	// name derives from (docs/protocol.md, "Node names"), so set it only
	// on a socket that leads to the broker.
	AsBroker bool
	// RegisterChild, when not nil, registers the peer, a child this node
	// invites, with the tree's broker as soon as its handshake names it:
	// the broker's end of the child's socket (see Node.NewChildBroker) goes
	// to the broker, which then connects to the child over it. Connect
	// fails if the registration cannot be sent. On the broker itself
	// (ChildBroker.ViaInviter), it makes the child, which connects
	// AsBroker, prove its name in its Hello; a child that does not is
	// refused and reported.
	RegisterChild *ChildBroker

	// registration is set on the broker for the handshake that completes
	// a registration (registration.go).
	registration *registration
}

// Connection is a live connection between this node and one peer node.
//
// The connection lasts until either side closes it or its socket fails;
// Done is closed then, and every pipe whose peer lived on the other node
// reports ErrPeerClosed (with NodeLost) once its queued messages are read.
type Connection struct {
	link  *link
	peer  NodeName
	pipes map[string]MessagePipe
}

// Connect joins this process's DefaultNode to another node over conn, a
// connected Unix stream socket. See Node.Connect.
func Connect(ctx context.Context, conn *net.UnixConn, opts ConnectOptions) (*Connection, error) {
	return DefaultNode().Connect(ctx, conn, opts)
}

// Connect joins n to the node at the other end of conn, a connected Unix
// stream socket. Both sides call Connect; each sends its version, its name,
// its token and its attachments, and gets the other's. Connect returns when
// both handshakes are done, or fails when ctx ends first, the peer speaks
// another protocol version, the tokens do not match, or the socket fails.
// On failure conn is closed, and attachments that were not sent yet are left
// with the caller, usable as before Connect. When ctx has no deadline, the
// handshake takes at most Limits.HandshakeTimeout. A handshake that completed
// is never reported as failed, even when the peer closes right after it:
// the Connection is then returned already ended (Done closed, Err set).
//
// Connect takes ownership of conn.
func (n *Node) Connect(ctx context.Context, conn *net.UnixConn, opts ConnectOptions) (*Connection, error) {
	if _, bounded := ctx.Deadline(); !bounded {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, n.limits.HandshakeTimeout,
			fmt.Errorf("%w: not finished within %v: %w", ErrHandshake, n.limits.HandshakeTimeout, context.DeadlineExceeded))
		defer cancel()
	}
	names, err := n.claimAttachments(opts.Attach)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	l, err := newLink(n, conn, opts)
	if err != nil {
		_ = conn.Close()
		return nil, n.failConnect(nil, names, err)
	}
	// The hello is written before the reader starts: a reader that found
	// the peer's hello unacceptable (another version, say) closes the
	// socket, and the peer must have had our hello by then to know why.
	if err := l.sendHello(opts.Token); err != nil {
		return nil, n.failConnect(l, names, err)
	}
	l.start()
	if err := l.await(ctx, l.helloDone); err != nil {
		return nil, n.failConnect(l, names, err)
	}
	if opts.RegisterChild != nil {
		if err := opts.RegisterChild.register(l); err != nil {
			return nil, n.failConnect(l, names, err)
		}
	}
	if unsent, err := n.sendAttachments(l, names); err != nil {
		if l.err() == nil && errors.Is(err, channel.ErrClosed) {
			// The channel stopped on its own (its reader found a bad
			// frame, say, in the same write as the peer's Hello): the
			// reader records why as it reports it. Closing the link now
			// would record this side's close first and hide it.
			<-l.dead
		}
		if cause := l.err(); cause != nil {
			// The link died first: that is why.
			err = fmt.Errorf("%w: %w", ErrHandshake, cause)
		}
		return nil, n.failConnect(l, unsent, err)
	}
	if n.beforeAttachWait != nil {
		n.beforeAttachWait(l.dead)
	}
	if err := l.await(ctx, l.attachDone); err != nil {
		return nil, n.failConnect(l, nil, err)
	}
	return &Connection{link: l, peer: NodeName(l.peer), pipes: l.received}, nil
}

// claimAttachments validates the attachments and marks their ends moved, so
// that no one uses them while the handshake runs.
func (n *Node) claimAttachments(attach map[string]MessagePipe) ([]attachment, error) {
	list := make([]attachment, 0, len(attach))
	for name, p := range attach {
		if err := checkAttachmentName(name); err != nil {
			return nil, err
		}
		if p.e == nil || p.e.node != n {
			return nil, fmt.Errorf("%w: attachment %q is not a pipe of this node", ErrBadAttachment, name)
		}
		list = append(list, attachment{name: name, e: p.e})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	n.mu.Lock()
	defer n.unlock()
	for i, a := range list {
		if err := a.e.sendableErrLocked(); err != nil {
			return nil, fmt.Errorf("%w: attachment %q: %w", ErrBadAttachment, a.name, err)
		}
		for _, prev := range list[:i] {
			if prev.e == a.e {
				return nil, fmt.Errorf("%w: one pipe attached as %q and %q", ErrBadAttachment, prev.name, a.name)
			}
		}
	}
	for _, a := range list {
		a.e.state = endpointMoved
		delete(n.endpoints, a.e.port)
		a.e.signal() // a reader waiting on it learns that it moved
	}
	return list, nil
}

type attachment struct {
	name string
	e    *endpoint
}

// ValidAttachmentName reports whether name can name a pipe attachment: 1 to
// MaxAttachmentName bytes of printable ASCII without spaces.
func ValidAttachmentName(name string) error { return checkAttachmentName(name) }

func checkAttachmentName(name string) error {
	if len(name) == 0 || len(name) > MaxAttachmentName {
		return fmt.Errorf("%w: attachment name %q must be 1 to %d bytes", ErrBadAttachment, name, MaxAttachmentName)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("%w: attachment name %q has a byte 0x%02x that is not printable ASCII", ErrBadAttachment, name, c)
		}
	}
	return nil
}

// sendAttachments moves the claimed ports to the peer and sends the Attach
// frame, then lets the events queued for the peer (the moved ports' queued
// messages among them) follow it. On failure it returns the attachments it
// did not move, which are still the caller's (the peer may have been lost
// already, so that none can move); those it moved are lost with the peer.
func (n *Node) sendAttachments(l *link, list []attachment) ([]attachment, error) {
	n.mu.Lock()
	defer n.unlock()
	if n.closed {
		return list, ErrNodeClosed
	}
	atts := make([]wire.Attachment, 0, len(list))
	for i, a := range list {
		d, err := n.ports.MovePort(a.e.port, l.peer)
		if err != nil {
			n.flushLocked()
			return list[i:], fmt.Errorf("%w: attachment %q: %w", ErrHandshake, a.name, err)
		}
		atts = append(atts, wire.Attachment{Name: a.name, Port: descriptorToWire(d)})
	}
	if err := l.sendFrameLocked(wire.AppendAttach(nil, atts), nil); err != nil {
		return nil, fmt.Errorf("%w: sending attachments: %w", ErrHandshake, err)
	}
	l.ready = true
	l.sendEarlyLocked()
	if l.asBroker {
		// Introductions asked for before the broker was up.
		for node := range n.waiting {
			n.requestIntroductionLocked(node)
		}
	}
	queued := n.waiting[l.peer]
	delete(n.waiting, l.peer)
	// From here on the channel counts these bytes (Buffered), and only it.
	delete(n.waitingBytes, l.peer)
	delete(n.introRequested, l.peer)
	for _, out := range queued {
		l.sendEventLocked(out)
	}
	if n.brokerLink == nil {
		n.servePendingIntroductionsLocked(l)
	}
	n.flushLocked()
	return nil, nil
}

// failConnect tears down a connection whose handshake failed. Attachments
// not yet sent go back to the caller, usable as before.
func (n *Node) failConnect(l *link, unsent []attachment, err error) error {
	if l != nil {
		l.close()
	}
	n.mu.Lock()
	for _, a := range unsent {
		a.e.state = endpointOpen
		n.endpoints[a.e.port] = a.e
		if n.closed {
			a.e.state = endpointClosed
			_ = n.ports.ClosePort(a.e.port)
			delete(n.endpoints, a.e.port)
		}
	}
	n.flushLocked()
	n.unlock()
	return err
}

// Peer returns the name of the node at the other end.
func (c *Connection) Peer() NodeName { return c.peer }

// Pipe returns the pipe end the peer attached under name.
func (c *Connection) Pipe(name string) (MessagePipe, bool) {
	p, ok := c.pipes[name]
	return p, ok
}

// Pipes returns every pipe end the peer attached, by name.
func (c *Connection) Pipes() map[string]MessagePipe {
	out := make(map[string]MessagePipe, len(c.pipes))
	for k, v := range c.pipes {
		out[k] = v
	}
	return out
}

// Done is closed when the connection has ended.
func (c *Connection) Done() <-chan struct{} { return c.link.dead }

// Err says why the connection ended; nil while it is up.
func (c *Connection) Err() error { return c.link.err() }

// Close ends the connection. Pipes whose peers were on the other node
// report ErrPeerClosed. Close waits for the connection's goroutines and is
// idempotent.
func (c *Connection) Close() error {
	c.link.close()
	return nil
}

func constantTimeEqual(a, b []byte) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare(a, b) == 1
}
