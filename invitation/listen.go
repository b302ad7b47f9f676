package invitation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage"
)

// MaxSocketPath is the longest socket path accepted: sun_path holds 104
// bytes on macOS and 108 on Linux, terminator included.
const MaxSocketPath = 103

// DefaultListenHandshakeTimeout bounds one dialer's authentication and
// handshake when ListenOptions.HandshakeTimeout is zero, so that a dialer
// that never speaks holds its connection for no longer.
const DefaultListenHandshakeTimeout = 10 * time.Second

// MaxPendingDialers is the most connections a Listener authenticates at
// once. A connection beyond them is closed at once; the others go on.
const MaxPendingDialers = 8

// ListenOptions configures Listen.
type ListenOptions struct {
	// AllowUID decides which peer users may connect. Nil allows only the
	// listening process's own uid.
	AllowUID func(uid int) bool
	// HandshakeTimeout bounds each connection's authentication and then
	// its handshake. Zero means DefaultListenHandshakeTimeout.
	HandshakeTimeout time.Duration
}

// Listener offers one Invitation on a named Unix socket, for a process the
// parent did not start.
//
// Each connection is authenticated before anything secret is sent on it:
// first by its peer credentials, then by a challenge that only a dialer
// holding the invitation's token can answer, after which the Listener
// proves that it holds the token too (docs/protocol.md, "Named-socket
// invitations"). The token is single-use: once a dialer has proven it, no
// other connection is accepted with it. A connection that fails is closed,
// alone; the Listener serves the others, up to MaxPendingDialers at once.
//
// Accept may be called again after it failed for a reason of its own (ctx);
// Close may be called at any time, from any goroutine.
type Listener struct {
	inv     *Invitation
	ln      *net.UnixListener
	addr    string
	allow   func(uid int) bool
	timeout time.Duration
	// viaInviter says the listening node is the tree's broker.
	viaInviter bool

	// mu guards used, set once a dialer has proven the token.
	mu   sync.Mutex
	used bool
}

// Listen serves inv on the Unix socket addr. An addr beginning with '@' is
// in the Linux abstract namespace (no file; gone with the process). An
// empty addr picks a fresh name: abstract on Linux, a short path in the
// temporary directory elsewhere. A stale socket file left by a dead process
// is replaced; a live one is an error.
func Listen(inv *Invitation, addr string, opts ListenOptions) (*Listener, error) {
	if addr == "" {
		var err error
		if addr, err = freshSocketName(); err != nil {
			return nil, err
		}
	}
	if len(addr) > MaxSocketPath {
		return nil, fmt.Errorf("invitation: listen: socket path of %d bytes exceeds the limit of %d: use a shorter path or an abstract name (@...)", len(addr), MaxSocketPath)
	}
	// A named socket carries no second descriptor: a child invited this way
	// by a node that is not the root has no broker.
	cb, err := inv.node.NewChildBroker()
	if err != nil {
		return nil, fmt.Errorf("invitation: listen: %w", err)
	}
	viaInviter := cb.ViaInviter()
	inv.mu.Lock()
	if viaInviter && inv.broker == nil {
		// Passed on as RegisterChild, it makes the child prove its name.
		inv.broker, cb = cb, nil
	}
	inv.mu.Unlock()
	if cb != nil {
		cb.Close()
	}
	if !strings.HasPrefix(addr, "@") {
		if err := removeStaleSocket(addr); err != nil {
			return nil, err
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Net: "unix", Name: addr})
	if err != nil {
		return nil, fmt.Errorf("invitation: listen on %s: %w", addr, err)
	}
	allow := opts.AllowUID
	if allow == nil {
		self := os.Getuid()
		allow = func(uid int) bool { return uid == self }
	}
	timeout := opts.HandshakeTimeout
	if timeout <= 0 {
		timeout = DefaultListenHandshakeTimeout
	}
	return &Listener{inv: inv, ln: ln, addr: addr, allow: allow, timeout: timeout, viaInviter: viaInviter}, nil
}

func freshSocketName() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("invitation: listen: %w", err)
	}
	name := "mage-" + hex.EncodeToString(b[:])
	if runtime.GOOS == "linux" {
		return "@" + name, nil
	}
	// os.TempDir on macOS is long; /tmp keeps the path well under the limit.
	return filepath.Join("/tmp", name+".sock"), nil
}

// removeStaleSocket removes a socket file at path that nobody listens on.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("invitation: listen: %w", err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("invitation: listen: %s exists and is not a socket", path)
	}
	c, err := net.Dial("unix", path)
	if err == nil {
		_ = c.Close()
		return fmt.Errorf("invitation: listen: %s is in use by a live listener", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("invitation: listen: checking %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("invitation: listen: removing stale socket: %w", err)
	}
	return nil
}

// Addr returns the socket's address.
func (l *Listener) Addr() string { return l.addr }

// Env returns the EnvVar entry ("MAGE_INVITATION=...") to give the process
// that should accept.
func (l *Listener) Env() string {
	a := address{fd: -1, socket: l.addr, token: l.inv.token, broker: -1, inviterIsBroker: l.viaInviter}
	return EnvVar + "=" + a.String()
}

// Accept waits for the invited process to connect, authenticates it and
// runs the handshake, and returns the connection to it. Connections from
// other users, or that fail the challenge, are closed and it waits on;
// each is given ListenOptions.HandshakeTimeout. Once a dialer has proven
// the token, the token is spent: Accept returns the outcome of that
// dialer's handshake, and a failed handshake closes the invitation. It
// fails when ctx ends or the Listener is closed.
func (l *Listener) Accept(ctx context.Context) (*mage.Connection, error) {
	l.mu.Lock()
	used := l.used
	l.mu.Unlock()
	if used {
		return nil, fmt.Errorf("invitation: accept on %s: %w", l.addr, ErrTokenUsed)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// Deferred calls run last first: cancel, which sets the deadline that
	// ends the accept loop, then wait for the goroutines.
	defer wg.Wait()
	defer cancel()
	_ = l.ln.SetDeadline(time.Time{})
	context.AfterFunc(ctx, func() { _ = l.ln.SetDeadline(time.Now()) })

	proven := make(chan *net.UnixConn)
	acceptErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		acceptErr <- l.acceptLoop(ctx, &wg, proven)
	}()
	select {
	case conn := <-proven:
		// The token is spent: this dialer's handshake is Accept's outcome.
		hctx, hcancel := context.WithTimeout(ctx, l.timeout)
		c, err := l.inv.SendOn(hctx, conn)
		hcancel()
		if err != nil {
			return nil, fmt.Errorf("invitation: accept on %s: %w", l.addr, err)
		}
		return c, nil
	case err := <-acceptErr:
		if ctx.Err() != nil {
			return nil, fmt.Errorf("invitation: accept on %s: %w", l.addr, ctx.Err())
		}
		return nil, fmt.Errorf("invitation: accept on %s: %w", l.addr, err)
	case <-ctx.Done():
		return nil, fmt.Errorf("invitation: accept on %s: %w", l.addr, ctx.Err())
	}
}

// acceptLoop authenticates every connection on a goroutine of its own (at
// most MaxPendingDialers at once; more are closed at once), and hands the
// one that proves the token to proven. It returns when the socket fails
// (its deadline is set when ctx ends).
func (l *Listener) acceptLoop(ctx context.Context, wg *sync.WaitGroup, proven chan<- *net.UnixConn) error {
	slots := make(chan struct{}, MaxPendingDialers)
	for {
		conn, err := l.ln.AcceptUnix()
		if err != nil {
			return err
		}
		select {
		case slots <- struct{}{}:
		default:
			l.refuse(conn, fmt.Errorf("%d connections are being authenticated already (MaxPendingDialers)", MaxPendingDialers))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := l.authenticate(ctx, conn)
			<-slots
			if err != nil {
				l.refuse(conn, err)
				return
			}
			select {
			case proven <- conn:
			case <-ctx.Done():
				_ = conn.Close()
			}
		}()
	}
}

// refuse closes conn, a connection that failed, and logs why.
func (l *Listener) refuse(conn *net.UnixConn, err error) {
	l.inv.node.Logger().Warn("invitation connection refused", "socket", l.addr, "error", err)
	_ = conn.Close()
}

func (l *Listener) checkPeer(conn *net.UnixConn) error {
	uid, err := sockets.PeerUID(conn)
	if err != nil {
		return fmt.Errorf("reading peer credentials: %w", err)
	}
	if !l.allow(uid) {
		return fmt.Errorf("peer uid %d is not allowed", uid)
	}
	return nil
}

// Close stops listening and removes the socket file, if any. Idempotent.
func (l *Listener) Close() error {
	err := l.ln.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
