package channel

import (
	"errors"
	"testing"
	"time"

	"github.com/mage-ipc/mage/mage/internal/wire"
)

// TestHandshakeFrameSize: until the limit is lifted, a frame over
// HandshakeFrameSize is refused as soon as its header arrives; after it,
// frames up to MaxFrameSize pass.
func TestHandshakeFrameSize(t *testing.T) {
	ca, cb := socketPair(t)
	defer cb.Close()
	ra := newRecorder()
	start(t, ca, ra, Options{HandshakeFrameSize: 256})
	// Only the header: the reader must not wait for the body.
	if _, err := cb.Write(userFrame(1, 0, make([]byte, 1000), 0)[:wire.HeaderSize]); err != nil {
		t.Fatal(err)
	}
	err := ra.waitError(t)
	if !errors.Is(err, wire.ErrTooLarge) || !errors.Is(err, ErrPeerFault) {
		t.Fatalf("HandleError(%v), want wire.ErrTooLarge and ErrPeerFault", err)
	}
}

// lifter lifts the handshake limit of its channel on the first frame, as
// the node does once the Hello has been checked.
type lifter struct {
	*recorder
	c *Channel
}

func (l *lifter) HandleFrame(f *wire.Frame, fds []int) {
	l.c.LiftHandshakeLimit()
	l.recorder.HandleFrame(f, fds)
}

func TestHandshakeFrameSizeLifted(t *testing.T) {
	ca, cb := socketPair(t)
	r := newRecorder()
	h := &lifter{recorder: r}
	a := New(ca, h, Options{HandshakeFrameSize: 256})
	h.c = a
	a.Start()
	defer a.Close()
	b := start(t, cb, newRecorder(), Options{})
	small := wire.AppendClosure(nil, &wire.Closure{Target: port(1), Sender: port(0x7e)})
	big := userFrame(1, 0, make([]byte, 10000), 0)
	// Both in one send: the limit applies from the frame after the one
	// that lifted it, even within one read.
	if err := b.Send(append(append([]byte(nil), small...), big...), nil); err != nil {
		t.Fatal(err)
	}
	frames := r.waitFrames(t, 2)
	if frames[1].Type != wire.TypeUser || len(frames[1].User.Payload) != 10000 {
		t.Fatalf("second frame %v with %d payload bytes", frames[1].Type, len(frames[1].User.Payload))
	}
}

// TestFrameTimeout: a peer that writes part of a frame and stalls is cut
// with ErrFrameTimeout; a peer that is silent between frames is not.
func TestFrameTimeout(t *testing.T) {
	checkFDLeaks(t)
	const timeout = 100 * time.Millisecond
	ca, cb := socketPair(t)
	defer cb.Close()
	ra := newRecorder()
	start(t, ca, ra, Options{FrameTimeout: timeout})
	frame := wire.AppendClosure(nil, &wire.Closure{Target: port(1), Sender: port(0x7e)})
	// A whole frame and the start of the next, then nothing.
	began := time.Now()
	if _, err := cb.Write(append(append([]byte(nil), frame...), frame[:20]...)); err != nil {
		t.Fatal(err)
	}
	err := ra.waitError(t)
	if !errors.Is(err, ErrFrameTimeout) || !errors.Is(err, ErrPeerFault) {
		t.Fatalf("HandleError(%v), want ErrFrameTimeout", err)
	}
	if waited := time.Since(began); waited < timeout {
		t.Fatalf("cut after %v, before the timeout of %v", waited, timeout)
	}
	if got := len(ra.waitFrames(t, 1)); got != 1 {
		t.Fatalf("%d frames delivered, want the whole one", got)
	}
}

// TestFrameTimeoutIsPerFrame: frames that each arrive in pieces, each
// finished within the timeout, keep the channel up even when the whole
// sequence takes far longer than the timeout; silence between frames too.
func TestFrameTimeoutIsPerFrame(t *testing.T) {
	const timeout = 150 * time.Millisecond
	ca, cb := socketPair(t)
	ra := newRecorder()
	start(t, ca, ra, Options{FrameTimeout: timeout})
	frame := wire.AppendClosure(nil, &wire.Closure{Target: port(1), Sender: port(0x7e)})
	const frames = 6
	// Each frame takes a third of the timeout to finish, so the frames
	// together take longer than one timeout: only a deadline per frame
	// lets them all through. The pauses are the property under test,
	// not synchronisation: delivery is awaited on the recorder.
	for i := 0; i < frames; i++ {
		if _, err := cb.Write(frame[:10]); err != nil {
			t.Fatal(err)
		}
		<-time.After(timeout / 3)
		if _, err := cb.Write(frame[10:]); err != nil {
			t.Fatal(err)
		}
		ra.waitFrames(t, i+1)
		if i == frames/2 {
			// Silence between frames, longer than the timeout.
			<-time.After(2 * timeout)
		}
	}
	cb.Close()
	if err := ra.waitError(t); errors.Is(err, ErrFrameTimeout) {
		t.Fatalf("HandleError(%v): cut although every frame was finished in time", err)
	}
}

// TestMaxQueuedFDsOption: the receive queue's bound is configurable and a
// breach is the peer's fault.
func TestMaxQueuedFDsOption(t *testing.T) {
	checkFDLeaks(t)
	ca, cb := socketPair(t)
	defer cb.Close()
	ra := newRecorder()
	start(t, ca, ra, Options{MaxQueuedFDs: 3})
	pr, pw := newPipe(t)
	fd := dup(t, pw)
	writeRights(t, cb, userFrame(1, 0, nil, 0)[:1], []int{fd, fd, fd, fd})
	closeFDs([]int{fd})
	err := ra.waitError(t)
	if !errors.Is(err, ErrTooManyHandles) || !errors.Is(err, ErrPeerFault) {
		t.Fatalf("HandleError(%v), want ErrTooManyHandles and ErrPeerFault", err)
	}
	pw.Close()
	readEOF(t, pr)
}

// TestMaxPendingFDs: descriptors queued toward a peer that does not read
// are bounded like bytes.
func TestMaxPendingFDs(t *testing.T) {
	checkFDLeaks(t)
	ca, cb := socketPair(t)
	defer cb.Close()
	// Not started, and the socket fills up: the queue only grows.
	c := newChannel(t, ca, newRecorder(), Options{MaxPendingFDs: 4})
	filler := userFrame(1, 0, make([]byte, 8000), 0)
	for c.Buffered() == 0 {
		if err := c.Send(filler, nil); err != nil {
			t.Fatal(err)
		}
	}
	pr, pw := newPipe(t)
	var err error
	sent := 0
	for ; sent < 10 && err == nil; sent++ {
		err = c.Send(userFrame(2, 0, nil, 1), []int{dup(t, pw)})
	}
	if !errors.Is(err, ErrBackpressure) || sent != 5 {
		t.Fatalf("send %d: %v, want ErrBackpressure on the 5th", sent, err)
	}
	c.Close()
	pw.Close()
	readEOF(t, pr)
}

// TestAbort: Abort stops the channel with the given reason and does not
// wait, so it may be called where Close would deadlock.
func TestAbort(t *testing.T) {
	ca, cb := socketPair(t)
	defer cb.Close()
	ra := newRecorder()
	c := start(t, ca, ra, Options{})
	reason := errors.New("test: slow reader")
	c.Abort(reason)
	if err := ra.waitError(t); !errors.Is(err, reason) {
		t.Fatalf("HandleError(%v), want the abort's reason", err)
	}
	<-c.Done()
	if err := c.Send(userFrame(1, 0, nil, 0), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Abort = %v, want ErrClosed", err)
	}
}

// TestStopWhenFull: with StopWhenFull, a Send beyond the bound stops the
// channel, charged to the peer, instead of dropping the frame.
func TestStopWhenFull(t *testing.T) {
	checkFDLeaks(t)
	ca, cb := socketPair(t)
	defer cb.Close() // never read
	r := newRecorder()
	c := start(t, ca, r, Options{MaxPendingBytes: 64 << 10, StopWhenFull: true})
	frame := userFrame(1, 0, make([]byte, 1000), 0)
	var err error
	for i := 0; i < 100000 && err == nil; i++ {
		err = c.Send(frame, nil)
	}
	if !errors.Is(err, ErrBackpressure) || !errors.Is(err, ErrPeerFault) {
		t.Fatalf("Send = %v, want ErrBackpressure and ErrPeerFault", err)
	}
	if got := r.waitError(t); !errors.Is(got, ErrBackpressure) || !errors.Is(got, ErrPeerFault) {
		t.Fatalf("HandleError(%v), want the backpressure that stopped it", got)
	}
	if err := c.Send(frame, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after the stop = %v, want ErrClosed", err)
	}
}
