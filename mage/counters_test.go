package mage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage"
)

// TestPeerCounters asks a connected node for its message counts: they
// follow what its pipes wrote and read.
func TestPeerCounters(t *testing.T) {
	a := mage.NewNode(mage.NodeOptions{})
	defer a.Close()
	b := mage.NewNode(mage.NodeOptions{})
	defer b.Close()
	ca, cb, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs := a.CreatePipe()
	done := make(chan *mage.Connection, 1)
	go func() {
		c, err := b.Connect(testContext(t), cb, mage.ConnectOptions{})
		if err != nil {
			t.Error(err)
		}
		done <- c
	}()
	connA, err := a.Connect(testContext(t), ca, mage.ConnectOptions{Attach: map[string]mage.MessagePipe{"p": theirs}})
	if err != nil {
		t.Fatal(err)
	}
	connB := <-done
	if connB == nil {
		t.FailNow()
	}
	p, _ := connB.Pipe("p")
	for range 3 {
		write(t, mine, text("to b"))
	}
	for range 3 {
		expectText(t, p, "to b")
	}
	write(t, p, text("to a"))
	expectText(t, mine, "to a")

	got, err := a.PeerCounters(testContext(t), b.Name())
	if err != nil {
		t.Fatal(err)
	}
	if want := (mage.Counters{Sent: 1, Received: 3}); got != want {
		t.Errorf("b's counters as a sees them: %+v, want %+v", got, want)
	}
	if got, want := a.Counters(), (mage.Counters{Sent: 3, Received: 1}); got != want {
		t.Errorf("a's own counters: %+v, want %+v", got, want)
	}

	if _, err := a.PeerCounters(testContext(t), mage.NewNode(mage.NodeOptions{}).Name()); !errors.Is(err, mage.ErrNotConnected) {
		t.Errorf("counters of a stranger: %v, want ErrNotConnected", err)
	}
	ctx, cancel := context.WithCancel(testContext(t))
	cancel()
	if _, err := a.PeerCounters(ctx, b.Name()); !errors.Is(err, context.Canceled) {
		t.Errorf("counters with a cancelled context: %v", err)
	}
	connA.Close()
	<-connB.Done()
	if _, err := b.PeerCounters(testContext(t), a.Name()); !errors.Is(err, mage.ErrNotConnected) {
		t.Errorf("counters after the connection ended: %v, want ErrNotConnected", err)
	}
}

// TestFinalCounters closes a node whose broker is another: the broker
// keeps its last counts after it is gone.
func TestFinalCounters(t *testing.T) {
	broker := mage.NewNode(mage.NodeOptions{})
	defer broker.Close()
	child := mage.NewNode(mage.NodeOptions{})
	defer child.Close()
	ca, cb, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs := broker.CreatePipe()
	done := make(chan *mage.Connection, 1)
	go func() {
		c, err := broker.Connect(testContext(t), ca, mage.ConnectOptions{Attach: map[string]mage.MessagePipe{"p": theirs}})
		if err != nil {
			t.Error(err)
		}
		done <- c
	}()
	connChild, err := child.Connect(testContext(t), cb, mage.ConnectOptions{AsBroker: true})
	if err != nil {
		t.Fatal(err)
	}
	connBroker := <-done
	if connBroker == nil {
		t.FailNow()
	}
	p, _ := connChild.Pipe("p")
	for range 4 {
		write(t, p, text("up"))
	}
	for range 4 {
		expectText(t, mine, "up")
	}
	if _, ok := broker.LastPeerCounters(child.Name()); ok {
		t.Errorf("counts before any were reported")
	}
	child.Close()
	<-connBroker.Done()
	got, ok := broker.LastPeerCounters(child.Name())
	if want := (mage.Counters{Sent: 4}); !ok || got != want {
		t.Errorf("final counts %+v, %v; want %+v", got, ok, want)
	}
}
