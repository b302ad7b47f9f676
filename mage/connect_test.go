package mage_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage"
)

func TestVersionMismatchFailsBothSides(t *testing.T) {
	oldNode := mage.NewNode(mage.NodeOptions{})
	defer oldNode.Close()
	mage.SetProtocolVersionForTest(oldNode, mage.ProtocolVersion+1)
	newNode := mage.NewNode(mage.NodeOptions{})
	defer newNode.Close()
	ca, cb, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	keep, give := newNode.CreatePipe()
	errs := make(chan error, 1)
	go func() {
		_, err := oldNode.Connect(testContext(t), cb, mage.ConnectOptions{})
		errs <- err
	}()
	_, err = newNode.Connect(testContext(t), ca, mage.ConnectOptions{Attach: map[string]mage.MessagePipe{"p": give}})
	for _, err := range []error{err, <-errs} {
		var ve *mage.VersionError
		if !errors.As(err, &ve) || !errors.Is(err, mage.ErrHandshake) {
			t.Fatalf("connect: %v, want a *VersionError", err)
		}
		msg := err.Error()
		if !strings.Contains(msg, strconv.Itoa(mage.ProtocolVersion)) || !strings.Contains(msg, strconv.Itoa(mage.ProtocolVersion+1)) {
			t.Fatalf("%q does not name both versions", msg)
		}
	}
	// The attachment was not sent: it is still the caller's.
	if err := give.WriteMessage(text("still mine")); err != nil {
		t.Fatalf("attachment after a failed handshake: %v", err)
	}
	expectText(t, keep, "still mine")
}

func TestConnectRejectsBadAttachments(t *testing.T) {
	n := mage.NewNode(mage.NodeOptions{})
	defer n.Close()
	ca, cb, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	_, give := n.CreatePipe()
	_, err = n.Connect(testContext(t), ca, mage.ConnectOptions{Attach: map[string]mage.MessagePipe{"bad name": give}})
	if !errors.Is(err, mage.ErrBadAttachment) {
		t.Fatalf("connect with a bad name: %v, want ErrBadAttachment", err)
	}
}

func TestBadMessageHandlers(t *testing.T) {
	n := mage.NewNode(mage.NodeOptions{})
	defer n.Close()
	a, b := n.CreatePipe()
	got := make(chan error, 2)
	remove := n.AddBadMessageHandler(func(from mage.NodeName, err error) {
		if from != n.Name() {
			err = errors.New("wrong source node " + from.String())
		}
		got <- err
	})
	write(t, a, text("garbage"))
	m := expectText(t, b, "garbage")
	errCannotDecode := errors.New("cannot decode")
	b.ReportBadMessage(m, errCannotDecode)
	err := <-got
	var bad *mage.BadMessageError
	if !errors.Is(err, errCannotDecode) || !errors.As(err, &bad) || bad.Node != n.Name() || bad.Responsible != n.Name() {
		t.Fatalf("handler got %v, want a *mage.BadMessageError about %s wrapping the reported error", err, n.Name())
	}
	if _, err := a.ReadMessage(); !errors.Is(err, mage.ErrPeerClosed) {
		t.Fatalf("reporting a bad message did not close the pipe: %v", err)
	}
	remove()
	remove()
	c, d := n.CreatePipe()
	write(t, c, text("x"))
	d.ReportBadMessage(expectText(t, d, "x"), errors.New("again"))
	select {
	case err := <-got:
		t.Fatalf("removed handler called with %v", err)
	default:
	}
}

// TestOversizedMessageFromPeer: a peer that sends more than this node's
// limits allow is cut off and reported, and nothing of the message is
// delivered.
func TestOversizedMessageFromPeer(t *testing.T) {
	bad := make(chan mage.NodeName, 1)
	strict := mage.NewNode(mage.NodeOptions{
		Limits:       mage.Limits{MaxPayload: 16},
		OnBadMessage: func(from mage.NodeName, err error) { bad <- from },
	})
	defer strict.Close()
	loose := mage.NewNode(mage.NodeOptions{})
	defer loose.Close()
	ca, cb, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	keep, give := strict.CreatePipe()
	conns := make(chan *mage.Connection, 1)
	go func() {
		c, err := loose.Connect(testContext(t), cb, mage.ConnectOptions{})
		if err != nil {
			conns <- nil
			return
		}
		conns <- c
	}()
	if _, err := strict.Connect(testContext(t), ca, mage.ConnectOptions{Attach: map[string]mage.MessagePipe{"p": give}}); err != nil {
		t.Fatal(err)
	}
	c := <-conns
	if c == nil {
		t.Fatal("loose side failed to connect")
	}
	p, _ := c.Pipe("p")
	write(t, p, &mage.Message{Payload: make([]byte, 17)})
	if from := <-bad; from != loose.Name() {
		t.Fatalf("bad message blamed on %s, want %s", from, loose.Name())
	}
	_, err = next(testContext(t), keep)
	var pce *mage.PeerClosedError
	if !errors.As(err, &pce) || !pce.NodeLost {
		t.Fatalf("after the oversized message: %v, want a node loss", err)
	}
}

// OnPeer learns the peer's name during the handshake, once, before Connect
// returns.
func TestConnectOnPeerNamesThePeerBeforeConnectReturns(t *testing.T) {
	a, b := mage.NewNode(mage.NodeOptions{}), mage.NewNode(mage.NodeOptions{})
	defer a.Close()
	defer b.Close()
	var named []mage.NodeName
	onPeer := func(n mage.NodeName) { named = append(named, n) }
	ca, cb, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	go func() {
		_, err := b.Connect(testContext(t), cb, mage.ConnectOptions{})
		errs <- err
	}()
	c, err := a.Connect(testContext(t), ca, mage.ConnectOptions{OnPeer: onPeer})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	// Read without a lock: Connect returning orders it after the call.
	if len(named) != 1 || named[0] != b.Name() || c.Peer() != b.Name() {
		t.Fatalf("OnPeer saw %v, want once %v (Connection.Peer %v)", named, b.Name(), c.Peer())
	}
}
