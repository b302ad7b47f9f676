package mage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage"
)

func init() {
	roles["watch"] = watchEnd
	roles["hold"] = holdEnd
}

// watchEnd takes the pipe end that arrives on p, says "got", and waits for
// that end's peer to go; then it says how: "lost" or "closed".
func watchEnd(ctx context.Context, p mage.MessagePipe) error {
	m, err := next(ctx, p)
	if err != nil {
		return err
	}
	if len(m.Pipes) != 1 {
		return fmt.Errorf("watch: got %d pipes, want 1", len(m.Pipes))
	}
	e := m.Pipes[0]
	if err := p.WriteMessage(&mage.Message{Payload: []byte("got")}); err != nil {
		return err
	}
	for {
		_, err := next(ctx, e)
		var pce *mage.PeerClosedError
		switch {
		case errors.As(err, &pce) && pce.NodeLost:
			return p.WriteMessage(&mage.Message{Payload: []byte("lost")})
		case errors.Is(err, mage.ErrPeerClosed):
			return p.WriteMessage(&mage.Message{Payload: []byte("closed")})
		case err != nil:
			return err
		}
	}
}

// holdEnd keeps the pipe end that arrives on p, says "held", and waits to
// be killed.
func holdEnd(ctx context.Context, p mage.MessagePipe) error {
	m, err := next(ctx, p)
	if err != nil {
		return err
	}
	if len(m.Pipes) != 1 {
		return fmt.Errorf("hold: got %d pipes, want 1", len(m.Pipes))
	}
	if err := p.WriteMessage(&mage.Message{Payload: []byte("held")}); err != nil {
		return err
	}
	<-ctx.Done()
	return m.Pipes[0].Close()
}

// tree is a root node, the broker, with leaf nodes connected to it, all in
// this process. down[i] is the root's end of a pipe to leaf i, up[i] the
// leaf's end; conns[i] is the root's connection to leaf i.
type tree struct {
	root   *mage.Node
	leaves []*mage.Node
	conns  []*mage.Connection
	down   []mage.MessagePipe
	up     []mage.MessagePipe
}

func newTree(t *testing.T, leaves int) *tree {
	t.Helper()
	tr := &tree{root: mage.NewNode(mage.NodeOptions{})}
	t.Cleanup(func() { tr.root.Close() })
	for range leaves {
		leaf := mage.NewNode(mage.NodeOptions{})
		t.Cleanup(func() { leaf.Close() })
		ca, cb, err := sockets.ConnPair()
		if err != nil {
			t.Fatal(err)
		}
		keep, give := tr.root.CreatePipe()
		type result struct {
			c   *mage.Connection
			err error
		}
		done := make(chan result, 1)
		go func() {
			c, err := leaf.Connect(testContext(t), cb, mage.ConnectOptions{AsBroker: true})
			done <- result{c, err}
		}()
		c, err := tr.root.Connect(testContext(t), ca, mage.ConnectOptions{Attach: map[string]mage.MessagePipe{"p": give}})
		r := <-done
		if err != nil || r.err != nil {
			t.Fatalf("connecting a leaf: root %v, leaf %v", err, r.err)
		}
		up, ok := r.c.Pipe("p")
		if !ok {
			t.Fatal("the leaf got no pipe")
		}
		tr.leaves = append(tr.leaves, leaf)
		tr.conns = append(tr.conns, c)
		tr.down = append(tr.down, keep)
		tr.up = append(tr.up, up)
	}
	return tr
}

// The root makes a pipe and sends its ends to two leaves. The route
// collapses: the root holds no proxy afterwards, and the leaves keep
// talking after the root has cut its connections to both, through the
// connection it introduced them over.
func TestRootPipeBetweenLeavesCollapses(t *testing.T) {
	tr := newTree(t, 2)
	base := len(tr.down) // once the attachments' proxies are gone
	x, y := tr.root.CreatePipe()
	write(t, x, text("queued before y left"))
	write(t, tr.down[0], &mage.Message{Payload: []byte("x"), Pipes: []mage.MessagePipe{x}})
	write(t, tr.down[1], &mage.Message{Payload: []byte("y"), Pipes: []mage.MessagePipe{y}})
	x1 := expectText(t, tr.up[0], "x").Pipes[0]
	y2 := expectText(t, tr.up[1], "y").Pipes[0]
	write(t, x1, text("through the root, or not"))
	expectText(t, y2, "queued before y left")
	expectText(t, y2, "through the root, or not")
	if err := mage.WaitPortCount(testContext(t), tr.root, base); err != nil {
		t.Fatalf("the root kept proxies of the leaves' pipe: %v", err)
	}

	for _, c := range tr.conns {
		_ = c.Close()
	}
	const n = 1000
	for i := range n {
		write(t, x1, text(fmt.Sprint("to y ", i)))
		write(t, y2, text(fmt.Sprint("to x ", i)))
	}
	for i := range n {
		expectText(t, y2, fmt.Sprint("to y ", i))
		expectText(t, x1, fmt.Sprint("to x ", i))
	}
	_ = x1.Close()
	if _, err := next(testContext(t), y2); !errors.Is(err, mage.ErrPeerClosed) {
		t.Fatalf("after x closed: %v, want ErrPeerClosed", err)
	}
	var pce *mage.PeerClosedError
	if _, err := y2.ReadMessage(); !errors.As(err, &pce) || pce.NodeLost {
		t.Fatalf("the root going made the leaves' pipe report a loss: %v", err)
	}
}

// After the collapse, a leaf whose pipe end's peer lives on another leaf
// hears of that leaf's death itself, although neither ever sent the other
// anything: with no proxy left on the root, nothing there would tell it.
func TestCollapsedPipeReportsLostLeaf(t *testing.T) {
	root := mage.NewNode(mage.NodeOptions{})
	defer root.Close()
	toA, a := root.CreatePipe()
	toB, b := root.CreatePipe()
	pa := childProcessPeer(t, root, "watch", a)
	pb := childProcessPeer(t, root, "hold", b)
	const base = 2 // toA and toB, once the attachments' proxies are gone
	x, y := root.CreatePipe()
	write(t, toA, &mage.Message{Payload: []byte("x"), Pipes: []mage.MessagePipe{x}})
	write(t, toB, &mage.Message{Payload: []byte("y"), Pipes: []mage.MessagePipe{y}})
	expectText(t, toA, "got")
	expectText(t, toB, "held")
	if err := mage.WaitPortCount(testContext(t), root, base); err != nil {
		t.Fatalf("the root kept proxies of the leaves' pipe: %v", err)
	}
	pb.kill()
	ctx, cancel := context.WithTimeout(testContext(t), 30*time.Second)
	defer cancel()
	m, err := next(ctx, toA)
	if err != nil {
		t.Fatalf("waiting for the surviving leaf's verdict: %v", err)
	}
	if got := string(m.Payload); got != "lost" {
		t.Fatalf("the surviving leaf says %q, want \"lost\"", got)
	}
	if err := pa.wait(); err != nil {
		t.Fatalf("watching leaf: %v", err)
	}
	_ = pb.wait()
}
