package mage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage"
)

// connect joins a and b over a new socketpair with the options given for
// each side, and fails the test if either side fails.
func connectPair(t *testing.T, ctx context.Context, a *mage.Node, aOpts mage.ConnectOptions, b *mage.Node, bOpts mage.ConnectOptions) {
	t.Helper()
	ca, cb, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	go func() {
		_, err := a.Connect(ctx, ca, aOpts)
		errs <- err
	}()
	if _, err := b.Connect(ctx, cb, bOpts); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

// A node that is not the broker registers the child it invites: the child
// then reaches the broker over its own socket.
func TestChildBrokerRegistersTheChild(t *testing.T) {
	ctx := testContext(t)
	root, middle, leaf := mage.NewNode(mage.NodeOptions{}), mage.NewNode(mage.NodeOptions{}), mage.NewNode(mage.NodeOptions{})
	defer root.Close()
	defer middle.Close()
	defer leaf.Close()

	onRoot, err := root.NewChildBroker()
	if err != nil {
		t.Fatal(err)
	}
	if !onRoot.ViaInviter() || onRoot.ChildEnd() != nil {
		t.Fatal("on the broker, a child reaches the broker through its inviter")
	}
	onRoot.Close()
	connectPair(t, ctx, root, mage.ConnectOptions{}, middle, mage.ConnectOptions{AsBroker: true})

	cb, err := middle.NewChildBroker()
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	if cb.ViaInviter() || cb.ChildEnd() == nil {
		t.Fatal("off the broker, a child gets a socket of its own to the broker")
	}
	childEnd, err := sockets.Conn(cb.ChildEnd())
	if err != nil {
		t.Fatal(err)
	}
	cb.CloseChildEnd()
	connectPair(t, ctx, middle, mage.ConnectOptions{RegisterChild: cb}, leaf, mage.ConnectOptions{})
	if _, err := leaf.Connect(ctx, childEnd, mage.ConnectOptions{AsBroker: true}); err != nil {
		t.Fatalf("the registered child's connection to the broker: %v", err)
	}
	if _, err := root.PeerCounters(ctx, leaf.Name()); err != nil {
		t.Fatalf("the broker has no connection to the registered child: %v", err)
	}
}

// A ChildBroker serves the node that made it only.
func TestChildBrokerOfAnotherNode(t *testing.T) {
	ctx := testContext(t)
	root, middle, other := mage.NewNode(mage.NodeOptions{}), mage.NewNode(mage.NodeOptions{}), mage.NewNode(mage.NodeOptions{})
	defer root.Close()
	defer middle.Close()
	defer other.Close()
	connectPair(t, ctx, root, mage.ConnectOptions{}, middle, mage.ConnectOptions{AsBroker: true})
	cb, err := middle.NewChildBroker()
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	ca, cc, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	go func() { _, _ = middle.Connect(ctx, cc, mage.ConnectOptions{}) }()
	if _, err := other.Connect(ctx, ca, mage.ConnectOptions{RegisterChild: cb}); !errors.Is(err, mage.ErrHandshake) {
		t.Fatalf("Connect with another node's ChildBroker: %v, want ErrHandshake", err)
	}
}
