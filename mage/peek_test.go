package mage

import (
	"errors"
	"reflect"
	"testing"
)

// TestPeekHeader: the header of the next message, without taking it; the
// peer's closure once nothing is left.
func TestPeekHeader(t *testing.T) {
	n := NewNode(NodeOptions{})
	defer n.Close()
	a, b := n.CreatePipe()
	defer b.Close()
	if _, ok, err := b.PeekHeader(); ok || err != nil {
		t.Fatalf("empty pipe: %v, %v", ok, err)
	}
	x, y := n.CreatePipe()
	defer y.Close()
	if err := a.WriteMessage(&Message{Interface: 7, Method: 8, Flags: 9, RequestID: 10, Pipes: []MessagePipe{x}}); err != nil {
		t.Fatal(err)
	}
	h, ok, err := b.PeekHeader()
	want := MessageHeader{Interface: 7, Method: 8, Flags: 9, RequestID: 10, Pipes: 1}
	if !ok || err != nil || h != want {
		t.Fatalf("PeekHeader = %+v, %v, %v; want %+v", h, ok, err, want)
	}
	m, err := b.ReadMessage()
	if err != nil || m.Method != 8 || len(m.Pipes) != 1 {
		t.Fatalf("the peeked message was taken: %+v, %v", m, err)
	}
	m.Close()
	_ = a.Close()
	if _, ok, err := b.PeekHeader(); ok || !errors.Is(err, ErrPeerClosed) {
		t.Fatalf("after the peer closed: %v, %v", ok, err)
	}
	if _, _, err := (MessagePipe{}).PeekHeader(); !errors.Is(err, ErrInvalidPipe) {
		t.Fatalf("invalid pipe: %v", err)
	}
}

// TestUnread: messages given back are read again first, in order, and
// wake a reader; messages with attachments are refused.
func TestUnread(t *testing.T) {
	n := NewNode(NodeOptions{})
	defer n.Close()
	a, b := n.CreatePipe()
	defer a.Close()
	defer b.Close()
	for i := uint32(1); i <= 4; i++ {
		if err := a.WriteMessage(&Message{Method: i}); err != nil {
			t.Fatal(err)
		}
	}
	var taken []*Message
	for range 2 {
		m, err := b.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		taken = append(taken, m)
	}
	// Drain the signal, so that Unread must give one.
	select {
	case <-b.Ready():
	default:
	}
	if err := b.Unread(taken); err != nil {
		t.Fatal(err)
	}
	<-b.Ready()
	var got []uint32
	for {
		m, err := b.ReadMessage()
		if errors.Is(err, ErrNoMessage) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m.Method)
	}
	if want := []uint32{1, 2, 3, 4}; !reflect.DeepEqual(got, want) {
		t.Fatalf("read %v after Unread, want %v", got, want)
	}
	x, y := n.CreatePipe()
	defer y.Close()
	defer x.Close()
	if err := b.Unread([]*Message{{Pipes: []MessagePipe{x}}}); !errors.Is(err, ErrCannotUnread) {
		t.Fatalf("Unread of a message with a pipe = %v", err)
	}
	if err := b.Unread([]*Message{{}, {}, {}, {}, {}}); !errors.Is(err, ErrCannotUnread) {
		t.Fatalf("Unread of more than was read = %v", err)
	}
}
