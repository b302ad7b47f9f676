package invitation

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// The named-socket authentication runs on a fresh connection before the
// node handshake, so that neither side sends the token, or anything made
// from it that could be replayed, to a process that has not proven it
// holds the token (docs/protocol.md, "Named-socket invitations"):
//
//	listener -> dialer   challenge: magic "MGINVCH1", 32-byte nonce NL
//	dialer -> listener   proof:     magic "MGINVPR1", 32-byte nonce ND,
//	                                HMAC-SHA256(token, "mage invitation dialer\x00" NL ND)
//	listener -> dialer   answer:    magic "MGINVAN1",
//	                                HMAC-SHA256(token, "mage invitation listener\x00" NL ND)
//
// The two MACs are bound to both nonces and to a direction, so neither can
// be reflected or replayed. The listener checks peer credentials before it
// sends the challenge, and spends the token on the first valid proof.

// Sizes and magics of the authentication messages.
const (
	authNonceSize     = 32
	authMACSize       = sha256.Size
	authMagicSize     = 8
	authChallengeSize = authMagicSize + authNonceSize
	authProofSize     = authMagicSize + authNonceSize + authMACSize
	authAnswerSize    = authMagicSize + authMACSize
)

var (
	authChallengeMagic = [authMagicSize]byte{'M', 'G', 'I', 'N', 'V', 'C', 'H', '1'}
	authProofMagic     = [authMagicSize]byte{'M', 'G', 'I', 'N', 'V', 'P', 'R', '1'}
	authAnswerMagic    = [authMagicSize]byte{'M', 'G', 'I', 'N', 'V', 'A', 'N', '1'}
)

// The labels that bind each MAC to its direction.
const (
	dialerLabel   = "mage invitation dialer\x00"
	listenerLabel = "mage invitation listener\x00"
)

// authMAC is the MAC of one direction over both nonces.
func authMAC(token []byte, label string, nl, nd []byte) []byte {
	m := hmac.New(sha256.New, token)
	m.Write([]byte(label))
	m.Write(nl)
	m.Write(nd)
	return m.Sum(nil)
}

// authenticate runs the listener's side on conn: peer credentials, the
// challenge, the dialer's proof, and, if the token is still unspent, the
// answer. It spends the token on success. It is bounded by the Listener's
// handshake timeout and by ctx.
func (l *Listener) authenticate(ctx context.Context, conn *net.UnixConn) error {
	if err := l.checkPeer(conn); err != nil {
		return err
	}
	_ = conn.SetDeadline(time.Now().Add(l.timeout))
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	challenge := make([]byte, authChallengeSize)
	copy(challenge, authChallengeMagic[:])
	nl := challenge[authMagicSize:]
	if _, err := rand.Read(nl); err != nil {
		return fmt.Errorf("making the challenge: %w", err)
	}
	if _, err := conn.Write(challenge); err != nil {
		return fmt.Errorf("sending the challenge: %w", err)
	}
	proof := make([]byte, authProofSize)
	if _, err := io.ReadFull(conn, proof); err != nil {
		return fmt.Errorf("reading the dialer's proof: %w", err)
	}
	if [authMagicSize]byte(proof[:authMagicSize]) != authProofMagic {
		return fmt.Errorf("the dialer's proof does not begin with %q", authProofMagic[:])
	}
	nd := proof[authMagicSize : authMagicSize+authNonceSize]
	want := authMAC(l.inv.token, dialerLabel, nl, nd)
	if !hmac.Equal(proof[authMagicSize+authNonceSize:], want) {
		return errors.New("the dialer does not hold the invitation's token")
	}
	l.mu.Lock()
	used := l.used
	l.used = true
	l.mu.Unlock()
	if used {
		return ErrTokenUsed
	}
	answer := make([]byte, 0, authAnswerSize)
	answer = append(answer, authAnswerMagic[:]...)
	answer = append(answer, authMAC(l.inv.token, listenerLabel, nl, nd)...)
	if _, err := conn.Write(answer); err != nil {
		return fmt.Errorf("sending the answer: %w", err)
	}
	_ = conn.SetDeadline(time.Time{})
	return nil
}

// dialListener connects to the Listener at socket and runs the dialer's
// side: it answers the challenge with a proof that it holds token, and
// checks that the listener holds it too, all within timeout. Only then is
// the connection used for the node handshake, which carries the token.
func dialListener(socket string, token []byte, timeout time.Duration) (*net.UnixConn, error) {
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Net: "unix", Name: socket})
	if err != nil {
		return nil, fmt.Errorf("cannot reach the invitation socket: %w", err)
	}
	if err := proveToListener(conn, token, timeout); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}

func proveToListener(conn *net.UnixConn, token []byte, timeout time.Duration) error {
	_ = conn.SetDeadline(time.Now().Add(timeout))
	challenge := make([]byte, authChallengeSize)
	if _, err := io.ReadFull(conn, challenge); err != nil {
		return fmt.Errorf("reading the listener's challenge: %w", err)
	}
	if [authMagicSize]byte(challenge[:authMagicSize]) != authChallengeMagic {
		return fmt.Errorf("the socket's first bytes are not an invitation challenge")
	}
	nl := challenge[authMagicSize:]
	proof := make([]byte, authMagicSize+authNonceSize, authProofSize)
	copy(proof, authProofMagic[:])
	nd := proof[authMagicSize:]
	if _, err := rand.Read(nd); err != nil {
		return fmt.Errorf("making the proof: %w", err)
	}
	proof = append(proof, authMAC(token, dialerLabel, nl, nd)...)
	if _, err := conn.Write(proof); err != nil {
		return fmt.Errorf("sending the proof: %w", err)
	}
	answer := make([]byte, authAnswerSize)
	if _, err := io.ReadFull(conn, answer); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("the listener refused the token (wrong, or already used): %w", err)
		}
		return fmt.Errorf("reading the listener's answer: %w", err)
	}
	if [authMagicSize]byte(answer[:authMagicSize]) != authAnswerMagic ||
		!hmac.Equal(answer[authMagicSize:], authMAC(token, listenerLabel, nl, nd)) {
		return fmt.Errorf("the listener does not hold the invitation's token")
	}
	_ = conn.SetDeadline(time.Time{})
	return nil
}
