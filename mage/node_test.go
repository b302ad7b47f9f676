package mage_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/mage-ipc/mage/mage"
)

func text(s string) *mage.Message { return &mage.Message{Payload: []byte(s)} }

// expectText reads the next message of p and checks its payload.
func expectText(t *testing.T, p mage.MessagePipe, want string) *mage.Message {
	t.Helper()
	m, err := next(testContext(t), p)
	if err != nil {
		t.Fatalf("reading %q: %v", want, err)
	}
	if got := string(m.Payload); got != want {
		t.Fatalf("read %q, want %q", got, want)
	}
	return m
}

func write(t *testing.T, p mage.MessagePipe, m *mage.Message) {
	t.Helper()
	if err := p.WriteMessage(m); err != nil {
		t.Fatalf("write %q: %v", m.Payload, err)
	}
}

// finish closes the parent's end, waits for the peer to end and its
// connection to go, and checks the parent node holds no port any more.
func finish(t *testing.T, parent *mage.Node, pr *peer, ends ...mage.MessagePipe) {
	t.Helper()
	for _, e := range ends {
		_ = e.Close()
	}
	if err := pr.wait(); err != nil {
		t.Fatalf("peer: %v", err)
	}
	select {
	case <-pr.conn.Done():
	case <-testContext(t).Done():
		t.Fatal("connection did not end after the peer finished")
	}
	if n := parent.PortCount(); n != 0 {
		t.Fatalf("parent node leaked %d ports", n)
	}
}

// floodAndCheck writes 100,000 numbered messages to w from eight goroutines
// and checks that r reads them all, each sender's in its order.
func floodAndCheck(t *testing.T, w, r mage.MessagePipe) {
	t.Helper()
	const senders, perSender = 8, 100_000 / 8
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSender {
				payload := make([]byte, 5)
				payload[0] = byte(s)
				binary.LittleEndian.PutUint32(payload[1:], uint32(i))
				if err := w.WriteMessage(&mage.Message{Payload: payload}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	defer wg.Wait()
	nextSeq := make([]uint32, senders)
	ctx := testContext(t)
	for range senders * perSender {
		m, err := next(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		s, i := m.Payload[0], binary.LittleEndian.Uint32(m.Payload[1:])
		if i != nextSeq[s] {
			t.Fatalf("sender %d: got message %d, want %d", s, i, nextSeq[s])
		}
		nextSeq[s]++
	}
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

func TestFIFOUnderLoadAcrossNodes(t *testing.T) {
	forEachHarness(t, func(t *testing.T, start harness) {
		parent := mage.NewNode(mage.NodeOptions{})
		defer parent.Close()
		a, b := parent.CreatePipe()
		pr := start(t, parent, "echo", b)
		floodAndCheck(t, a, a)
		finish(t, parent, pr, a)
	})
}

func TestQueuedBeforePeerExists(t *testing.T) {
	forEachHarness(t, func(t *testing.T, start harness) {
		parent := mage.NewNode(mage.NodeOptions{})
		defer parent.Close()
		a, b := parent.CreatePipe()
		for i := range 100 {
			write(t, a, text(fmt.Sprint("early ", i)))
		}
		pr := start(t, parent, "echo", b)
		for i := range 100 {
			write(t, a, text(fmt.Sprint("late ", i)))
		}
		for i := range 100 {
			expectText(t, a, fmt.Sprint("early ", i))
		}
		for i := range 100 {
			expectText(t, a, fmt.Sprint("late ", i))
		}
		finish(t, parent, pr, a)
	})
}

// TestNestedQueuedPipesMove sends a pipe end whose queued messages carry a
// pipe end whose queued messages carry a third, to the peer and back.
func TestNestedQueuedPipesMove(t *testing.T) {
	forEachHarness(t, func(t *testing.T, start harness) {
		parent := mage.NewNode(mage.NodeOptions{})
		defer parent.Close()
		a, b := parent.CreatePipe()
		pr := start(t, parent, "echo", b)

		x0, x1 := parent.CreatePipe()
		y0, y1 := parent.CreatePipe()
		z0, z1 := parent.CreatePipe()
		for _, s := range []string{"z1", "z2", "z3"} {
			write(t, z0, text(s))
		}
		write(t, y0, text("y1"))
		write(t, y0, &mage.Message{Payload: []byte("y2"), Pipes: []mage.MessagePipe{z1}})
		write(t, y0, text("y3"))
		write(t, x0, text("x1"))
		write(t, x0, &mage.Message{Payload: []byte("x2"), Pipes: []mage.MessagePipe{y1}})
		write(t, x0, text("x3"))

		write(t, a, &mage.Message{Payload: []byte("carry"), Pipes: []mage.MessagePipe{x1}})
		// Messages written while the end travels follow it.
		write(t, x0, text("x4"))
		write(t, z0, text("z4"))

		back := expectText(t, a, "carry")
		if len(back.Pipes) != 1 {
			t.Fatalf("echo carried %d pipes, want 1", len(back.Pipes))
		}
		x := back.Pipes[0]
		expectText(t, x, "x1")
		y := expectText(t, x, "x2").Pipes[0]
		expectText(t, x, "x3")
		expectText(t, x, "x4")
		expectText(t, y, "y1")
		z := expectText(t, y, "y2").Pipes[0]
		expectText(t, y, "y3")
		for _, s := range []string{"z1", "z2", "z3", "z4"} {
			expectText(t, z, s)
		}
		// The moved ends still talk back to the ends that stayed.
		write(t, z, text("reply"))
		expectText(t, z0, "reply")
		finish(t, parent, pr, a, x, y, z, x0, y0, z0)
	})
}

func TestPipeBouncedTenTimes(t *testing.T) {
	forEachHarness(t, func(t *testing.T, start harness) {
		parent := mage.NewNode(mage.NodeOptions{})
		defer parent.Close()
		a, b := parent.CreatePipe()
		pr := start(t, parent, "echo", b)

		q0, q := parent.CreatePipe()
		sent := 0
		for range 10 {
			write(t, q0, text(fmt.Sprint(sent)))
			sent++
			write(t, a, &mage.Message{Payload: []byte("bounce"), Pipes: []mage.MessagePipe{q}})
			write(t, q0, text(fmt.Sprint(sent)))
			sent++
			q = expectText(t, a, "bounce").Pipes[0]
		}
		for i := range sent {
			expectText(t, q, fmt.Sprint(i))
		}
		write(t, q, text("back"))
		expectText(t, q0, "back")
		// The route collapsed: the parent holds a, q0 and q, no proxy.
		if err := mage.WaitPortCount(testContext(t), parent, 3); err != nil {
			t.Fatalf("after ten bounces: %v", err)
		}
		if err := q0.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := next(testContext(t), q); !errors.Is(err, mage.ErrPeerClosed) {
			t.Fatalf("after closing the other end: %v, want ErrPeerClosed", err)
		}
		finish(t, parent, pr, a, q)
	})
}

func TestPeerClosesAfterMessages(t *testing.T) {
	forEachHarness(t, func(t *testing.T, start harness) {
		parent := mage.NewNode(mage.NodeOptions{})
		defer parent.Close()
		a, b := parent.CreatePipe()
		pr := start(t, parent, "send-close", b)
		for i := range 1000 {
			expectText(t, a, fmt.Sprint(i))
		}
		_, err := next(testContext(t), a)
		var pce *mage.PeerClosedError
		if !errors.As(err, &pce) {
			t.Fatalf("after the last message: %v, want a PeerClosedError", err)
		}
		if pce.NodeLost {
			t.Fatalf("orderly close reported as a node loss: %v", err)
		}
		finish(t, parent, pr, a)
	})
}

func TestPeerProcessKilled(t *testing.T) {
	parent := mage.NewNode(mage.NodeOptions{})
	defer parent.Close()
	a, b := parent.CreatePipe()
	pr := childProcessPeer(t, parent, "hang", b)
	expectText(t, a, "up")
	pr.kill()
	_, err := next(testContext(t), a)
	var pce *mage.PeerClosedError
	if !errors.As(err, &pce) || !pce.NodeLost {
		t.Fatalf("after SIGKILL: %v, want a PeerClosedError with NodeLost", err)
	}
	if pce.Node != pr.conn.Peer() {
		t.Fatalf("lost node %s, want %s", pce.Node, pr.conn.Peer())
	}
	if err := a.WriteMessage(text("into the void")); !errors.Is(err, mage.ErrPeerClosed) {
		t.Fatalf("write after the peer died: %v, want ErrPeerClosed", err)
	}
	if err := pr.wait(); err == nil {
		t.Fatal("killed child exited cleanly")
	}
	<-pr.conn.Done()
	_ = a.Close()
	if n := parent.PortCount(); n != 0 {
		t.Fatalf("parent node leaked %d ports", n)
	}
}

// TestFIFOLargeAndSmallAcrossNodes: concurrent senders mixing large
// payloads (written uncopied, read straight into their own buffers) with
// small ones keep each sender's order through the peer and back, every
// payload intact. Frames are queued under the node's lock and written after
// it by whichever goroutine comes first, so this also checks that those
// writes keep the order of the queue.
func TestFIFOLargeAndSmallAcrossNodes(t *testing.T) {
	forEachHarness(t, func(t *testing.T, start harness) {
		parent := mage.NewNode(mage.NodeOptions{})
		defer parent.Close()
		a, b := parent.CreatePipe()
		pr := start(t, parent, "echo", b)
		const senders, perSender = 4, 200
		size := func(i int) int {
			if i%4 == 0 {
				return 100<<10 + i
			}
			return 5 + i%200
		}
		fill := func(p []byte, s, i int) {
			p[0] = byte(s)
			binary.LittleEndian.PutUint32(p[1:], uint32(i))
			for k := 5; k < len(p); k++ {
				p[k] = byte(k*31 + i + s)
			}
		}
		var wg sync.WaitGroup
		errs := make(chan error, senders)
		for s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perSender {
					p := make([]byte, size(i))
					fill(p, s, i)
					if err := a.WriteMessage(&mage.Message{Payload: p}); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		nextSeq := make([]int, senders)
		ctx := testContext(t)
		for range senders * perSender {
			m, err := next(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			s, i := int(m.Payload[0]), int(binary.LittleEndian.Uint32(m.Payload[1:]))
			if s >= senders || i != nextSeq[s] {
				t.Fatalf("sender %d: got message %d, want %d", s, i, nextSeq[s])
			}
			want := make([]byte, size(i))
			fill(want, s, i)
			if !bytes.Equal(m.Payload, want) {
				t.Fatalf("sender %d message %d: %d bytes differ from the %d sent", s, i, len(m.Payload), len(want))
			}
			nextSeq[s]++
		}
		wg.Wait()
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
		}
		finish(t, parent, pr, a)
	})
}
