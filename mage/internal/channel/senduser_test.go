package channel

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mage-ipc/mage/mage/internal/wire"
)

// pattern is a payload of n bytes that differs for every seq.
func pattern(seq, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*13 + seq*7)
	}
	return p
}

// inodeFD returns a new descriptor (a pipe's write end) and its inode, by
// which it is recognised on arrival.
func inodeFD(t *testing.T) (int, uint64) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(w.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return dup(t, w), st.Ino
}

// TestSendUserStream sends a mix of large payloads (left uncopied and
// written with vectored writes), small ones, frames with port descriptors
// and with descriptors (more than one sendmsg carries), and frames through
// Send between them, while the receiver is not reading yet: the direct
// write meets a full socket, and the writer goes on from the middle of a
// frame. Every frame must arrive whole, in order, with its descriptors.
// The receiver keeps the payloads it was given while later large frames
// are read, so one frame's buffer must not be another's.
func TestSendUserStream(t *testing.T) {
	checkFDLeaks(t)
	ca, cb := socketPair(t)
	rb := newRecorder()
	a := start(t, ca, newRecorder(), Options{})
	b := newChannel(t, cb, rb, Options{})

	sizes := []int{1 << 20, 16, largePayload, largePayload - 1, 3 << 20, 0, 64 << 10, largePayload + 3, 1000, 2 << 20}
	type sent struct {
		size   int
		ports  int
		inodes []uint64
	}
	var want []sent
	for i := range 60 {
		seq := len(want)
		s := sent{size: sizes[i%len(sizes)], ports: i % 3}
		var fds []int
		for range (i * 7) % 13 { // 0 to 12 descriptors: 300 or so in all
			fd, ino := inodeFD(t)
			fds = append(fds, fd)
			s.inodes = append(s.inodes, ino)
		}
		u := &wire.User{Target: port(1), Sender: port(0x7e), Seq: uint64(seq), Method: 9, Payload: pattern(seq, s.size), NumHandles: len(fds)}
		for k := range s.ports {
			u.Ports = append(u.Ports, wire.PortDescriptor{Name: port(byte(10 + k)), PeerClosed: true, Proxy: port(0x7d)})
		}
		var err error
		if i%5 == 4 {
			err = a.Send(wire.AppendUser(nil, u), fds)
		} else {
			err = a.SendUser(u, fds)
		}
		if err != nil {
			t.Fatalf("frame %d: %v", seq, err)
		}
		want = append(want, s)
	}
	b.Start()
	got := rb.waitFrames(t, len(want))
	for i, w := range want {
		f := got[i]
		if f.Type != wire.TypeUser || f.User.Seq != uint64(i) || f.User.Method != 9 {
			t.Fatalf("frame %d: %v seq %d method %d", i, f.Type, f.User.Seq, f.User.Method)
		}
		if !bytes.Equal(f.User.Payload, pattern(i, w.size)) {
			t.Fatalf("frame %d: payload of %d bytes differs from the %d sent", i, len(f.User.Payload), w.size)
		}
		if len(f.User.Ports) != w.ports {
			t.Fatalf("frame %d: %d ports, want %d", i, len(f.User.Ports), w.ports)
		}
		fds := rb.fds[i]
		if len(fds) != len(w.inodes) {
			t.Fatalf("frame %d: %d descriptors, want %d", i, len(fds), len(w.inodes))
		}
		for j, fd := range fds {
			var st unix.Stat_t
			if err := unix.Fstat(fd, &st); err != nil {
				t.Fatal(err)
			}
			if st.Ino != w.inodes[j] {
				t.Fatalf("frame %d descriptor %d: inode %d, want %d", i, j, st.Ino, w.inodes[j])
			}
		}
	}
}

// TestSendUserLeavesLargePayloadsUncopied: queued large payloads count as
// pending bytes but are not copied into the batch buffer, which holds only
// the frames' fixed parts.
func TestSendUserLeavesLargePayloadsUncopied(t *testing.T) {
	ca, cb := socketPair(t)
	a := start(t, ca, newRecorder(), Options{})
	b := newChannel(t, cb, newRecorder(), Options{}) // never reads
	_ = b
	const size, want = 1 << 20, 16 << 20
	payload := make([]byte, size)
	// The kernel takes a varying amount first (tens of MiB at times):
	// send until enough is queued behind it.
	frames := 0
	for ; a.Buffered() < want; frames++ {
		if frames == 1000 {
			t.Fatalf("%d bytes queued after %d frames of %d bytes", a.Buffered(), frames, size)
		}
		if err := a.SendUser(&wire.User{Target: port(1), Sender: port(0x7e), Seq: uint64(frames), Payload: payload}, nil); err != nil {
			t.Fatal(err)
		}
	}
	queued := a.Buffered()
	a.mu.Lock()
	bufLen := len(a.pending.buf)
	a.mu.Unlock()
	if limit := frames * 2 * wire.UserPayloadOffset; bufLen > limit {
		t.Fatalf("the pending buffer holds %d bytes for %d queued: payloads were copied (limit %d)", bufLen, queued, limit)
	}
}

// TestSendUserInvalid: a frame that cannot be sent is refused with an error
// wrapping ErrInvalidSend (and the cause), its descriptors are closed, and
// nothing is queued.
func TestSendUserInvalid(t *testing.T) {
	checkFDLeaks(t)
	ca, cb := socketPair(t)
	a := newChannel(t, ca, newRecorder(), Options{MaxFrameSize: 4096})
	defer cb.Close()
	for _, tc := range []struct {
		name  string
		u     wire.User
		fds   int
		cause error
	}{
		{"zero target", wire.User{}, 0, wire.ErrBadName},
		{"too large", wire.User{Target: port(1), Sender: port(0x7e), Payload: make([]byte, 4096)}, 0, wire.ErrTooLarge},
		{"fewer descriptors than declared", wire.User{Target: port(1), Sender: port(0x7e), NumHandles: 2}, 1, nil},
		{"more descriptors than declared", wire.User{Target: port(1), Sender: port(0x7e), NumHandles: 1}, 2, nil},
	} {
		r, w := newPipe(t)
		fds := make([]int, tc.fds)
		for i := range fds {
			fds[i] = dup(t, w)
		}
		w.Close()
		err := a.SendUser(&tc.u, fds)
		if !errors.Is(err, ErrInvalidSend) || (tc.cause != nil && !errors.Is(err, tc.cause)) {
			t.Fatalf("%s: SendUser: %v, want ErrInvalidSend and %v", tc.name, err, tc.cause)
		}
		readEOF(t, r) // every write end was closed
		if n := a.Buffered(); n != 0 {
			t.Fatalf("%s: %d bytes queued after a refused send", tc.name, n)
		}
	}
}

// TestSendUserBackpressure: large uncopied payloads count against
// MaxPendingBytes like copied ones.
func TestSendUserBackpressure(t *testing.T) {
	ca, cb := socketPair(t)
	const limit = 8 << 20
	a := start(t, ca, newRecorder(), Options{MaxPendingBytes: limit})
	b := newChannel(t, cb, newRecorder(), Options{}) // never reads
	_ = b
	payload := make([]byte, 1<<20)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = a.SendUser(&wire.User{Target: port(1), Sender: port(0x7e), Seq: uint64(i), Payload: payload}, nil)
	}
	if !errors.Is(err, ErrBackpressure) {
		t.Fatalf("SendUser into a full queue: %v, want ErrBackpressure", err)
	}
	// Buffered counts the batch being written too: up to the limit (and
	// one frame) queued behind a batch that took as much before.
	if n, bound := a.Buffered(), 2*(limit+len(payload)+wire.HeaderSize+64); n > bound {
		t.Fatalf("%d bytes queued and in flight, limit %d queued (at most %d in all)", n, limit, bound)
	}
}

// TestLargeFrameTimeout: a large User frame, which the reader reads into a
// buffer of its own, is bounded by FrameTimeout like any other, and the
// peer closing inside one is an unexpected EOF.
func TestLargeFrameTimeout(t *testing.T) {
	frame := userFrame(1, 0, make([]byte, 256<<10), 0)
	t.Run("stall", func(t *testing.T) {
		const timeout = 100 * time.Millisecond
		ca, cb := socketPair(t)
		defer cb.Close()
		ra := newRecorder()
		start(t, ca, ra, Options{FrameTimeout: timeout})
		if _, err := cb.Write(frame[:len(frame)/2]); err != nil {
			t.Fatal(err)
		}
		if err := ra.waitError(t); !errors.Is(err, ErrFrameTimeout) || !errors.Is(err, ErrPeerFault) {
			t.Fatalf("HandleError(%v), want ErrFrameTimeout", err)
		}
	})
	t.Run("eof", func(t *testing.T) {
		ca, cb := socketPair(t)
		ra := newRecorder()
		start(t, ca, ra, Options{})
		if _, err := cb.Write(frame[:len(frame)-8]); err != nil {
			t.Fatal(err)
		}
		cb.Close()
		if err := ra.waitError(t); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("HandleError(%v), want io.ErrUnexpectedEOF", err)
		}
	})
}

// TestDeferDirectWrite: with Options.DeferDirectWrite, Send and SendUser
// only queue, even with the writer idle; WritePending writes, and frames
// queued and written from several goroutines arrive in queue order.
func TestDeferDirectWrite(t *testing.T) {
	ca, cb := socketPair(t)
	rb := newRecorder()
	a := start(t, ca, newRecorder(), Options{DeferDirectWrite: true})
	start(t, cb, rb, Options{})

	frame := userFrame(0, 0, []byte("first"), 0)
	if err := a.Send(frame, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.SendUser(&wire.User{Target: port(1), Sender: port(0x7e), Seq: 1, Payload: make([]byte, largePayload)}, nil); err != nil {
		t.Fatal(err)
	}
	if n, want := a.Buffered(), len(frame)+wire.UserPayloadOffset+largePayload; n != want {
		t.Fatalf("%d bytes queued before WritePending, want %d: something was written", n, want)
	}
	a.WritePending()
	rb.waitFrames(t, 2)

	// Each goroutine queues a frame under a lock of its own making, as the
	// node does, and writes after releasing it.
	const goroutines, each = 4, 300
	var mu sync.Mutex
	var seq uint64 = 2
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				mu.Lock()
				u := &wire.User{Target: port(1), Sender: port(0x7e), Seq: seq, Payload: make([]byte, int(seq%3)*largePayload)}
				seq++
				err := a.SendUser(u, nil)
				mu.Unlock()
				if err != nil {
					t.Error(err)
					return
				}
				a.WritePending()
			}
		}()
	}
	wg.Wait()
	got := rb.waitFrames(t, 2+goroutines*each)
	for i, f := range got {
		if f.User.Seq != uint64(i) {
			t.Fatalf("frame %d has seq %d: out of queue order", i, f.User.Seq)
		}
	}
}

// TestLendPayloadsUpTo: payloads up to the bound are lent for the call and
// correct during it; longer ones, small or large, are the Handler's to keep
// and stay intact after later frames reuse the reader's buffer.
func TestLendPayloadsUpTo(t *testing.T) {
	const lend = 16
	ca, cb := socketPair(t)
	rb := newRecorder()
	sizes := []int{1, lend, lend + 1, 300, 40 << 10, 3, 2 << 10}
	during := make(chan []byte, len(sizes))
	rb.onFrame = func(f *wire.Frame, _ []int) {
		during <- append([]byte(nil), f.User.Payload...)
	}
	a := start(t, ca, newRecorder(), Options{})
	start(t, cb, rb, Options{LendPayloadsUpTo: lend})
	for i, n := range sizes {
		if err := a.SendUser(&wire.User{Target: port(1), Sender: port(0x7e), Seq: uint64(i), Payload: pattern(i, n)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	got := rb.waitFrames(t, len(sizes))
	for i, n := range sizes {
		if !bytes.Equal(<-during, pattern(i, n)) {
			t.Fatalf("frame %d: payload during the call differs", i)
		}
		if n > lend && !bytes.Equal(got[i].User.Payload, pattern(i, n)) {
			t.Fatalf("frame %d: kept payload of %d bytes changed after later frames", i, n)
		}
	}
}

// TestStreamingLeavesWritesToTheWriter: a side that sends more than
// streamingAfter frames while nothing comes back stops writing from the
// caller's goroutine (its frames gather behind the writer's write and go
// out many per call); a frame from the peer makes it write straight out
// again. Every frame arrives, in order, either way.
func TestStreamingLeavesWritesToTheWriter(t *testing.T) {
	ca, cb := socketPair(t)
	ra, rb := newRecorder(), newRecorder()
	a := start(t, ca, ra, Options{})
	b := start(t, cb, rb, Options{})
	const frames = 3 * streamingAfter
	for i := range frames {
		if err := a.SendUser(&wire.User{Target: port(1), Sender: port(0x7e), Seq: uint64(i + 1), Payload: []byte("x")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	got := rb.waitFrames(t, frames)
	for i, f := range got {
		if f.User.Seq != uint64(i+1) {
			t.Fatalf("frame %d has seq %d: out of order", i, f.User.Seq)
		}
	}
	if n := a.directRun.Load(); n <= streamingAfter {
		t.Fatalf("after %d frames with nothing back, the run is %d, want more than %d", frames, n, streamingAfter)
	}
	if err := b.SendUser(&wire.User{Target: port(2), Sender: port(0x7e), Seq: 1, Payload: []byte("back")}, nil); err != nil {
		t.Fatal(err)
	}
	ra.waitFrames(t, 1)
	if n := a.directRun.Load(); n != 0 {
		t.Fatalf("after a frame from the peer, the run is %d, want 0", n)
	}
}

// TestWritePendingWritesWithoutTheLock: WritePending makes its system call
// without the channel's lock, so that other goroutines queue meanwhile
// (here, one frame before each of its calls), and it writes what they
// queued after what it took, in queue order, until nothing is left.
func TestWritePendingWritesWithoutTheLock(t *testing.T) {
	ca, cb := socketPair(t)
	rb := newRecorder()
	a := start(t, ca, newRecorder(), Options{DeferDirectWrite: true})
	start(t, cb, rb, Options{})

	const queuedMeanwhile = 2
	seq := uint64(1)
	calls := 0
	a.beforeDirectWrite = func() {
		calls++
		if !a.mu.TryLock() {
			t.Error("WritePending holds the channel's lock across its system call")
			return
		}
		a.mu.Unlock()
		if calls > queuedMeanwhile {
			return
		}
		// Another goroutine's Send, which takes the lock: it queues
		// behind the batch being written, and leaves it to WritePending.
		if err := a.Send(userFrame(seq, 0, []byte("meanwhile"), 0), nil); err != nil {
			t.Error(err)
		}
		seq++
	}
	if err := a.Send(userFrame(0, 0, []byte("first"), 0), nil); err != nil {
		t.Fatal(err)
	}
	a.WritePending()
	got := rb.waitFrames(t, 1+queuedMeanwhile)
	for i, f := range got {
		if f.User.Seq != uint64(i) {
			t.Fatalf("frame %d has seq %d: out of queue order", i, f.User.Seq)
		}
	}
	if calls != 1+queuedMeanwhile {
		t.Fatalf("WritePending made %d system calls, want %d: one per batch, the frames queued meanwhile in batches of their own", calls, 1+queuedMeanwhile)
	}
	if n := a.Buffered(); n != 0 {
		t.Fatalf("%d bytes still buffered", n)
	}
	a.beforeDirectWrite = nil
}
