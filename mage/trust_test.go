package mage_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/internal/channel"
	"github.com/mage-ipc/mage/mage/internal/hostile"
	"github.com/mage-ipc/mage/mage/internal/ports"
	"github.com/mage-ipc/mage/mage/internal/wire"
)

// rawConnect starts n.Connect, attaching a pipe as "p", against a raw peer
// on the other end of a socketpair. It returns the peer, the pipe end n
// keeps, the reports OnBadMessage received and Connect's result.
func rawConnect(t *testing.T, n *mage.Node) (*hostile.Peer, mage.MessagePipe, <-chan error, <-chan connectResult) {
	t.Helper()
	ca, cb, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	peer := hostile.NewPeer(cb)
	t.Cleanup(func() { peer.Close() })
	keep, give := n.CreatePipe()
	bad := make(chan error, 16)
	done := make(chan connectResult, 1)
	go func() {
		c, err := n.Connect(testContext(t), ca, mage.ConnectOptions{
			Attach:       map[string]mage.MessagePipe{"p": give},
			OnBadMessage: func(err error) { bad <- err },
		})
		done <- connectResult{c, err}
	}()
	return peer, keep, bad, done
}

// adoptedRawPeer connects n to a raw peer that adopts n's attachment "p"
// as an honest node does (until then n holds what the peer sends to keep:
// it has no right to address keep yet). It returns the peer, n's end, the
// reports OnBadMessage received and the port the peer adopted.
func adoptedRawPeer(t *testing.T, n *mage.Node) (*hostile.Peer, mage.MessagePipe, <-chan error, wire.PortDescriptor) {
	t.Helper()
	peer, keep, bad, done := rawConnect(t, n)
	port, _ := handshake(t, peer, done)
	if err := peer.Accepted([]wire.Attachment{{Name: "p", Port: port}}); err != nil {
		t.Fatal(err)
	}
	return peer, keep, bad, port
}

type connectResult struct {
	c   *mage.Connection
	err error
}

// handshake does the raw peer's side of a well-behaved handshake and
// returns the node's attachment "p".
func handshake(t *testing.T, peer *hostile.Peer, done <-chan connectResult) (wire.PortDescriptor, *mage.Connection) {
	t.Helper()
	_, atts, err := peer.Handshake(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 1 || atts[0].Name != "p" {
		t.Fatalf("attachments %v, want p", atts)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("connect: %v", r.err)
	}
	return atts[0].Port, r.c
}

func expectReport(t *testing.T, bad <-chan error, want error) {
	t.Helper()
	select {
	case err := <-bad:
		if !errors.Is(err, want) {
			t.Fatalf("reported %v, want an error matching %v", err, want)
		}
	case <-testContext(t).Done():
		t.Fatalf("no report, want one matching %v", want)
	}
}

// TestVersionFromAnotherVersionsHello: a peer whose very first frame is a
// Hello of another version, in its header and its body, gets this node's
// Hello (of this version) and this side fails with a *VersionError naming
// both; it is a refusal, not a bad message. The previous version is the
// real one: version 2's Hello has the layout of version 3's, so this is
// exactly what a v2 node sends.
func TestVersionFromAnotherVersionsHello(t *testing.T) {
	for _, other := range []uint16{mage.ProtocolVersion - 1, mage.ProtocolVersion + 1} {
		t.Run("version "+strconv.Itoa(int(other)), func(t *testing.T) { testVersionFromHello(t, other) })
	}
}

func testVersionFromHello(t *testing.T, other uint16) {
	n := mage.NewNode(mage.NodeOptions{})
	defer n.Close()
	peer, _, bad, done := rawConnect(t, n)
	if err := peer.Write(peer.Hello(other, nil)); err != nil {
		t.Fatal(err)
	}
	f, err := peer.ReadUntil(wire.TypeHello)
	if err != nil {
		t.Fatal(err)
	}
	if f.Hello.Version != mage.ProtocolVersion {
		t.Fatalf("the node's Hello says version %d, want %d", f.Hello.Version, mage.ProtocolVersion)
	}
	r := <-done
	var ve *mage.VersionError
	if !errors.As(r.err, &ve) || ve.Local != mage.ProtocolVersion || ve.Remote != other || !errors.Is(r.err, mage.ErrHandshake) {
		t.Fatalf("connect: %v, want a *VersionError of %d and %d", r.err, mage.ProtocolVersion, other)
	}
	select {
	case err := <-bad:
		t.Fatalf("a version mismatch was reported as a bad message: %v", err)
	default:
	}
}

// TestOtherVersionAfterHandshake: past the Hello, a frame of another
// version is a bad frame, charged to the peer.
func TestOtherVersionAfterHandshake(t *testing.T) {
	n := mage.NewNode(mage.NodeOptions{})
	defer n.Close()
	peer, _, bad, done := rawConnect(t, n)
	handshake(t, peer, done)
	b := wire.AppendCountersRequest(nil, &wire.CountersRequest{ID: 1})
	b[2] = mage.ProtocolVersion + 1
	if err := peer.Write(b); err != nil {
		t.Fatal(err)
	}
	expectReport(t, bad, wire.ErrUnsupportedVersion)
}

// TestHandshakeCompletedThenClosed: a peer that completes the handshake and
// closes at once, its last frame and its end arriving together, is a
// completed handshake every time: Connect succeeds and the connection then
// ends.
func TestHandshakeCompletedThenClosed(t *testing.T) {
	n := mage.NewNode(mage.NodeOptions{})
	defer n.Close()
	// Connect looks only once the end has arrived too, so both the
	// completed step and the end are there when it does.
	mage.DelayAttachWaitForTest(n, func(dead <-chan struct{}) { <-dead })
	for i := 0; i < 100; i++ {
		ca, cb, err := sockets.ConnPair()
		if err != nil {
			t.Fatal(err)
		}
		peer := hostile.NewPeer(cb)
		done := make(chan connectResult, 1)
		go func() {
			c, err := n.Connect(testContext(t), ca, mage.ConnectOptions{})
			done <- connectResult{c, err}
		}()
		if err := peer.Write(peer.Hello(wire.Version, nil)); err != nil {
			t.Fatal(err)
		}
		if _, err := peer.ReadUntil(wire.TypeAttach); err != nil {
			t.Fatal(err)
		}
		// The last frame and the end in one go.
		if err := peer.Write(hostile.EmptyAttach()); err != nil {
			t.Fatal(err)
		}
		peer.Close()
		r := <-done
		if r.err != nil {
			t.Fatalf("round %d: a completed handshake reported as failed: %v", i, r.err)
		}
		<-r.c.Done()
		if r.c.Err() == nil {
			t.Fatalf("round %d: ended connection without a reason", i)
		}
	}
}

// TestFirstWriteViolationCharged: a bad frame in the same write as the
// handshake is reported to the connection's OnBadMessage and to the node's
// handlers, naming the peer.
func TestFirstWriteViolationCharged(t *testing.T) {
	from := make(chan mage.NodeName, 1)
	n := mage.NewNode(mage.NodeOptions{OnBadMessage: func(node mage.NodeName, err error) { from <- node }})
	defer n.Close()
	peer, _, bad, done := rawConnect(t, n)
	b := peer.Hello(wire.Version, nil)
	b = append(b, hostile.EmptyAttach()...)
	b = append(b, hostile.BadMagic()...)
	if err := peer.Write(b); err != nil {
		t.Fatal(err)
	}
	expectReport(t, bad, wire.ErrBadMagic)
	if got := <-from; got != mage.NodeName(peer.Node) {
		t.Fatalf("charged to %s, want the peer %s", got, mage.NodeName(peer.Node))
	}
	<-done
}

// TestHandshakeFrameLimit: before its Hello, a peer may not declare a frame
// over MaxHandshakeFrame; after it, the same frame is fine.
func TestHandshakeFrameLimit(t *testing.T) {
	big := wire.AppendUser(nil, &wire.User{Target: wire.PortName(hostile.RandomName()), Sender: wire.PortName(hostile.RandomName()), Seq: 1, Payload: make([]byte, 8<<10)})
	t.Run("before", func(t *testing.T) {
		n := mage.NewNode(mage.NodeOptions{})
		defer n.Close()
		peer, _, bad, done := rawConnect(t, n)
		if err := peer.Write(big[:wire.HeaderSize]); err != nil {
			t.Fatal(err)
		}
		expectReport(t, bad, wire.ErrTooLarge)
		if r := <-done; r.err == nil {
			t.Fatal("connect succeeded")
		}
	})
	t.Run("after", func(t *testing.T) {
		n := mage.NewNode(mage.NodeOptions{})
		defer n.Close()
		peer, _, bad, done := rawConnect(t, n)
		handshake(t, peer, done)
		// To a port that does not exist: dropped, not an error. The
		// counters answer shows the connection is still up.
		if err := peer.Write(append(big, wire.AppendCountersRequest(nil, &wire.CountersRequest{ID: 7})...)); err != nil {
			t.Fatal(err)
		}
		if f, err := peer.ReadUntil(wire.TypeCounters); err != nil || f.Counters.ID != 7 {
			t.Fatalf("counters answer %v, %v", f, err)
		}
		select {
		case err := <-bad:
			t.Fatalf("reported %v", err)
		default:
		}
	})
}

// TestHandshakeTimeout: against a peer that never says anything, Connect
// with a context without deadline fails after Limits.HandshakeTimeout.
func TestHandshakeTimeout(t *testing.T) {
	n := mage.NewNode(mage.NodeOptions{Limits: mage.Limits{HandshakeTimeout: 100 * time.Millisecond}})
	defer n.Close()
	ca, cb, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	_, err = n.Connect(context.Background(), ca, mage.ConnectOptions{})
	if !errors.Is(err, mage.ErrHandshake) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("connect: %v, want ErrHandshake and DeadlineExceeded", err)
	}
}

// TestFrameTimeoutReported: a frame begun and not finished cuts the
// connection and is reported.
func TestFrameTimeoutReported(t *testing.T) {
	n := mage.NewNode(mage.NodeOptions{Limits: mage.Limits{FrameTimeout: 100 * time.Millisecond}})
	defer n.Close()
	peer, keep, bad, done := rawConnect(t, n)
	handshake(t, peer, done)
	if err := peer.Write(wire.AppendCountersRequest(nil, &wire.CountersRequest{ID: 1})[:10]); err != nil {
		t.Fatal(err)
	}
	expectReport(t, bad, channel.ErrFrameTimeout)
	var pce *mage.PeerClosedError
	if _, err := next(testContext(t), keep); !errors.As(err, &pce) || !pce.NodeLost {
		t.Fatalf("after the cut: %v, want the node lost", err)
	}
}

// TestMissingHandlesReported: a frame that declares descriptors that did
// not come is reported, not only cut.
func TestMissingHandlesReported(t *testing.T) {
	n := mage.NewNode(mage.NodeOptions{})
	defer n.Close()
	peer, _, bad, done := rawConnect(t, n)
	port, _ := handshake(t, peer, done)
	u := wire.AppendUser(nil, &wire.User{Target: port.PeerPort, Sender: port.Name, Seq: port.NextSendSeq, NumHandles: 1})
	if err := peer.Write(u); err != nil {
		t.Fatal(err)
	}
	expectReport(t, bad, channel.ErrMissingHandles)
}

// TestReportBadMessageReachesConnection: an application's ReportBadMessage
// on a message from a peer reaches that connection's OnBadMessage.
func TestReportBadMessageReachesConnection(t *testing.T) {
	n := mage.NewNode(mage.NodeOptions{})
	defer n.Close()
	peer, keep, bad, port := adoptedRawPeer(t, n)
	u := wire.AppendUser(nil, &wire.User{Target: port.PeerPort, Sender: port.Name, Seq: port.NextSendSeq, Payload: []byte("nonsense")})
	if err := peer.Write(u); err != nil {
		t.Fatal(err)
	}
	m, err := next(testContext(t), keep)
	if err != nil {
		t.Fatal(err)
	}
	appErr := errors.New("test: field out of range")
	keep.ReportBadMessage(m, appErr)
	expectReport(t, bad, appErr)
}

// TestWriteMessageBackedUp: toward a peer that does not read, WriteMessage
// fails with ErrPeerBackedUp once MaxQueuedBytes are queued, and then
// consumes nothing: the handle it was given stays open and the caller's.
//
// The node's writer may still be moving queued bytes into the socket when
// a write is refused (the queue drains until the socket is full), so a
// later write may be accepted again; but the peer reads nothing, so the
// node can accept no more than its socket buffer and the limit hold.
func TestWriteMessageBackedUp(t *testing.T) {
	const limit = 256 << 10
	n := mage.NewNode(mage.NodeOptions{Limits: mage.Limits{MaxQueuedBytes: limit}})
	defer n.Close()
	peer, keep, _, done := rawConnect(t, n)
	port, c := handshake(t, peer, done)
	defer c.Close()
	// Behave until keep sends here directly: adopt the port, and wait for
	// the proxy the node left behind to go.
	if err := peer.Accepted([]wire.Attachment{{Name: "p", Port: port}}); err != nil {
		t.Fatal(err)
	}
	if _, err := peer.ReadUntil(wire.TypePeerMoved); err != nil {
		t.Fatal(err)
	}
	// More than any socket buffer the node asks for (1 MiB, which Linux
	// doubles) and the limit together.
	const mostAccepted = 8<<20 + limit
	payload := make([]byte, 16<<10)
	accepted := 0
	write := func(m *mage.Message) error {
		err := keep.WriteMessage(m)
		if err == nil {
			accepted += len(payload)
			if accepted > mostAccepted {
				t.Fatalf("%d bytes accepted toward a peer that reads nothing, limit %d", accepted, limit)
			}
		}
		return err
	}
	var err error
	for err == nil {
		err = write(&mage.Message{Payload: payload})
	}
	if !errors.Is(err, mage.ErrPeerBackedUp) {
		t.Fatalf("write: %v, want ErrPeerBackedUp", err)
	}
	for {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		err = write(&mage.Message{Payload: payload, Handles: []*os.File{w}})
		if err == nil {
			// Accepted while the queue drained: w is the node's now.
			_ = r.Close()
			continue
		}
		if !errors.Is(err, mage.ErrPeerBackedUp) {
			t.Fatalf("write: %v, want ErrPeerBackedUp", err)
		}
		_, werr := w.Write([]byte("x"))
		_ = r.Close()
		_ = w.Close()
		if werr != nil {
			t.Fatalf("the refused message's handle was consumed: %v", werr)
		}
		return
	}
}

// TestRefusedEventInABatch: the user frames that arrive in one read are
// accepted together, under one hold of the node's lock. One the ports
// layer refuses is a bad message charged to the peer, as it would be
// alone: the messages before it are delivered, those after it are not,
// and nothing after it takes effect.
func TestRefusedEventInABatch(t *testing.T) {
	n := mage.NewNode(mage.NodeOptions{})
	defer n.Close()
	peer, keep, bad, port := adoptedRawPeer(t, n)
	user := func(seq uint64, payload string) []byte {
		return wire.AppendUser(nil, &wire.User{Target: port.PeerPort, Sender: port.Name, Seq: seq, Payload: []byte(payload)})
	}
	var b []byte
	for i := range 3 {
		b = append(b, user(port.NextSendSeq+uint64(i), "before "+strconv.Itoa(i))...)
	}
	b = append(b, user(port.NextSendSeq+1<<40, "beyond the reordering window")...)
	b = append(b, user(port.NextSendSeq+3, "after")...)
	if err := peer.Write(b); err != nil {
		t.Fatal(err)
	}
	expectReport(t, bad, ports.ErrOutsideWindow)
	ctx := testContext(t)
	for i := range 3 {
		m, err := next(ctx, keep)
		if err != nil || string(m.Payload) != "before "+strconv.Itoa(i) {
			t.Fatalf("message %d: %v, %v; want %q", i, m, err, "before "+strconv.Itoa(i))
		}
	}
	if m, err := next(ctx, keep); err == nil {
		t.Fatalf("read %q after the refused message, want the peer lost", m.Payload)
	}
}
