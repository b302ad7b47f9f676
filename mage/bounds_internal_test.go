package mage

import (
	"github.com/mage-ipc/mage/internal/sockets"

	"context"
	"errors"
	"testing"
	"time"

	"github.com/mage-ipc/mage/mage/internal/ports"
	"github.com/mage-ipc/mage/mage/internal/wire"
)

// TestEarlyAnswersBounded: answers asked for before this side's
// attachments went out wait, up to MaxEarlyAnswers; one more cuts the
// connection as a protocol violation.
func TestEarlyAnswersBounded(t *testing.T) {
	n := NewNode(NodeOptions{Limits: Limits{MaxEarlyAnswers: 4}})
	defer n.Close()
	ca, cb, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	l, err := newLink(n, ca, ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	frame := wire.AppendCounters(nil, &wire.Counters{ID: 1})
	n.mu.Lock()
	for i := 0; i < 4; i++ {
		l.sendControlLocked(frame, nil)
	}
	if err := l.err(); err != nil {
		n.unlock()
		t.Fatalf("link failed within the bound: %v", err)
	}
	l.sendControlLocked(frame, nil)
	held := len(l.early)
	n.unlock()
	if err := l.err(); !errors.Is(err, errProtocol) || !isPeerFault(err) {
		t.Fatalf("link error %v, want a protocol violation", err)
	}
	if held != 4 {
		t.Fatalf("%d answers held, want 4", held)
	}
	l.close()
}

// TestLostNodesBounded: a node remembers at most MaxLostNodes lost nodes,
// forgetting the oldest first along with its last counters.
func TestLostNodesBounded(t *testing.T) {
	n := NewNode(NodeOptions{Limits: Limits{MaxLostNodes: 3}})
	defer n.Close()
	names := make([]ports.NodeName, 5)
	n.mu.Lock()
	defer n.unlock()
	n.lastCounters = make(map[ports.NodeName]Counters)
	for i := range names {
		names[i][0] = byte(i + 1)
		n.lastCounters[names[i]] = Counters{Sent: uint64(i)}
		n.rememberLostLocked(names[i], errors.New("gone"))
	}
	if len(n.lost) != 3 || len(n.lostOrder) != 3 {
		t.Fatalf("%d lost nodes remembered (%d in order), want 3", len(n.lost), len(n.lostOrder))
	}
	for i, name := range names {
		_, lost := n.lost[name]
		_, counted := n.lastCounters[name]
		if want := i >= 2; lost != want || counted != want {
			t.Errorf("node %d: remembered %v, counters kept %v, want %v", i, lost, counted, want)
		}
	}
}

// TestWaitedBytesForgottenOnConnect: what waited for a connection counts
// toward MaxQueuedBytes until the connection comes up, and then only as
// the channel's, so bytes that waited once do not refuse writes forever.
func TestWaitedBytesForgottenOnConnect(t *testing.T) {
	const limit = 4096
	a := NewNode(NodeOptions{Limits: Limits{MaxQueuedBytes: limit}})
	defer a.Close()
	b := NewNode(NodeOptions{})
	defer b.Close()
	// As sendLocked counts events that wait for b: the events themselves
	// would be sent when the link comes up, and the channel would count
	// them from then on.
	a.mu.Lock()
	a.waitingBytes[b.name] = limit
	a.unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ca, cb, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs := a.CreatePipe()
	defer mine.Close()
	errs := make(chan error, 1)
	go func() {
		_, err := a.Connect(ctx, ca, ConnectOptions{Attach: map[string]MessagePipe{"p": theirs}})
		errs <- err
	}()
	conn, err := b.Connect(ctx, cb, ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	far, ok := conn.Pipe("p")
	if !ok {
		t.Fatal("no pipe p")
	}
	defer far.Close()
	if err := mine.WriteMessage(&Message{Payload: []byte("after the connection")}); err != nil {
		t.Fatalf("write to a connected peer that reads: %v", err)
	}
	select {
	case <-far.Ready():
	case <-ctx.Done():
		t.Fatal("the message never arrived")
	}
	m, err := far.ReadMessage()
	if err != nil || string(m.Payload) != "after the connection" {
		t.Fatalf("read %v, %v", m, err)
	}
}
