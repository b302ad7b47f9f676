package invitation

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage"
)

// Invitation is the parent's side of an invitation: named pipes whose far
// ends go to one child, and the token that child must present.
//
// Attach and Pipe may be called from any goroutine. An Invitation is sent
// once (Send, SendOn or through a Listener); Close abandons it.
type Invitation struct {
	node  *mage.Node
	token []byte

	// mu guards the fields below.
	mu sync.Mutex
	// remote holds the ends that will travel to the child, by name.
	remote map[string]mage.MessagePipe
	// local holds the ends the parent keeps, by name.
	local map[string]mage.MessagePipe
	// mine is the parent's end of the socketpair made by PrepareCommand;
	// theirs is the child's, open until CloseChildSide.
	mine, theirs *os.File
	// broker is the child's way to the tree's broker, made with the
	// invitation socket.
	broker       *mage.ChildBroker
	sent, closed bool
	// onBad is the connection's bad-message handler (OnBadMessage).
	onBad func(err error)
	// onPeer learns the child's node name (OnPeer).
	onPeer func(mage.NodeName)
}

// New returns an empty invitation on node (nil means mage.DefaultNode) with
// a fresh random token.
func New(node *mage.Node) *Invitation {
	if node == nil {
		node = mage.DefaultNode()
	}
	token := make([]byte, TokenSize)
	if _, err := rand.Read(token); err != nil {
		panic("invitation: crypto/rand failed: " + err.Error())
	}
	return &Invitation{
		node:   node,
		token:  token,
		remote: make(map[string]mage.MessagePipe),
		local:  make(map[string]mage.MessagePipe),
	}
}

// Node returns the node the invitation's pipes belong to.
func (inv *Invitation) Node() *mage.Node { return inv.node }

// Attach adds a pipe named name and returns the end the parent keeps. The
// end is usable at once: messages written to it queue until the child
// accepts, and are then delivered in order.
func (inv *Invitation) Attach(name string) (mage.MessagePipe, error) {
	if err := mage.ValidAttachmentName(name); err != nil {
		return mage.MessagePipe{}, fmt.Errorf("invitation: attach: %w", err)
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	switch {
	case inv.sent:
		return mage.MessagePipe{}, fmt.Errorf("invitation: attach %q: %w", name, ErrAlreadySent)
	case inv.closed:
		return mage.MessagePipe{}, fmt.Errorf("invitation: attach %q: invitation closed", name)
	case inv.remote[name].IsValid():
		return mage.MessagePipe{}, fmt.Errorf("invitation: attach: %q is already attached", name)
	}
	mine, theirs := inv.node.CreatePipe()
	inv.local[name] = mine
	inv.remote[name] = theirs
	return mine, nil
}

// AttachPipe adds an existing pipe end under name: it travels to the child,
// whose Accept finds it as name, while its peer stays wherever it is (with
// another child, say, so that two children share a pipe). The caller gives
// end up; Pipe(name) reports nothing for it, as the parent keeps no end.
// An end bound to a Remote or Receiver is refused with an error matching
// mage.ErrPipeBound, and stays with its binding.
func (inv *Invitation) AttachPipe(name string, end mage.MessagePipe) error {
	if err := mage.ValidAttachmentName(name); err != nil {
		return fmt.Errorf("invitation: attach: %w", err)
	}
	if !end.IsValid() || end.Node() != inv.node {
		return fmt.Errorf("invitation: attach %q: %w: not a pipe of the invitation's node", name, mage.ErrBadAttachment)
	}
	if end.IsBound() {
		return fmt.Errorf("invitation: attach %q: %w: %w", name, mage.ErrBadAttachment, mage.ErrPipeBound)
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	switch {
	case inv.sent:
		return fmt.Errorf("invitation: attach %q: %w", name, ErrAlreadySent)
	case inv.closed:
		return fmt.Errorf("invitation: attach %q: invitation closed", name)
	case inv.remote[name].IsValid():
		return fmt.Errorf("invitation: attach: %q is already attached", name)
	}
	inv.remote[name] = end
	return nil
}

// Pipe returns the parent's end of the pipe attached as name.
func (inv *Invitation) Pipe(name string) (mage.MessagePipe, bool) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	p, ok := inv.local[name]
	return p, ok
}

// Names returns the names of the attached pipes, sorted.
func (inv *Invitation) Names() []string {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	names := make([]string, 0, len(inv.remote))
	for n := range inv.remote {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// PrepareCommand sets cmd up to receive the invitation: it makes a
// socketpair, appends the child's end to cmd.ExtraFiles and puts EnvVar in
// cmd.Env (starting from os.Environ() when cmd.Env is nil, and replacing
// any EnvVar already there). After cmd.Start, call CloseChildSide and Send.
// To pass the invitation some other way, use ChildValue instead.
func (inv *Invitation) PrepareCommand(cmd *exec.Cmd) error {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if err := inv.makeSocketsLocked(); err != nil {
		return fmt.Errorf("invitation: prepare command: %w", err)
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, inv.theirs)
	// ExtraFiles[i] becomes descriptor 3+i in the child.
	addr := address{fd: 2 + len(cmd.ExtraFiles), token: inv.token, broker: -1}
	if inv.broker.ViaInviter() {
		addr.inviterIsBroker = true
	} else {
		cmd.ExtraFiles = append(cmd.ExtraFiles, inv.broker.ChildEnd())
		addr.broker = 2 + len(cmd.ExtraFiles)
	}
	cmd.Env = withEnv(cmd.Env, EnvVar, addr.String())
	return nil
}

// makeSocketsLocked makes the invitation socket and the child's way to the
// broker (a socket of its own when this node is not the broker): the
// invited process's ends go in theirs and broker.ChildEnd.
func (inv *Invitation) makeSocketsLocked() error {
	switch {
	case inv.closed:
		return errors.New("invitation closed")
	case inv.sent || inv.mine != nil:
		return ErrAlreadySent
	}
	mine, theirs, err := sockets.Pair()
	if err != nil {
		return err
	}
	cb, err := inv.node.NewChildBroker()
	if err != nil {
		_ = mine.Close()
		_ = theirs.Close()
		return err
	}
	inv.mine, inv.theirs, inv.broker = mine, theirs, cb
	return nil
}

// withEnv returns env (or the process's environment, if env is nil) with
// key set to value, once.
func withEnv(env []string, key, value string) []string {
	if env == nil {
		env = os.Environ()
	}
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

// CloseChildSide closes the parent's copy of the child's socket, which the
// child has inherited by now. Without it the parent would never see EOF
// from a child that died. Call it after cmd.Start, whether that succeeded
// or not.
func (inv *Invitation) CloseChildSide() {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.theirs != nil {
		_ = inv.theirs.Close()
		inv.theirs = nil
	}
	if inv.broker != nil {
		inv.broker.CloseChildEnd()
	}
}

// Send runs the handshake over the socket made by PrepareCommand and
// returns when the child has accepted. It fails, with the pipes' local ends
// closed, if the child closes its end first (ErrPeerGone: it exited), if
// its version or token is wrong, or when ctx ends.
func (inv *Invitation) Send(ctx context.Context) (*mage.Connection, error) {
	inv.mu.Lock()
	mine := inv.mine
	inv.mine = nil
	inv.mu.Unlock()
	if mine == nil {
		return nil, errors.New("invitation: send: PrepareCommand was not called, or Send was called twice")
	}
	conn, err := sockets.Conn(mine)
	if err != nil {
		inv.Close()
		return nil, fmt.Errorf("invitation: send: %w", err)
	}
	return inv.SendOn(ctx, conn)
}

// SendOn runs the handshake over conn, a connected Unix stream socket whose
// other end belongs to the invited process, and returns when that process
// has accepted. It takes ownership of conn. On failure the invitation is
// closed.
func (inv *Invitation) SendOn(ctx context.Context, conn *net.UnixConn) (*mage.Connection, error) {
	c, err := inv.sendOn(ctx, conn)
	if err != nil {
		inv.Close()
	}
	return c, err
}

func (inv *Invitation) sendOn(ctx context.Context, conn *net.UnixConn) (*mage.Connection, error) {
	inv.mu.Lock()
	if inv.sent || inv.closed {
		inv.mu.Unlock()
		_ = conn.Close()
		return nil, fmt.Errorf("invitation: send: %w", ErrAlreadySent)
	}
	inv.sent = true
	onBad, onPeer := inv.onBad, inv.onPeer
	attach := make(map[string]mage.MessagePipe, len(inv.remote))
	for k, v := range inv.remote {
		attach[k] = v
	}
	broker := inv.broker
	inv.mu.Unlock()

	// With broker set, Connect registers the child with the tree's broker
	// as soon as the child's handshake names it.
	c, err := inv.node.Connect(ctx, conn, mage.ConnectOptions{
		Attach: attach, Token: inv.token, ExpectToken: inv.token,
		OnBadMessage: onBad, OnPeer: onPeer, RegisterChild: broker,
	})
	if err != nil {
		inv.mu.Lock()
		inv.sent = false
		inv.mu.Unlock()
		return nil, handshakeError(err)
	}
	return c, nil
}

// handshakeError explains a failed handshake.
func handshakeError(err error) error {
	var ve *mage.VersionError
	switch {
	case errors.As(err, &ve):
		return fmt.Errorf("invitation: %w", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("invitation: handshake not finished in time: %w", err)
	case isEOF(err):
		return fmt.Errorf("%w: %w", ErrPeerGone, err)
	}
	return fmt.Errorf("invitation: handshake: %w", err)
}

// Close abandons the invitation: it closes the sockets PrepareCommand made
// and both ends of every pipe not yet sent. The local ends of pipes already
// sent stay open. Idempotent.
func (inv *Invitation) Close() {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.closed {
		return
	}
	inv.closed = true
	for _, f := range []*os.File{inv.mine, inv.theirs} {
		if f != nil {
			_ = f.Close()
		}
	}
	inv.mine, inv.theirs = nil, nil
	if inv.broker != nil {
		inv.broker.Close()
	}
	if !inv.sent {
		for name, p := range inv.remote {
			_ = p.Close()
			if local, ok := inv.local[name]; ok {
				_ = local.Close()
			}
		}
		inv.remote = nil
	}
}
