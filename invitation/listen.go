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
	"syscall"
	"time"

	"github.com/mage-ipc/mage/mage"
)

// MaxSocketPath is the longest socket path accepted: sun_path holds 104
// bytes on macOS and 108 on Linux, terminator included.
const MaxSocketPath = 103

// connectionHandshakeTimeout bounds one connecting process's handshake, so
// that one silent connection cannot keep the invited process out.
const connectionHandshakeTimeout = 10 * time.Second

// ListenOptions configures Listen.
type ListenOptions struct {
	// AllowUID decides which peer users may connect. Nil allows only the
	// listening process's own uid.
	AllowUID func(uid int) bool
}

// Listener offers one Invitation on a named Unix socket, for a process the
// parent did not start. Connections are checked by peer credentials first
// and then by the token; those that fail are closed and the Listener waits
// for the next.
type Listener struct {
	inv   *Invitation
	ln    *net.UnixListener
	addr  string
	allow func(uid int) bool
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
	return &Listener{inv: inv, ln: ln, addr: addr, allow: allow}, nil
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
	a := address{fd: -1, socket: l.addr, token: l.inv.token, broker: -1}
	// A named socket carries no second descriptor: a child invited this way
	// by a node that is not the root has no broker.
	a.inviterIsBroker = !l.inv.node.HasBroker()
	return EnvVar + "=" + a.String()
}

// Accept waits for the invited process to connect and accept, and returns
// the connection to it. Connections from other users, with the wrong token
// or a broken handshake are closed, and it waits on; each is given
// connectionHandshakeTimeout. It fails when ctx ends or the Listener is
// closed.
func (l *Listener) Accept(ctx context.Context) (*mage.Connection, error) {
	stop := context.AfterFunc(ctx, func() { _ = l.ln.SetDeadline(time.Now()) })
	defer stop()
	for {
		conn, err := l.ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("invitation: accept on %s: %w", l.addr, ctx.Err())
			}
			return nil, fmt.Errorf("invitation: accept on %s: %w", l.addr, err)
		}
		if err := l.checkPeer(conn); err != nil {
			l.inv.node.Logger().Warn("invitation connection refused", "socket", l.addr, "error", err)
			_ = conn.Close()
			continue
		}
		hctx, cancel := context.WithTimeout(ctx, connectionHandshakeTimeout)
		c, err := l.inv.trySendOn(hctx, conn)
		cancel()
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("invitation: accept on %s: %w", l.addr, ctx.Err())
		}
		l.inv.node.Logger().Warn("invitation handshake failed", "socket", l.addr, "error", err)
	}
}

func (l *Listener) checkPeer(conn *net.UnixConn) error {
	uid, err := peerUID(conn)
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
