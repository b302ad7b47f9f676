package invitation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage"
)

// DefaultAcceptTimeout bounds Accept when its context has no deadline, so
// that a process handed a stale or foreign socket fails instead of hanging.
const DefaultAcceptTimeout = 30 * time.Second

// AcceptOptions configures AcceptWith and AcceptFrom. The zero value is
// what Accept uses.
type AcceptOptions struct {
	// Node is the node the pipes join; nil means mage.DefaultNode.
	Node *mage.Node
	// ExitWhenParentGone makes the process exit with status 1 once the
	// connection to its parent ends (the parent exited or closed it). On
	// Linux the launcher also sets a parent-death signal; this covers
	// macOS and parents that did not use the launcher.
	ExitWhenParentGone bool
}

// Accepted is the child's side of an accepted invitation.
type Accepted struct {
	conn  *mage.Connection
	pipes map[string]mage.MessagePipe
}

// Accept accepts the invitation this process was started with and returns
// its pipes. See AcceptWith.
func Accept(ctx context.Context) (*Accepted, error) {
	return AcceptWith(ctx, AcceptOptions{})
}

// AcceptWith reads EnvVar, removes it from the environment (so children
// of this process do not inherit it, whatever happens next), checks that
// the inherited descriptor is a Unix stream socket (or dials the named
// socket), runs the handshake, checking the parent's protocol version and
// token, and returns the pipes the parent attached. It is AcceptFrom with
// the value the environment carries.
//
// It returns ErrNotInvited when EnvVar is unset, an error matching
// ErrBadInvitation when it is malformed or names a descriptor that is not
// an open Unix stream socket, a *mage.VersionError naming both versions when
// parent and child speak different protocols, and ErrPeerGone when the
// parent went away. Without a deadline in ctx it gives up after
// DefaultAcceptTimeout.
func AcceptWith(ctx context.Context, opts AcceptOptions) (*Accepted, error) {
	value, ok := os.LookupEnv(EnvVar)
	if !ok {
		return nil, ErrNotInvited
	}
	_ = os.Unsetenv(EnvVar)
	addr, err := parseAddress(value)
	if err != nil {
		return nil, err
	}
	conn, err := addr.open()
	if err != nil {
		return nil, err
	}
	var brokerConn *net.UnixConn
	if addr.broker >= 0 {
		if brokerConn, err = addr.openBroker(); err != nil {
			_ = conn.Close()
			return nil, err
		}
	}
	return accept(ctx, conn, brokerConn, addr.token, addr.inviterIsBroker, opts)
}

// AcceptFrom accepts the invitation v, which the inviter passed on a
// channel of its own (see Invitation.ChildValue), without looking at the
// environment. It takes ownership of v.File and v.Broker, closing them
// whatever happens. The broker is the inviter when v.Broker is nil.
//
// It fails with an error matching ErrBadInvitation (a *BadValueError) when
// v.File or v.Broker is not an open Unix stream socket or v.Token is not
// TokenSize bytes, and otherwise as AcceptWith does.
func AcceptFrom(ctx context.Context, v Value, opts AcceptOptions) (*Accepted, error) {
	closeAll := func() {
		for _, f := range []*os.File{v.File, v.Broker} {
			if f != nil {
				_ = f.Close()
			}
		}
	}
	if len(v.Token) != TokenSize {
		closeAll()
		return nil, &BadValueError{Reason: fmt.Sprintf("the token is %d bytes, not %d", len(v.Token), TokenSize)}
	}
	if v.File == nil {
		closeAll()
		return nil, &BadValueError{Reason: "no socket (Value.File is nil)"}
	}
	conn, err := valueConn(v.File, "socket")
	if err != nil {
		if v.Broker != nil {
			_ = v.Broker.Close()
		}
		return nil, err
	}
	var brokerConn *net.UnixConn
	if v.Broker != nil {
		if brokerConn, err = valueConn(v.Broker, "broker socket"); err != nil {
			_ = conn.Close()
			return nil, err
		}
	}
	return accept(ctx, conn, brokerConn, v.Token, v.Broker == nil, opts)
}

// valueConn checks that f, a file of a Value, is a Unix stream socket and
// makes a connection of it, closing f.
func valueConn(f *os.File, what string) (*net.UnixConn, error) {
	sc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, &BadValueError{Reason: fmt.Sprintf("the %s %s is unusable", what, f.Name()), Err: err}
	}
	var bad error
	if err := sc.Control(func(fd uintptr) { bad = checkStreamSocket(int(fd)) }); err != nil {
		bad = err
	}
	if bad != nil {
		_ = f.Close()
		return nil, &BadValueError{Reason: fmt.Sprintf("the %s %s is unusable", what, f.Name()), Err: bad}
	}
	conn, err := sockets.Conn(f)
	if err != nil {
		return nil, &BadValueError{Reason: fmt.Sprintf("the %s is unusable", what), Err: err}
	}
	return conn, nil
}

// accept runs the child's side of the handshake over conn (and joins the
// broker over brokerConn, when the inviter is not the broker). It takes
// ownership of both connections.
func accept(ctx context.Context, conn, brokerConn *net.UnixConn, token []byte, inviterIsBroker bool, opts AcceptOptions) (*Accepted, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultAcceptTimeout)
		defer cancel()
	}
	node := opts.Node
	if node == nil {
		node = mage.DefaultNode()
	}
	c, err := node.Connect(ctx, conn, mage.ConnectOptions{Token: token, ExpectToken: token, AsBroker: inviterIsBroker})
	if err != nil {
		if brokerConn != nil {
			_ = brokerConn.Close()
		}
		return nil, handshakeError(err)
	}
	if brokerConn != nil {
		// The inviter registers us with the broker once we have accepted;
		// the broker then connects over its end of this socket.
		if _, err := node.Connect(ctx, brokerConn, mage.ConnectOptions{AsBroker: true}); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("invitation: connecting to the broker: %w", handshakeError(err))
		}
	}
	a := &Accepted{conn: c, pipes: c.Pipes()}
	if opts.ExitWhenParentGone {
		go func() {
			<-c.Done()
			if errors.Is(c.Err(), mage.ErrClosedLocally) {
				// This process closed it (Node.Close on its way out): the
				// parent is not gone, and the exit is the process's own.
				return
			}
			fmt.Fprintln(os.Stderr, "invitation: parent connection ended, exiting:", c.Err())
			os.Exit(1)
		}()
	}
	return a, nil
}

// open connects to where the invitation says the parent is.
func (a address) open() (*net.UnixConn, error) {
	if a.fd < 0 {
		// The dialer proves it holds the token before the node handshake
		// (listen_auth.go).
		c, err := dialListener(a.socket, a.token, DefaultAcceptTimeout)
		if err != nil {
			return nil, &BadInvitationError{Value: a.redacted(), Reason: "named-socket authentication failed", Err: err}
		}
		return c, nil
	}
	if err := checkStreamSocket(a.fd); err != nil {
		return nil, &BadInvitationError{Value: a.redacted(), Reason: fmt.Sprintf("descriptor %d is unusable", a.fd), Err: err}
	}
	conn, err := sockets.Conn(os.NewFile(uintptr(a.fd), "invitation"))
	if err != nil {
		return nil, &BadInvitationError{Value: a.redacted(), Reason: fmt.Sprintf("descriptor %d is unusable", a.fd), Err: err}
	}
	return conn, nil
}

// openBroker opens the inherited socket to the broker.
func (a address) openBroker() (*net.UnixConn, error) {
	if err := checkStreamSocket(a.broker); err != nil {
		return nil, &BadInvitationError{Value: a.redacted(), Reason: fmt.Sprintf("broker descriptor %d is unusable", a.broker), Err: err}
	}
	conn, err := sockets.Conn(os.NewFile(uintptr(a.broker), "broker"))
	if err != nil {
		return nil, &BadInvitationError{Value: a.redacted(), Reason: fmt.Sprintf("broker descriptor %d is unusable", a.broker), Err: err}
	}
	return conn, nil
}

func (a address) redacted() string { return elideToken(a.String()) }

// Pipe returns the pipe the parent attached as name.
func (a *Accepted) Pipe(name string) (mage.MessagePipe, bool) {
	p, ok := a.pipes[name]
	return p, ok
}

// Pipes returns every pipe the parent attached, by name.
func (a *Accepted) Pipes() map[string]mage.MessagePipe {
	out := make(map[string]mage.MessagePipe, len(a.pipes))
	for k, v := range a.pipes {
		out[k] = v
	}
	return out
}

// Connection is the connection to the parent.
func (a *Accepted) Connection() *mage.Connection { return a.conn }

// ParentGone is closed when the connection to the parent has ended: the
// parent exited, was killed, or closed it.
func (a *Accepted) ParentGone() <-chan struct{} { return a.conn.Done() }

func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
