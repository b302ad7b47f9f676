package mage

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage/internal/ports"
)

// A node whose port comes to depend on a node it has no connection to asks
// the broker for one. If the broker has lost that node, it says so, and the
// port reports the loss rather than wait for ever.
func TestBrokerAnswersIntroductionToLostNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	root := NewNode(NodeOptions{})
	defer root.Close()
	leaf := NewNode(NodeOptions{})
	defer leaf.Close()
	ca, cb, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	go func() {
		_, err := root.Connect(ctx, ca, ConnectOptions{})
		errs <- err
	}()
	if _, err := leaf.Connect(ctx, cb, ConnectOptions{AsBroker: true}); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}

	gone := ports.NodeName{0xde, 0xad}
	cause := errors.New("test: gone before the leaf asked")
	root.mu.Lock()
	root.lost[gone] = cause
	root.unlock()

	// A port whose peer lives on the lost node arrives at the leaf.
	leaf.mu.Lock()
	p, err := leaf.ports.AdoptPort(root.name, ports.Descriptor{
		Name: ports.PortName{1}, Peer: ports.Address{Node: gone, Port: ports.PortName{2}}, Proxy: ports.PortName{3}, NextSendSeq: 1, NextRecvSeq: 1,
	})
	if err != nil {
		leaf.unlock()
		t.Fatal(err)
	}
	pipe := leaf.newEndpointLocked(p)
	leaf.flushLocked()
	leaf.unlock()

	for {
		_, err := pipe.ReadMessage()
		if !errors.Is(err, ErrNoMessage) {
			var pce *PeerClosedError
			if !errors.As(err, &pce) || !pce.NodeLost || pce.Node != NodeName(gone) || !errors.Is(pce.Cause, errNodeUnknown) {
				t.Fatalf("read: %v, want the loss of %s as the broker reported it", err, NodeName(gone))
			}
			return
		}
		select {
		case <-pipe.Ready():
		case <-ctx.Done():
			t.Fatal("the port never learned that its peer's node is gone")
		}
	}
}
