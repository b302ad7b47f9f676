package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage"
)

// Attachment is where a control client finds its Control pipe.
const Attachment = "control"

// Bounds on what clients can make the server hold.
const (
	// maxClients is how many control connections may be open at once;
	// more are refused.
	maxClients = 16
	// handshakeTimeout bounds a client's handshake.
	handshakeTimeout = 5 * time.Second
)

// Server serves Control on a Unix socket to clients of this user that
// present the token. Close stops it; no goroutine of it outlives Close.
type Server struct {
	addr  Address
	node  *mage.Node
	impl  Control
	token []byte
	log   hclog.Logger
	ln    *net.UnixListener
	ctx   context.Context
	stop  context.CancelFunc
	wg    sync.WaitGroup

	// mu guards conns.
	mu    sync.Mutex
	conns map[*net.UnixConn]bool
}

// Serve listens at addr (replacing a stale socket, refusing one a live
// tree serves) and serves impl to each client until Close.
func Serve(node *mage.Node, addr Address, impl Control, log hclog.Logger) (*Server, error) {
	if err := removeStale(addr.Socket); err != nil {
		return nil, err
	}
	token, err := newToken(addr.Token)
	if err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Net: "unix", Name: addr.Socket})
	if err != nil {
		_ = os.Remove(addr.Token)
		return nil, fmt.Errorf("control: listen: %w", err)
	}
	if err := os.Chmod(addr.Socket, 0o600); err != nil {
		_ = ln.Close()
		_ = os.Remove(addr.Token)
		return nil, fmt.Errorf("control: %w", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{addr: addr, node: node, impl: impl, token: token, log: log, ln: ln, ctx: ctx, stop: stop, conns: make(map[*net.UnixConn]bool)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.acceptLoop()
	}()
	return s, nil
}

// Addr returns where the server listens.
func (s *Server) Addr() Address { return s.addr }

// Close stops listening, ends every client's connection, waits for the
// server's goroutines and removes the socket and token files.
// Idempotent.
func (s *Server) Close() {
	s.stop()
	_ = s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	_ = os.Remove(s.addr.Token)
}

func (s *Server) acceptLoop() {
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Error("control socket failed", "error", err)
			}
			return
		}
		if why := s.admit(c); why != nil {
			s.log.Warn("control connection refused", "error", why)
			_ = c.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
		}()
	}
}

// admit checks a new connection's user and the number of clients, and
// records it.
func (s *Server) admit(c *net.UnixConn) error {
	uid, err := sockets.PeerUID(c)
	if err != nil {
		return fmt.Errorf("reading peer credentials: %w", err)
	}
	if uid != os.Getuid() {
		return fmt.Errorf("peer uid %d is not this tree's uid %d", uid, os.Getuid())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) >= maxClients {
		return fmt.Errorf("%d control clients are connected already", maxClients)
	}
	s.conns[c] = true
	return nil
}

// serve runs one client's connection until either side ends it.
func (s *Server) serve(c *net.UnixConn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = c.Close()
	}()
	ctx, cancel := context.WithTimeout(s.ctx, handshakeTimeout)
	defer cancel()
	mine, theirs := s.node.CreatePipe()
	conn, err := s.node.Connect(ctx, c, mage.ConnectOptions{
		Token: s.token, ExpectToken: s.token,
		Attach: map[string]mage.MessagePipe{Attachment: theirs},
	})
	if err != nil {
		s.log.Warn("control connection refused", "error", err)
		_ = mine.Close()
		_ = theirs.Close()
		return
	}
	r := BindControl(mine, s.impl)
	select {
	case <-conn.Done():
	case <-r.Done():
	case <-s.ctx.Done():
	}
	_ = r.Close()
	_ = conn.Close()
}

// Client is a connection to a tree's Control.
type Client struct {
	*ControlRemote
	node *mage.Node
}

// Dial connects to the tree at addr with token.
func Dial(ctx context.Context, addr Address, token []byte) (*Client, error) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Net: "unix", Name: addr.Socket})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoTree, addr.Socket, err)
	}
	node := mage.NewNode(mage.NodeOptions{})
	conn, err := node.Connect(ctx, c, mage.ConnectOptions{Token: token, ExpectToken: token})
	if err != nil {
		node.Close()
		return nil, fmt.Errorf("control: connecting to %s: %w", addr.Socket, err)
	}
	p, ok := conn.Pipe(Attachment)
	if !ok {
		node.Close()
		return nil, fmt.Errorf("control: %s offers no %q pipe", addr.Socket, Attachment)
	}
	return &Client{ControlRemote: NewControlRemote(p), node: node}, nil
}

// Close ends the connection.
func (c *Client) Close() {
	_ = c.ControlRemote.Close()
	c.node.Close()
}

// CreatePipe makes a pipe in the client's node, for Follow's sink.
func (c *Client) CreatePipe() (mage.MessagePipe, mage.MessagePipe) { return c.node.CreatePipe() }
