package mage_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/mage-ipc/mage/mage"
)

func TestPipeInOneNode(t *testing.T) {
	n := mage.NewNode(mage.NodeOptions{})
	defer n.Close()
	a, b := n.CreatePipe()
	if _, err := b.ReadMessage(); !errors.Is(err, mage.ErrNoMessage) {
		t.Fatalf("empty pipe: %v, want ErrNoMessage", err)
	}
	// Written before anyone reads: queued, then delivered in order.
	for i := range 10 {
		write(t, a, text(fmt.Sprint(i)))
	}
	select {
	case <-b.Ready():
	default:
		t.Fatal("Ready not signalled after writes")
	}
	for i := range 10 {
		expectText(t, b, fmt.Sprint(i))
	}
	write(t, b, text("reverse"))
	expectText(t, a, "reverse")
	write(t, a, text("last"))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	expectText(t, b, "last")
	if _, err := b.ReadMessage(); !errors.Is(err, mage.ErrPeerClosed) {
		t.Fatalf("after peer closed: %v, want ErrPeerClosed", err)
	}
	if err := a.WriteMessage(text("x")); !errors.Is(err, mage.ErrPipeClosed) {
		t.Fatalf("write on closed end: %v, want ErrPipeClosed", err)
	}
	if err := b.WriteMessage(text("to a closed peer")); !errors.Is(err, mage.ErrPeerClosed) {
		t.Fatalf("write to a closed peer: %v, want ErrPeerClosed", err)
	}
	b.Close()
	if c := n.PortCount(); c != 0 {
		t.Fatalf("%d ports leaked", c)
	}
}

func TestFIFOUnderLoadInOneNode(t *testing.T) {
	n := mage.NewNode(mage.NodeOptions{})
	defer n.Close()
	a, b := n.CreatePipe()
	floodAndCheck(t, a, b)
}

func TestWriteRejectsBadAttachments(t *testing.T) {
	n := mage.NewNode(mage.NodeOptions{Limits: mage.Limits{MaxPayload: 8, MaxPipes: 2, MaxHandles: 1}})
	defer n.Close()
	a, b := n.CreatePipe()
	c, d := n.CreatePipe()
	closed, other := n.CreatePipe()
	closed.Close()
	other.Close()
	cases := []struct {
		name string
		m    *mage.Message
		want error
	}{
		{"itself", &mage.Message{Pipes: []mage.MessagePipe{a}}, mage.ErrBadAttachment},
		{"its peer", &mage.Message{Pipes: []mage.MessagePipe{b}}, mage.ErrBadAttachment},
		{"twice", &mage.Message{Pipes: []mage.MessagePipe{c, c}}, mage.ErrBadAttachment},
		{"invalid", &mage.Message{Pipes: []mage.MessagePipe{{}}}, mage.ErrBadAttachment},
		{"closed", &mage.Message{Pipes: []mage.MessagePipe{closed}}, mage.ErrBadAttachment},
		{"payload over limit", &mage.Message{Payload: make([]byte, 9)}, mage.ErrTooLarge},
		{"pipes over limit", &mage.Message{Pipes: []mage.MessagePipe{c, d, c}}, mage.ErrTooLarge},
		{"handles over limit", &mage.Message{Handles: []*os.File{os.Stdin, os.Stdin}}, mage.ErrTooLarge},
	}
	for _, tc := range cases {
		if err := a.WriteMessage(tc.m); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// A rejected message consumed nothing: c is still usable.
	write(t, c, text("ok"))
	expectText(t, d, "ok")
	if _, err := b.ReadMessage(); !errors.Is(err, mage.ErrNoMessage) {
		t.Fatalf("a rejected message arrived: %v", err)
	}
}

func TestMovedEndIsUnusable(t *testing.T) {
	n := mage.NewNode(mage.NodeOptions{})
	defer n.Close()
	a, b := n.CreatePipe()
	c, d := n.CreatePipe()
	write(t, a, &mage.Message{Pipes: []mage.MessagePipe{c}})
	if err := c.WriteMessage(text("x")); !errors.Is(err, mage.ErrPipeMoved) {
		t.Fatalf("write on a moved end: %v, want ErrPipeMoved", err)
	}
	got := expectText(t, b, "")
	write(t, d, text("via the moved end"))
	expectText(t, got.Pipes[0], "via the moved end")
}

func TestHandlesTravel(t *testing.T) {
	forEachHarness(t, func(t *testing.T, start harness) {
		parent := mage.NewNode(mage.NodeOptions{})
		defer parent.Close()
		a, b := parent.CreatePipe()
		pr := start(t, parent, "echo", b)
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		write(t, a, &mage.Message{Payload: []byte("fd"), Handles: []*os.File{w}})
		back := expectText(t, a, "fd")
		if len(back.Handles) != 1 {
			t.Fatalf("got %d handles back, want 1", len(back.Handles))
		}
		if _, err := back.Handles[0].WriteString("through the handle"); err != nil {
			t.Fatal(err)
		}
		back.Handles[0].Close()
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "through the handle" {
			t.Fatalf("read %q through the travelled handle", got)
		}
		finish(t, parent, pr, a)
	})
}
