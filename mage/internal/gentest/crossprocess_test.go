package gentest_test

import (
	"errors"
	"io"
	"os"
	"sync"
	"testing"

	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
	"github.com/mage-ipc/mage/mage/internal/gentest/everything"
	"github.com/mage-ipc/mage/mage/internal/gentest/seed"
)

// TestCrossProcessCarrier calls a Carrier served by a child process with
// every kind of attachment: files carrying real descriptors, pipes there
// and back, and typed pipes in both directions.
func TestCrossProcessCarrier(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	ch := startChild(t, mage.DefaultNode(), "carrier", b)
	remote := everything.NewCarrierRemote(a)

	// A file: the child writes into the write end of our os.Pipe and sends
	// back a file of its own.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	extraR, extraW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer extraR.Close()
	back, count, err := remote.Files(ctx, w, []*os.File{extraW}, "written by the child")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); err != nil || string(got) != "written by the child" || count != 2 {
		t.Errorf("read %q, %v; count %d", got, err, count)
	}
	// The child closed its copy of extraW; ours went with the message.
	if got, err := io.ReadAll(extraR); err != nil || len(got) != 0 {
		t.Errorf("extra file: read %q, %v", got, err)
	}
	if got, err := io.ReadAll(back); err != nil || len(got) != 1 || got[0] != 2 {
		t.Errorf("file from the child held %v, %v", got, err)
	}
	_ = back.Close()

	// A raw pipe goes to the child and comes back still entangled.
	x, y := mage.CreatePipe()
	defer y.Close()
	returned, err := remote.PassPipe(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	if err := y.WriteMessage(&mage.Message{Payload: []byte("after two moves")}); err != nil {
		t.Fatal(err)
	}
	if m := readOne(t, ctx, returned); string(m.Payload) != "after two moves" {
		t.Errorf("read %q", m.Payload)
	}
	_ = returned.Close()

	// pending_receiver<Scalars>: the child serves, we call.
	sRemote, sReceiver := everything.NewScalarsPipe()
	if err := remote.Serve(sReceiver); err != nil {
		t.Fatal(err)
	}
	s := sRemote.Bind()
	if _, i, l, _, _, err := s.Echo(ctx, true, 41, 1<<40, 0.5, 'z'); err != nil || i != 41 || l != 1<<40 {
		t.Fatalf("Echo in the child = %d, %d, %v", i, l, err)
	}
	_ = s.Close()

	// pending_remote<Observer>: the child calls us back.
	obs := newObserver()
	oRemote, oReceiver := everything.NewObserverPipe()
	oRcv := oReceiver.Bind(obs)
	defer oRcv.Close()
	if err := remote.Observe(oRemote); err != nil {
		t.Fatal(err)
	}
	if ev := <-obs.seen; ev != "observed" {
		t.Errorf("event %q", ev)
	}

	// pending_remote<Scalars> as a result, and arrays of typed pipes.
	made, err := remote.MakeScalars(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s2 := made.Bind()
	if err := s2.Nothing(ctx); err != nil {
		t.Fatal(err)
	}
	_ = s2.Close()
	var observers []everything.ObserverPendingRemote
	var rcvs []*bindings.Receiver
	for i := 0; i < 2; i++ {
		r, rv := everything.NewObserverPipe()
		observers = append(observers, r)
		rcvs = append(rcvs, rv.Bind(obs))
	}
	nObs, nPipes, had, err := remote.Mixed(ctx, observers, nil, nil)
	if err != nil || nObs != 2 || nPipes != 0 || had {
		t.Fatalf("Mixed = %d, %d, %v, %v", nObs, nPipes, had, err)
	}
	for i := 0; i < 2; i++ {
		if ev := <-obs.seen; ev != "mixed" {
			t.Errorf("event %q", ev)
		}
	}
	for _, rv := range rcvs {
		_ = rv.Close()
	}

	// Nested arrays of files and pipes, the files carried as real
	// descriptors both ways.
	checkNested(t, ctx, remote)

	// Letting go of the Carrier ends the child cleanly.
	_ = remote.Close()
	if err := ch.wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
}

// TestCrossProcessSeed runs the seed README's interfaces verbatim between
// a parent and a child.
func TestCrossProcessSeed(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	parent := &parentImpl{nav: make(chan string, 4), files: make(chan string, 1), children: make(chan mage.MessagePipe, 1)}
	rcv := seed.BindParentProcess(a, parent)
	defer rcv.Close()
	ch := startChild(t, mage.DefaultNode(), "seed-child", b)

	if got := <-parent.nav; got != "https://example.com/from-child 5" {
		t.Errorf("NavigateToURL: %q", got)
	}
	if got := <-parent.files; got != "notes.txt true" {
		t.Errorf("OpenFile: %q", got)
	}
	var childPipe mage.MessagePipe
	select {
	case childPipe = <-parent.children:
	case <-ctx.Done():
		t.Fatal("no BindChildProcessRemote")
	}
	net := seed.NewNetworkProcessRemote(childPipe)
	if err := net.FetchURL("https://google.com"); err != nil {
		t.Fatal(err)
	}
	if got := <-parent.nav; got != "fetched https://google.com 0" {
		t.Errorf("the child's report: %q", got)
	}
	_ = net.Close()
	if err := ch.wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
}

// TestCrossProcessDeath: a call waiting on a child that dies fails with
// ErrDisconnected, and the disconnect handler says so.
func TestCrossProcessDeath(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	ch := startChild(t, mage.DefaultNode(), "scalars-hang", b)
	remote := everything.NewScalarsRemote(a)
	defer remote.Close()
	gone := make(chan error, 1)
	remote.SetDisconnectHandler(func(err error) { gone <- err })
	// The child is serving once a call with a reply completes.
	if _, _, _, _, _, err := remote.Echo(ctx, true, 1, 2, 3, 4); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- remote.Nothing(ctx) }()
	// Nothing blocks in the child. One-way calls still return at once,
	// however many queue up behind it.
	sendMany(t, ctx, remote, 20000)
	// Kill the child mid-call.
	_ = ch.cmd.Process.Kill()
	err := <-errc
	if !errors.Is(err, bindings.ErrDisconnected) || !errors.Is(err, mage.ErrPeerClosed) {
		t.Fatalf("Nothing = %v, want ErrDisconnected from a lost peer", err)
	}
	var pce *mage.PeerClosedError
	if !errors.As(err, &pce) || !pce.NodeLost {
		t.Errorf("cause %v does not say the node was lost", err)
	}
	if herr := <-gone; !errors.Is(herr, bindings.ErrDisconnected) {
		t.Errorf("disconnect handler got %v", herr)
	}
}

// TestCrossProcessBadMessage: a child that sends garbage is reported to the
// node's bad-message hook, with its node's name, and the implementation is
// never called.
func TestCrossProcessBadMessage(t *testing.T) {
	var mu sync.Mutex
	var from mage.NodeName
	var hookErr error
	reports := 0
	node := mage.NewNode(mage.NodeOptions{OnBadMessage: func(n mage.NodeName, err error) {
		mu.Lock()
		defer mu.Unlock()
		from, hookErr = n, err
		reports++
	}})
	defer node.Close()
	a, b := node.CreatePipe()
	impl := newScalars()
	rcv := everything.BindScalars(a, impl)
	defer rcv.Close()
	ch := startChild(t, node, "bad-sender", b)
	<-rcv.Done()
	if err := rcv.Err(); !errors.Is(err, bindings.ErrBadMessage) {
		t.Fatalf("receiver stopped with %v", err)
	}
	if impl.calls.Load() != 0 {
		t.Fatal("the implementation was called")
	}
	mu.Lock()
	if from != ch.conn.Peer() || !errors.Is(hookErr, bindings.ErrBadMessage) || reports != 1 {
		t.Errorf("hook called %d times, last with %v from %v; want once from the child %v", reports, hookErr, from, ch.conn.Peer())
	}
	mu.Unlock()
	if err := ch.wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
}
