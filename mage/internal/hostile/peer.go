package hostile

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"golang.org/x/sys/unix"

	"github.com/mage-ipc/mage/mage/internal/wire"
)

// Peer is the raw side of a connection to a mage node: it writes whatever
// bytes it is told to and decodes what the node sends. It is not safe for
// concurrent use, except that Close may be called at any time.
type Peer struct {
	conn *net.UnixConn
	// Node is the name this side uses in its Hello, and Proof the secret
	// it derives from.
	Node  wire.NodeName
	Proof wire.NameProof
	// ProvesName makes Hello carry Proof, as a node's Hello to its broker
	// does.
	ProvesName bool
	// buf holds bytes read but not yet decoded.
	buf []byte
}

// NewPeer returns a Peer on conn with a fresh node name and its proof.
func NewPeer(conn *net.UnixConn) *Peer {
	proof, name, err := wire.NewNameProof(rand.Reader)
	if err != nil {
		panic("hostile: crypto/rand failed: " + err.Error())
	}
	return &Peer{conn: conn, Node: name, Proof: proof}
}

// RandomName returns 16 random bytes, never all zero.
func RandomName() (n [16]byte) {
	for n == ([16]byte{}) {
		if _, err := rand.Read(n[:]); err != nil {
			panic("hostile: crypto/rand failed: " + err.Error())
		}
	}
	return n
}

// Close closes the socket.
func (p *Peer) Close() error { return p.conn.Close() }

// Conn returns the socket.
func (p *Peer) Conn() *net.UnixConn { return p.conn }

// Write writes b in one system call, with fds as SCM_RIGHTS when there are
// any.
func (p *Peer) Write(b []byte, fds ...int) error {
	if len(fds) > 0 {
		_, _, err := p.conn.WriteMsgUnix(b, unix.UnixRights(fds...), nil)
		return err
	}
	_, err := p.conn.Write(b)
	return err
}

// Hello is this side's Hello frame: version in both the header and the
// body, the token, and the name proof if ProvesName.
func (p *Peer) Hello(version uint16, token []byte) []byte {
	h := wire.Hello{Version: version, Node: p.Node, Token: token}
	if p.ProvesName {
		h.HasProof, h.Proof = true, p.Proof
	}
	b := wire.AppendHello(nil, &h)
	b[2] = byte(version) // the header's version byte
	return b
}

// EmptyAttach is an Attach frame with no attachments.
func EmptyAttach() []byte { return wire.AppendAttach(nil, nil) }

// BadMagic is 16 bytes that no reader can take for a frame.
func BadMagic() []byte { return []byte("NOT A MAGE FRAME") }

// ReadFrame reads and decodes the next frame. Descriptors the node sends
// are not taken.
func (p *Peer) ReadFrame() (*wire.Frame, error) {
	for {
		if len(p.buf) >= wire.HeaderSize {
			n := int(binary.LittleEndian.Uint32(p.buf[4:]))
			if n < wire.HeaderSize || n > wire.MaxFrameSize {
				return nil, fmt.Errorf("hostile: the node sent a frame of %d bytes", n)
			}
			if len(p.buf) >= n {
				f := new(wire.Frame)
				frame := append([]byte(nil), p.buf[:n]...)
				p.buf = p.buf[n:]
				if err := wire.Decode(frame, f); err != nil {
					return nil, fmt.Errorf("hostile: the node's frame: %w", err)
				}
				return f, nil
			}
		}
		chunk := make([]byte, 64<<10)
		n, err := p.conn.Read(chunk)
		p.buf = append(p.buf, chunk[:n]...)
		if err != nil {
			if errors.Is(err, io.EOF) && n > 0 {
				continue
			}
			return nil, err
		}
	}
}

// ReadUntil reads frames until one of type t, which it returns.
func (p *Peer) ReadUntil(t wire.FrameType) (*wire.Frame, error) {
	for {
		f, err := p.ReadFrame()
		if err != nil {
			return nil, fmt.Errorf("hostile: waiting for %v: %w", t, err)
		}
		if f.Type == t {
			return f, nil
		}
	}
}

// Handshake does a well-behaved handshake: it sends a Hello with token,
// reads the node's Hello and attachments, and sends an empty Attach. It
// returns the node's Hello and attachments.
func (p *Peer) Handshake(token []byte) (wire.Hello, []wire.Attachment, error) {
	if err := p.Write(p.Hello(wire.Version, token)); err != nil {
		return wire.Hello{}, nil, err
	}
	hello, err := p.ReadUntil(wire.TypeHello)
	if err != nil {
		return wire.Hello{}, nil, err
	}
	h := hello.Hello
	h.Token = append([]byte(nil), h.Token...)
	att, err := p.ReadUntil(wire.TypeAttach)
	if err != nil {
		return h, nil, err
	}
	if err := p.Write(EmptyAttach()); err != nil {
		return h, nil, err
	}
	return h, att.Attach, nil
}

// Accepted tells the node that each attached port was adopted, as a
// well-behaved node does (PortAccepted), so that its proxies can go.
func (p *Peer) Accepted(atts []wire.Attachment) error {
	var b []byte
	for _, a := range atts {
		b = wire.AppendPortAccepted(b, &wire.PortAccepted{Target: a.Port.Name})
	}
	if len(b) == 0 {
		return nil
	}
	return p.Write(b)
}
