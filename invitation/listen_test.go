package invitation

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/mage-ipc/mage/mage"
)

// These tests dial a Listener by hand and break one rule of the
// named-socket authentication each (listen_auth.go).

// listenHarness is a Listener on a fresh node, with Accept running.
type listenHarness struct {
	t        *testing.T
	ctx      context.Context
	inv      *Invitation
	ln       *Listener
	accepted chan acceptResult
}

type acceptResult struct {
	c   *mage.Connection
	err error
}

func newListenHarness(t *testing.T, opts ListenOptions) *listenHarness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	node := mage.NewNode(mage.NodeOptions{})
	t.Cleanup(func() { _ = node.Close() })
	inv := New(node)
	if _, err := inv.Attach("main"); err != nil {
		t.Fatal(err)
	}
	ln, err := Listen(inv, "", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return &listenHarness{t: t, ctx: ctx, inv: inv, ln: ln, accepted: make(chan acceptResult, 1)}
}

// accept runs Accept in the background; result collects it.
func (h *listenHarness) accept() {
	go func() {
		c, err := h.ln.Accept(h.ctx)
		h.accepted <- acceptResult{c, err}
	}()
}

func (h *listenHarness) result() acceptResult {
	h.t.Helper()
	select {
	case r := <-h.accepted:
		return r
	case <-h.ctx.Done():
		h.t.Fatal("Accept did not return")
	}
	return acceptResult{}
}

func (h *listenHarness) dial() *net.UnixConn {
	h.t.Helper()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Net: "unix", Name: h.ln.Addr()})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

// readChallenge reads the listener's challenge and returns its nonce.
func readChallenge(t *testing.T, c *net.UnixConn) []byte {
	t.Helper()
	ch := make([]byte, authChallengeSize)
	if _, err := io.ReadFull(c, ch); err != nil {
		t.Fatalf("reading the challenge: %v", err)
	}
	if !bytes.Equal(ch[:authMagicSize], authChallengeMagic[:]) {
		t.Fatalf("challenge %x has the wrong magic", ch)
	}
	return ch[authMagicSize:]
}

// proof is a dialer's proof for nonce nl with token.
func proof(t *testing.T, token, nl []byte) []byte {
	t.Helper()
	nd := make([]byte, authNonceSize)
	if _, err := rand.Read(nd); err != nil {
		t.Fatal(err)
	}
	p := append(append([]byte(nil), authProofMagic[:]...), nd...)
	return append(p, authMAC(token, dialerLabel, nl, nd)...)
}

// expectClosed reads c to its end and fails if anything but EOF ends it.
// It returns what was read.
func expectClosed(t *testing.T, c *net.UnixConn) []byte {
	t.Helper()
	rest, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("the listener did not close the connection: %v", err)
	}
	return rest
}

// joinAsChild runs the node handshake of the invited process over conn.
func (h *listenHarness) joinAsChild(conn *net.UnixConn) *mage.Node {
	h.t.Helper()
	child := mage.NewNode(mage.NodeOptions{})
	h.t.Cleanup(func() { _ = child.Close() })
	if _, err := child.Connect(h.ctx, conn, mage.ConnectOptions{Token: h.inv.token, ExpectToken: h.inv.token, AsBroker: true}); err != nil {
		h.t.Fatalf("child handshake: %v", err)
	}
	return child
}

// A dialer that never speaks gets the challenge and nothing else, and is
// cut off after the handshake timeout; the token never crosses.
func TestListenerSendsNothingSecretBeforeTheProof(t *testing.T) {
	h := newListenHarness(t, ListenOptions{HandshakeTimeout: 100 * time.Millisecond})
	h.accept()
	c := h.dial()
	readChallenge(t, c)
	if rest := expectClosed(t, c); len(rest) != 0 {
		t.Fatalf("the listener sent %d bytes after the challenge to a dialer that proved nothing", len(rest))
	}
	// Accept is still waiting for the right dialer.
	select {
	case r := <-h.accepted:
		t.Fatalf("Accept returned (%v) after one silent dialer", r.err)
	default:
	}
	_ = h.ln.Close()
	if r := h.result(); r.err == nil {
		t.Fatal("Accept succeeded on a closed listener")
	}
}

// A wrong token, a dialer that hangs up after the challenge, and one that
// sends garbage each lose their connection alone; the right dialer gets in.
func TestListenerClosesOnlyTheFailedConnection(t *testing.T) {
	h := newListenHarness(t, ListenOptions{})
	h.accept()
	wrong := h.dial()
	nl := readChallenge(t, wrong)
	if _, err := wrong.Write(proof(t, bytes.Repeat([]byte{0xab}, TokenSize), nl)); err != nil {
		t.Fatal(err)
	}
	if rest := expectClosed(t, wrong); len(rest) != 0 {
		t.Fatalf("the listener answered a wrong proof with %x", rest)
	}
	hangup := h.dial()
	readChallenge(t, hangup)
	_ = hangup.Close()
	garbage := h.dial()
	readChallenge(t, garbage)
	if _, err := garbage.Write(bytes.Repeat([]byte{'G'}, authProofSize)); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, garbage)
	// A dialer the listener must not wait for, still silent, does not hold
	// up the right one.
	silent := h.dial()
	readChallenge(t, silent)
	if _, err := dialListener(h.ln.Addr(), bytes.Repeat([]byte{1}, TokenSize), 20*time.Second); err == nil {
		t.Fatal("a dialer with the wrong token was let in")
	}
	conn, err := dialListener(h.ln.Addr(), h.inv.token, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	h.joinAsChild(conn)
	if r := h.result(); r.err != nil {
		t.Fatal(r.err)
	}
	// Accept's return let the silent dialer go.
	expectClosed(t, silent)
}

// A token works once: a second dialer that proves it is refused, a proof
// replayed on another connection is refused, and Accept after success
// reports ErrTokenUsed.
func TestListenerTokenIsSingleUse(t *testing.T) {
	h := newListenHarness(t, ListenOptions{})
	h.accept()
	first := h.dial()
	nl := readChallenge(t, first)
	firstProof := proof(t, h.inv.token, nl)
	if _, err := first.Write(firstProof); err != nil {
		t.Fatal(err)
	}
	answer := make([]byte, authAnswerSize)
	if _, err := io.ReadFull(first, answer); err != nil {
		t.Fatalf("the right proof was not answered: %v", err)
	}
	// Before the first dialer goes on with its handshake: a replay of its
	// proof, and a fresh proof by someone else who holds the token.
	replay := h.dial()
	readChallenge(t, replay)
	if _, err := replay.Write(firstProof); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, replay)
	if _, err := dialListener(h.ln.Addr(), h.inv.token, 20*time.Second); err == nil {
		t.Fatal("a second dialer with the token was let in")
	}
	_ = first.SetDeadline(time.Time{})
	h.joinAsChild(first)
	if r := h.result(); r.err != nil {
		t.Fatal(r.err)
	}
	if _, err := h.ln.Accept(h.ctx); !errors.Is(err, ErrTokenUsed) {
		t.Fatalf("Accept after success: %v, want ErrTokenUsed", err)
	}
}

// A dialer of a user the listener does not allow gets nothing at all.
func TestListenerChecksPeerCredentialsFirst(t *testing.T) {
	h := newListenHarness(t, ListenOptions{AllowUID: func(int) bool { return false }})
	h.accept()
	c := h.dial()
	if rest := expectClosed(t, c); len(rest) != 0 {
		t.Fatalf("the listener sent %d bytes to a refused user", len(rest))
	}
	_ = h.ln.Close()
	if r := h.result(); r.err == nil {
		t.Fatal("Accept succeeded on a closed listener")
	}
}

// A dialer checks the listener too: a socket that does not speak the
// protocol, or does not hold the token, gets no proof-based secret and no
// handshake.
func TestDialerChecksTheListener(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("uses an abstract socket name")
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Net: "unix", Name: "@mage-test-" + t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	token := bytes.Repeat([]byte{7}, TokenSize)
	served := make(chan error, 1)
	go func() {
		c, err := ln.AcceptUnix()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		nl := make([]byte, authNonceSize)
		if _, err := c.Write(append(authChallengeMagic[:], nl...)); err != nil {
			served <- err
			return
		}
		p := make([]byte, authProofSize)
		if _, err := io.ReadFull(c, p); err != nil {
			served <- err
			return
		}
		// An impostor that does not know the token answers with garbage.
		_, err = c.Write(append(authAnswerMagic[:], make([]byte, authMACSize)...))
		served <- err
	}()
	if _, err := dialListener("@mage-test-"+t.Name(), token, 20*time.Second); err == nil {
		t.Fatal("the dialer trusted a listener that does not hold the token")
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

// The named-socket authentication's sizes and magics are part of the
// protocol (docs/protocol.md, "Named-socket invitations").
func TestListenAuthConstants(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"challenge size", authChallengeSize, 40},
		{"proof size", authProofSize, 72},
		{"answer size", authAnswerSize, 40},
		{"challenge magic", string(authChallengeMagic[:]), "MGINVCH1"},
		{"proof magic", string(authProofMagic[:]), "MGINVPR1"},
		{"answer magic", string(authAnswerMagic[:]), "MGINVAN1"},
		{"dialer label", dialerLabel, "mage invitation dialer\x00"},
		{"listener label", listenerLabel, "mage invitation listener\x00"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}
