package channel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mage-ipc/mage/mage/internal/wire"
)

func TestFramesBothWays(t *testing.T) {
	checkFDLeaks(t)
	a, b, ra, rb := pipePair(t, Options{})
	_, pw := newPipe(t)

	var enc []byte
	frames := []wire.Frame{
		{Type: wire.TypeHello, Hello: wire.Hello{Version: 1, Node: node(1), Broker: true, Token: []byte("tok")}},
		{Type: wire.TypeAttach, NumPorts: 1, Attach: []wire.Attachment{{Name: "net", Port: wire.PortDescriptor{
			Name: port(2), PeerNode: node(3), PeerPort: port(4), NextSendSeq: 1, NextRecvSeq: 1, Proxy: port(0x7d)}}}},
		{Type: wire.TypeUser, NumPorts: 1, User: wire.User{Target: port(5), Sender: port(0x7e), Seq: 9, Interface: 1, Method: 2, Flags: 3, RequestID: 4,
			Payload: []byte("payload"), Ports: []wire.PortDescriptor{{Name: port(6), PeerClosed: true, Proxy: port(0x7d)}}}},
		{Type: wire.TypeClosure, Closure: wire.Closure{Target: port(7), Sender: port(0x7e), LastSeq: 10}},
		{Type: wire.TypeRequestIntroduction, RequestIntroduction: wire.RequestIntroduction{Node: node(8)}},
		{Type: wire.TypeIntroduce, NumHandles: 1, Introduce: wire.Introduce{Node: node(8)}},
		{Type: wire.TypeObserveProxy, ObserveProxy: wire.ObserveProxy{ProxyNode: node(2), ProxyPort: port(3),
			ProxyTargetNode: node(4), ProxyTargetPort: port(5), Referrer: port(0x7e)}},
		{Type: wire.TypeObserveProxyAck, ObserveProxyAck: wire.ObserveProxyAck{Target: port(9), Sender: port(0x7e), LastSeq: 11}},
	}
	for i := range frames {
		enc = wire.AppendFrame(enc, &frames[i])
	}
	// a sends them all in one call, b one call each.
	if err := a.Send(enc, []int{dup(t, pw)}); err != nil {
		t.Fatal(err)
	}
	for i := range frames {
		var fds []int
		if frames[i].Type == wire.TypeIntroduce {
			fds = []int{dup(t, pw)}
		}
		if err := b.SendFunc(func(buf []byte) []byte { return wire.AppendFrame(buf, &frames[i]) }, fds); err != nil {
			t.Fatal(err)
		}
	}
	for name, r := range map[string]*recorder{"a": ra, "b": rb} {
		got := r.waitFrames(t, len(frames))
		if len(got) != len(frames) {
			t.Fatalf("%s got %d frames, want %d", name, len(got), len(frames))
		}
		for i := range frames {
			if g, w := wire.AppendFrame(nil, &got[i]), wire.AppendFrame(nil, &frames[i]); !bytes.Equal(g, w) {
				t.Errorf("%s frame %d (%s) differs", name, i, frames[i].Type)
			}
			wantFDs := 0
			if frames[i].Type == wire.TypeIntroduce {
				wantFDs = 1
			}
			if len(r.fds[i]) != wantFDs || got[i].NumHandles != wantFDs {
				t.Errorf("%s frame %d: %d fds, header %d, want %d", name, i, len(r.fds[i]), got[i].NumHandles, wantFDs)
			}
		}
	}
}

// TestHandlerMayKeepSlices checks that what the Handler receives does not
// change under it when later frames arrive.
func TestHandlerMayKeepSlices(t *testing.T) {
	ca, cb := socketPair(t)
	ra := newRecorder()
	start(t, ca, ra, Options{})
	sender := New(cb, newRecorder(), Options{})
	defer sender.Close()
	const n = 200
	for i := range n {
		payload := bytes.Repeat([]byte{byte(i)}, 100)
		ports := []wire.PortDescriptor{{Name: port(byte(i + 1)), PeerClosed: true, Proxy: port(0x7d)}}
		if err := sender.SendFunc(func(buf []byte) []byte {
			return wire.AppendUser(buf, &wire.User{Target: port(1), Sender: port(0x7e), Seq: uint64(i), Payload: payload, Ports: ports})
		}, nil); err != nil {
			t.Fatal(err)
		}
	}
	sender.Start()
	got := ra.waitFrames(t, n)
	for i, f := range got {
		if !bytes.Equal(f.User.Payload, bytes.Repeat([]byte{byte(i)}, 100)) || f.User.Ports[0].Name != port(byte(i+1)) {
			t.Fatalf("frame %d was overwritten", i)
		}
	}
}

func TestLargeFrames(t *testing.T) {
	checkFDLeaks(t)
	a, _, _, rb := pipePair(t, Options{})
	sizes := []int{0, 1, 7, 8, 65536 - wire.UserPayloadOffset, 65536, 1 << 20, 10 << 20, wire.MaxFrameSize - wire.UserPayloadOffset}
	for i, n := range sizes {
		p := make([]byte, n)
		for j := range p {
			p[j] = byte(j*7 + i)
		}
		if err := a.Send(userFrame(uint64(i), 0, p, 0), nil); err != nil {
			t.Fatal(err)
		}
	}
	got := rb.waitFrames(t, len(sizes))
	for i, n := range sizes {
		p := got[i].User.Payload
		if len(p) != n {
			t.Fatalf("frame %d: %d bytes, want %d", i, len(p), n)
		}
		for j := range p {
			if p[j] != byte(j*7+i) {
				t.Fatalf("frame %d: byte %d is %d, want %d", i, j, p[j], byte(j*7+i))
			}
		}
	}
}

func TestManySmallFrames(t *testing.T) {
	a, _, _, rb := pipePair(t, Options{})
	const n = 50000
	for i := range n {
		if err := a.SendFunc(func(buf []byte) []byte {
			return wire.AppendUser(buf, &wire.User{Target: port(1), Sender: port(0x7e), Seq: uint64(i), Payload: []byte("x")})
		}, nil); err != nil {
			t.Fatal(err)
		}
	}
	got := rb.waitFrames(t, n)
	for i := range n {
		if got[i].User.Seq != uint64(i) {
			t.Fatalf("frame %d has seq %d", i, got[i].User.Seq)
		}
	}
}

// TestReassembly writes frames of many sizes in chunks cut at random, so
// that headers and bodies straddle reads and the buffer has to move and grow.
func TestReassembly(t *testing.T) {
	ca, cb := socketPair(t)
	defer cb.Close()
	ra := newRecorder()
	start(t, ca, ra, Options{})
	rng := rand.New(rand.NewPCG(1, 2))
	var stream []byte
	var sizes []int
	for i := range 300 {
		var n int
		switch i % 4 {
		case 0:
			n = rng.IntN(64)
		case 1:
			n = rng.IntN(4096)
		case 2:
			n = initialReadBuffer - 200 + rng.IntN(400)
		default:
			n = rng.IntN(200 << 10)
		}
		p := make([]byte, n)
		for j := range p {
			p[j] = byte(i + j)
		}
		sizes = append(sizes, n)
		stream = append(stream, userFrame(uint64(i), 0, p, 0)...)
	}
	go func() {
		// Errors show up as missing frames below.
		for len(stream) > 0 {
			k := min(len(stream), 1+rng.IntN(3)*rng.IntN(30000))
			if _, err := cb.Write(stream[:k]); err != nil {
				return
			}
			stream = stream[k:]
		}
	}()
	got := ra.waitFrames(t, len(sizes))
	for i, n := range sizes {
		p := got[i].User.Payload
		if got[i].User.Seq != uint64(i) || len(p) != n {
			t.Fatalf("frame %d: seq %d, %d bytes; want %d bytes", i, got[i].User.Seq, len(p), n)
		}
		for j := range p {
			if p[j] != byte(i+j) {
				t.Fatalf("frame %d byte %d corrupted", i, j)
			}
		}
	}
}

func TestPassFD(t *testing.T) {
	checkFDLeaks(t)
	a, _, _, rb := pipePair(t, Options{})
	pr, pw := newPipe(t)
	fd := dup(t, pw)
	if err := a.Send(userFrame(1, 0, nil, 1), []int{fd}); err != nil {
		t.Fatal(err)
	}
	rb.waitFrames(t, 1)
	got := rb.fds[0]
	if len(got) != 1 {
		t.Fatalf("got %d fds, want 1", len(got))
	}
	flags, err := unix.FcntlInt(uintptr(got[0]), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("received fd flags %#x, %v: want FD_CLOEXEC", flags, err)
	}
	if _, err := unix.Write(got[0], []byte("through the pipe")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := pr.Read(buf)
	if err != nil || string(buf[:n]) != "through the pipe" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	// The channel closed its copy once sent: with ours and the received
	// one closed, the pipe has no writer.
	rb.closeReceivedFDs()
	pw.Close()
	readEOF(t, pr)
}

// TestFDsAcrossManyFrames sends hundreds of frames, most carrying
// descriptors, in sends big enough to need several sendmsg calls, and checks
// that every frame gets exactly its own descriptors.
func TestFDsAcrossManyFrames(t *testing.T) {
	checkFDLeaks(t)
	a, _, _, rb := pipePair(t, Options{})

	// Each descriptor is a distinct pipe's write end, identified on
	// arrival by its inode.
	type sent struct{ inodes []uint64 }
	var want []sent
	newFD := func() (int, uint64) {
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
	sendBatch := func(frames int) {
		var buf []byte
		var fds []int
		for i := range frames {
			k := (len(want) + i) % 4 // 0..3 descriptors
			s := sent{}
			for range k {
				fd, ino := newFD()
				fds = append(fds, fd)
				s.inodes = append(s.inodes, ino)
			}
			want = append(want, s)
			buf = wire.AppendUser(buf, &wire.User{Target: port(1), Sender: port(0x7e), Seq: uint64(len(want)), NumHandles: k,
				Payload: make([]byte, (i*37)%300)})
		}
		if err := a.Send(buf, fds); err != nil {
			t.Fatal(err)
		}
	}
	sendBatch(1)   // alone
	sendBatch(400) // ~600 descriptors: several sendmsg calls
	for range 50 {
		sendBatch(3)
	}
	got := rb.waitFrames(t, len(want))
	for i, w := range want {
		fds := rb.fds[i]
		if len(fds) != len(w.inodes) || got[i].NumHandles != len(fds) {
			t.Fatalf("frame %d: %d fds, header %d, want %d", i, len(fds), got[i].NumHandles, len(w.inodes))
		}
		for j, fd := range fds {
			var st unix.Stat_t
			if err := unix.Fstat(fd, &st); err != nil {
				t.Fatal(err)
			}
			if st.Ino != w.inodes[j] {
				t.Fatalf("frame %d fd %d: inode %d, want %d", i, j, st.Ino, w.inodes[j])
			}
		}
	}
}

func TestEOF(t *testing.T) {
	checkFDLeaks(t)
	ca, cb := socketPair(t)
	ra := newRecorder()
	a := start(t, ca, ra, Options{})
	if _, err := cb.Write(userFrame(1, 0, []byte("last words"), 0)); err != nil {
		t.Fatal(err)
	}
	cb.Close()
	err := ra.waitError(t)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("HandleError(%v), want io.EOF", err)
	}
	if got := ra.waitFrames(t, 1); string(got[0].User.Payload) != "last words" {
		t.Errorf("payload %q", got[0].User.Payload)
	}
	<-a.Done()
	if err := a.Send(userFrame(2, 0, nil, 0), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after EOF = %v, want ErrClosed", err)
	}
}

// TestPeerClosedWithUnreadData checks that a peer that closes without
// reading what we sent counts as a clean close, after its own frames.
func TestPeerClosedWithUnreadData(t *testing.T) {
	checkFDLeaks(t)
	ca, cb := socketPair(t)
	ra := newRecorder()
	a := start(t, ca, ra, Options{})
	if _, err := cb.Write(userFrame(1, 0, []byte("bye"), 0)); err != nil {
		t.Fatal(err)
	}
	if err := a.Send(userFrame(1, 0, []byte("never read"), 0), nil); err != nil {
		t.Fatal(err)
	}
	waitReadable(t, cb)
	cb.Close()
	err := ra.waitError(t)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("HandleError(%v), want io.EOF", err)
	}
	if len(ra.frames) != 1 || string(ra.frames[0].User.Payload) != "bye" {
		t.Errorf("frames before the close were lost: %d", len(ra.frames))
	}
}

// waitReadable blocks until conn has bytes to read.
func waitReadable(t *testing.T, conn *net.UnixConn) {
	t.Helper()
	raw, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var perr error
	err = raw.Control(func(fd uintptr) {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		var n int
		n, perr = unix.Poll(pfd, int(timeout.Milliseconds()))
		if perr == nil && n == 0 {
			perr = errors.New("timed out")
		}
	})
	if err != nil || perr != nil {
		t.Fatalf("waiting for data: %v %v", err, perr)
	}
}

func TestEOFInsideFrame(t *testing.T) {
	ca, cb := socketPair(t)
	ra := newRecorder()
	start(t, ca, ra, Options{})
	f := userFrame(1, 0, make([]byte, 100), 0)
	if _, err := cb.Write(f[:50]); err != nil {
		t.Fatal(err)
	}
	cb.Close()
	if err := ra.waitError(t); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("HandleError(%v), want io.ErrUnexpectedEOF", err)
	}
}

// writeRights writes b on conn with fds attached, as a misbehaving peer
// might.
func writeRights(t *testing.T, conn *net.UnixConn, b []byte, fds []int) {
	t.Helper()
	if _, _, err := conn.WriteMsgUnix(b, unix.UnixRights(fds...), nil); err != nil {
		t.Fatal(err)
	}
}

func TestGarbageKillsChannel(t *testing.T) {
	checkFDLeaks(t)
	ca, cb := socketPair(t)
	defer cb.Close()
	ra := newRecorder()
	start(t, ca, ra, Options{})
	pr, pw := newPipe(t)
	// A valid frame, then garbage that arrives with descriptors.
	if _, err := cb.Write(userFrame(1, 0, nil, 0)); err != nil {
		t.Fatal(err)
	}
	fd := dup(t, pw)
	writeRights(t, cb, []byte("this is not a frame at all"), []int{fd, fd})
	unix.Close(fd)
	err := ra.waitError(t)
	if !errors.Is(err, wire.ErrBadMagic) {
		t.Fatalf("HandleError(%v), want wire.ErrBadMagic", err)
	}
	var de *wire.DecodeError
	if !errors.As(err, &de) {
		t.Errorf("error %v is not a *wire.DecodeError", err)
	}
	if got := ra.waitFrames(t, 1); len(got) != 1 {
		t.Errorf("got %d frames before the garbage, want 1", len(got))
	}
	// The two queued copies were closed when the channel died.
	pw.Close()
	readEOF(t, pr)
}

func TestBadFrameKillsChannel(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"bad version", func() []byte { b := userFrame(1, 0, nil, 0); b[2] = 9; return b }(), wire.ErrUnsupportedVersion},
		{"bad body", func() []byte { b := userFrame(1, 0, nil, 0); b[16] = 0; b[17] = 0; return b }(), wire.ErrBadName},
		{"missing handles", userFrame(1, 0, nil, 2), ErrMissingHandles},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFDLeaks(t)
			ca, cb := socketPair(t)
			defer cb.Close()
			ra := newRecorder()
			start(t, ca, ra, Options{})
			if _, err := cb.Write(tt.b); err != nil {
				t.Fatal(err)
			}
			if err := ra.waitError(t); !errors.Is(err, tt.want) {
				t.Fatalf("HandleError(%v), want %v", err, tt.want)
			}
		})
	}
}

func TestMissingHandlesClosesTheOthers(t *testing.T) {
	checkFDLeaks(t)
	ca, cb := socketPair(t)
	defer cb.Close()
	ra := newRecorder()
	start(t, ca, ra, Options{})
	pr, pw := newPipe(t)
	fd := dup(t, pw)
	writeRights(t, cb, userFrame(1, 0, nil, 2), []int{fd})
	unix.Close(fd)
	if err := ra.waitError(t); !errors.Is(err, ErrMissingHandles) {
		t.Fatalf("HandleError(%v), want ErrMissingHandles", err)
	}
	pw.Close()
	readEOF(t, pr)
}

// TestTooManyHandlesQueued has the peer send descriptors far ahead of any
// frame that claims them.
func TestTooManyHandlesQueued(t *testing.T) {
	checkFDLeaks(t)
	ca, cb := socketPair(t)
	defer cb.Close()
	ra := newRecorder()
	start(t, ca, ra, Options{})
	pr, pw := newPipe(t)
	fd := dup(t, pw)
	fds := make([]int, maxFDsPerWrite)
	for i := range fds {
		fds[i] = fd
	}
	// One byte of a header per write, each with a full load.
	hdr := userFrame(1, 0, nil, 0)
	var err error
	for i := 0; i < DefaultMaxQueuedFDs/maxFDsPerWrite+1 && err == nil; i++ {
		_, _, err = cb.WriteMsgUnix(hdr[i:i+1], unix.UnixRights(fds...), nil)
	}
	unix.Close(fd)
	if got := ra.waitError(t); !errors.Is(got, ErrTooManyHandles) {
		t.Fatalf("HandleError(%v), want ErrTooManyHandles (write error %v)", got, err)
	}
	pw.Close()
	readEOF(t, pr)
}

func TestMaxFrameSizeOnReceive(t *testing.T) {
	ca, cb := socketPair(t)
	ra, rb := newRecorder(), newRecorder()
	start(t, ca, ra, Options{MaxFrameSize: 1024})
	b := start(t, cb, rb, Options{})
	if err := b.Send(userFrame(1, 0, make([]byte, 2000), 0), nil); err != nil {
		t.Fatal(err)
	}
	if err := ra.waitError(t); !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("HandleError(%v), want wire.ErrTooLarge", err)
	}
}

func TestInvalidSend(t *testing.T) {
	checkFDLeaks(t)
	a, _, _, _ := pipePair(t, Options{MaxFrameSize: 4096})
	good := userFrame(1, 0, nil, 0)
	tests := []struct {
		name   string
		frames []byte
		nfds   int
		want   error
	}{
		{"empty", nil, 0, ErrInvalidSend},
		{"short header", good[:10], 0, wire.ErrTruncated},
		{"cut frame", good[:40], 0, ErrInvalidSend},
		{"frame then garbage", append(bytes.Clone(good), 1, 2, 3), 0, wire.ErrTruncated},
		{"bad magic", append([]byte{0, 0}, good[2:]...), 0, wire.ErrBadMagic},
		{"too large", userFrame(1, 0, make([]byte, 5000), 0), 0, wire.ErrTooLarge},
		{"fds not declared", good, 1, ErrInvalidSend},
		{"declared fds missing", userFrame(1, 0, nil, 2), 1, ErrInvalidSend},
	}
	_, pw := newPipe(t)
	for _, tt := range tests {
		var fds []int
		for range tt.nfds {
			fds = append(fds, dup(t, pw))
		}
		err := a.Send(tt.frames, fds)
		if !errors.Is(err, tt.want) || !errors.Is(err, ErrInvalidSend) {
			t.Errorf("%s: Send = %v, want ErrInvalidSend and %v", tt.name, err, tt.want)
		}
		for _, fd := range fds {
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); !errors.Is(err, unix.EBADF) {
				t.Errorf("%s: fd %d still open after a failed Send", tt.name, fd)
			}
		}
	}
	if n := a.Buffered(); n != 0 {
		t.Errorf("failed sends left %d bytes queued", n)
	}
}

func TestCloseIdempotent(t *testing.T) {
	checkFDLeaks(t)
	a, _, ra, _ := pipePair(t, Options{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.Close()
		}()
	}
	wg.Wait()
	a.Close()
	select {
	case <-a.Done():
	default:
		t.Fatal("Done not closed after Close returned")
	}
	if err := ra.waitError(t); !errors.Is(err, ErrClosed) {
		t.Errorf("HandleError(%v), want ErrClosed", err)
	}
	pr, pw := newPipe(t)
	if err := a.Send(userFrame(1, 0, nil, 1), []int{dup(t, pw)}); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	pw.Close()
	readEOF(t, pr)
}

func TestCloseBeforeStart(t *testing.T) {
	checkFDLeaks(t)
	ca, cb := socketPair(t)
	defer cb.Close()
	r := newRecorder()
	c := New(ca, r, Options{})
	pr, pw := newPipe(t)
	// Fill the socket so the next frame stays queued, with its descriptor.
	for c.Buffered() == 0 {
		if err := c.Send(userFrame(1, 0, make([]byte, 4096), 0), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Send(userFrame(2, 0, nil, 1), []int{dup(t, pw)}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c.Close()
	c.Start() // no effect
	<-c.Done()
	if err := r.waitError(t); !errors.Is(err, ErrClosed) {
		t.Errorf("HandleError(%v), want ErrClosed", err)
	}
	if len(r.errs) != 1 {
		t.Errorf("HandleError called %d times", len(r.errs))
	}
	pw.Close()
	readEOF(t, pr)
}

func TestCloseFromHandler(t *testing.T) {
	ca, cb := socketPair(t)
	ra, rb := newRecorder(), newRecorder()
	var a *Channel
	ra.onFrame = func(*wire.Frame, []int) { a.Close() }
	a = New(ca, ra, Options{})
	a.Start()
	b := start(t, cb, rb, Options{})
	for i := range 10 {
		// Once a has handled the first frame and closed, b may see its
		// socket fail: only the first send must succeed.
		if err := b.Send(userFrame(uint64(i), 0, nil, 0), nil); err != nil && i == 0 {
			t.Fatal(err)
		}
	}
	if err := ra.waitError(t); !errors.Is(err, ErrClosed) {
		t.Fatalf("HandleError(%v), want ErrClosed", err)
	}
	<-a.Done()
	if n := len(ra.frames); n != 1 {
		t.Errorf("%d frames delivered after Close from the handler, want 1", n)
	}
}

// closeOnError is a Handler that closes its channel from HandleError.
type closeOnError struct {
	c    **Channel
	errs chan error
}

func (h closeOnError) HandleFrame(_ *wire.Frame, fds []int) { closeFDs(fds) }
func (h closeOnError) HandleError(err error) {
	(*h.c).Close()
	h.errs <- err
}

func TestCloseFromHandleError(t *testing.T) {
	for _, started := range []bool{true, false} {
		t.Run(fmt.Sprint("started=", started), func(t *testing.T) {
			ca, cb := socketPair(t)
			defer cb.Close()
			var c *Channel
			h := closeOnError{c: &c, errs: make(chan error, 2)}
			c = New(ca, h, Options{})
			if started {
				c.Start()
				cb.Close() // EOF
			} else {
				c.Close()
			}
			<-c.Done()
			if err := <-h.errs; err == nil {
				t.Error("HandleError(nil)")
			}
			if len(h.errs) != 0 {
				t.Error("HandleError called twice")
			}
		})
	}
}

func TestConcurrentSendOrder(t *testing.T) {
	a, _, _, rb := pipePair(t, Options{})
	const senders, each = 8, 3000
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				// Mix single and double sends, and both entry points.
				var err error
				if i%3 == 0 {
					buf := userFrame(uint64(i), uint32(g), []byte("a"), 0)
					err = a.Send(buf, nil)
				} else {
					err = a.SendFunc(func(buf []byte) []byte {
						return wire.AppendUser(buf, &wire.User{Target: port(1), Sender: port(0x7e), Seq: uint64(i), Method: uint32(g), Payload: make([]byte, i%50)})
					}, nil)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := rb.waitFrames(t, senders*each)
	next := make([]uint64, senders)
	for _, f := range got {
		g := f.User.Method
		if f.User.Seq != next[g] {
			t.Fatalf("sender %d: seq %d arrived, want %d", g, f.User.Seq, next[g])
		}
		next[g]++
	}
}

// TestFlood has both sides send a lot at once while echoing everything they
// receive back from inside the handler, so both writers block on full
// sockets while both readers must keep going.
func TestFlood(t *testing.T) {
	ca, cb := socketPair(t)
	const n = 3000
	payload := make([]byte, 4000)
	type side struct {
		c  *Channel
		r  *recorder
		mu sync.Mutex
		// mu guards sendErr.
		sendErr error
	}
	sides := [2]*side{{r: newRecorder()}, {r: newRecorder()}}
	for _, s := range sides {
		s.r.onFrame = func(f *wire.Frame, _ []int) {
			if f.User.Method == 0 { // original: echo it
				u := f.User
				u.Method = 1
				if err := s.c.SendFunc(func(buf []byte) []byte { return wire.AppendUser(buf, &u) }, nil); err != nil {
					s.mu.Lock()
					s.sendErr = err
					s.mu.Unlock()
				}
			}
		}
	}
	sides[0].c = newChannel(t, ca, sides[0].r, Options{})
	sides[1].c = newChannel(t, cb, sides[1].r, Options{})
	sides[0].c.Start()
	sides[1].c.Start()
	var wg sync.WaitGroup
	for _, s := range sides {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				if err := s.c.Send(userFrame(uint64(i), 0, payload, 0), nil); err != nil {
					s.mu.Lock()
					s.sendErr = err
					s.mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, s := range sides {
		// n originals from the peer plus n echoes of our own.
		s.r.waitFor(t, "originals and echoes", func() bool { return len(s.r.frames) >= 2*n || len(s.r.errs) > 0 })
		s.mu.Lock()
		if s.sendErr != nil {
			t.Fatal(s.sendErr)
		}
		s.mu.Unlock()
		var originals, echoes uint64
		for _, f := range s.r.frames {
			if f.User.Method == 0 {
				if f.User.Seq != originals {
					t.Fatalf("original %d arrived as %d", originals, f.User.Seq)
				}
				originals++
			} else {
				if f.User.Seq != echoes {
					t.Fatalf("echo %d arrived as %d", echoes, f.User.Seq)
				}
				echoes++
			}
		}
		if originals != n || echoes != n {
			t.Fatalf("%d originals and %d echoes, want %d each", originals, echoes, n)
		}
	}
}

func TestBackpressure(t *testing.T) {
	checkFDLeaks(t)
	ca, cb := socketPair(t)
	defer cb.Close() // never read: the socket fills up
	r := newRecorder()
	const limit = 64 << 10
	// Not started: once the socket is full, nothing drains the queue.
	c := newChannel(t, ca, r, Options{MaxPendingBytes: limit})
	frame := userFrame(1, 0, make([]byte, 1000), 0)
	var err error
	for i := 0; i < 100000 && err == nil; i++ {
		err = c.Send(frame, nil)
	}
	if !errors.Is(err, ErrBackpressure) {
		t.Fatalf("Send = %v, want ErrBackpressure", err)
	}
	if n := c.Buffered(); n > limit || n < limit-len(frame) {
		t.Errorf("%d bytes queued, limit %d", n, limit)
	}
	pr, pw := newPipe(t)
	if err := c.Send(frame[:0:0], nil); !errors.Is(err, ErrInvalidSend) {
		t.Fatalf("empty Send = %v, want ErrInvalidSend", err)
	}
	if err := c.Send(userFrame(2, 0, make([]byte, 1000), 1), []int{dup(t, pw)}); !errors.Is(err, ErrBackpressure) {
		t.Fatalf("Send = %v, want ErrBackpressure", err)
	}
	pw.Close()
	readEOF(t, pr) // refused descriptors are closed
	// A small frame that fits still goes in.
	if err := c.Send(wire.AppendClosure(nil, &wire.Closure{Target: port(1), Sender: port(0x7e)}), nil); err != nil && c.Buffered()+len(wire.AppendClosure(nil, &wire.Closure{Target: port(1), Sender: port(0x7e)})) <= limit {
		t.Errorf("Send of a frame that fits = %v", err)
	}
}

func TestCloseAfterFlush(t *testing.T) {
	checkFDLeaks(t)
	ca, cb := socketPair(t)
	ra := newRecorder()
	a := start(t, ca, ra, Options{})
	const n = 200
	payload := make([]byte, 10000) // 2 MB in all: more than the socket holds
	for i := range n {
		if err := a.Send(userFrame(uint64(i), 0, payload, 0), nil); err != nil {
			t.Fatal(err)
		}
	}
	flushed := make(chan error, 1)
	go func() { flushed <- a.CloseAfterFlush(context.Background()) }()

	// The peer starts reading only now; everything must still arrive.
	rb := newRecorder()
	start(t, cb, rb, Options{})
	if err := <-flushed; err != nil {
		t.Fatalf("CloseAfterFlush = %v", err)
	}
	if got := rb.waitFrames(t, n); len(got) != n {
		t.Fatalf("got %d frames, want %d", len(got), n)
	}
	if err := rb.waitError(t); !errors.Is(err, io.EOF) {
		t.Errorf("peer saw %v, want io.EOF", err)
	}
	if err := ra.waitError(t); !errors.Is(err, ErrClosed) {
		t.Errorf("HandleError(%v), want ErrClosed", err)
	}
}

func TestCloseAfterFlushGivesUp(t *testing.T) {
	ca, cb := socketPair(t)
	defer cb.Close() // never read
	r := newRecorder()
	a := start(t, ca, r, Options{})
	for a.Buffered() == 0 {
		if err := a.Send(userFrame(1, 0, make([]byte, 60000), 0), nil); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.CloseAfterFlush(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("CloseAfterFlush = %v, want context.Canceled", err)
	}
	<-a.Done()
}

// TestPeerGoneWhileWriting checks that frames the peer sent before it went
// away are still delivered when our writes fail first.
func TestPeerGoneWhileWriting(t *testing.T) {
	for round := range 20 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			ca, cb := socketPair(t)
			ra := newRecorder()
			a := start(t, ca, ra, Options{})
			const n = 100
			for i := range n {
				if _, err := cb.Write(userFrame(uint64(i), 0, []byte("from b"), 0)); err != nil {
					t.Fatal(err)
				}
			}
			cb.Close()
			for i := 0; i < 1000; i++ {
				if a.Send(userFrame(uint64(i), 0, make([]byte, 1000), 0), nil) != nil {
					break
				}
			}
			if err := ra.waitError(t); !errors.Is(err, io.EOF) {
				t.Fatalf("HandleError(%v), want io.EOF", err)
			}
			if len(ra.frames) != n {
				t.Fatalf("got %d frames, want %d", len(ra.frames), n)
			}
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	ca, cb := socketPair(t)
	defer cb.Close()
	c := New(ca, newRecorder(), Options{MaxFrameSize: wire.MaxFrameSize * 2, MaxPendingBytes: -1})
	defer c.Close()
	if c.opts.MaxFrameSize != wire.MaxFrameSize || c.opts.MaxPendingBytes != 0 {
		t.Errorf("options not clamped: %+v", c.opts)
	}
}

// TestAbortUnderALockTheHandlerTakes: Abort may be called with a lock
// held that the Handler's method waits for, while the reader runs that
// method inside its read: stopping must not wait for the read (closing
// the socket under it would), and the socket closes once the method has
// returned, so the peer sees EOF.
func TestAbortUnderALockTheHandlerTakes(t *testing.T) {
	ca, cb := socketPair(t)
	ra, rb := newRecorder(), newRecorder()
	var mu sync.Mutex
	delivered := 0
	entered := make(chan struct{}, 1)
	ra.onFrame = func(*wire.Frame, []int) {
		select {
		case entered <- struct{}{}:
		default:
		}
		// Waits for Abort's caller to release the lock.
		mu.Lock()
		delivered++
		mu.Unlock()
	}
	a := start(t, ca, ra, Options{})
	b := start(t, cb, rb, Options{})
	mu.Lock()
	if err := b.Send(userFrame(1, 0, nil, 0), nil); err != nil {
		t.Fatal(err)
	}
	<-entered
	a.Abort(errors.New("aborted under the handler's lock"))
	mu.Unlock()
	if err := ra.waitError(t); err == nil || err.Error() != "aborted under the handler's lock" {
		t.Fatalf("HandleError(%v), want the Abort's error", err)
	}
	<-a.Done()
	if err := rb.waitError(t); !errors.Is(err, io.EOF) {
		t.Fatalf("peer saw %v, want io.EOF", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if delivered != 1 {
		t.Fatalf("%d frames handled, want 1", delivered)
	}
}

// TestCloseRightAfterTheLastFrames: a peer that sends its last frames and
// closes while the reader is busy gives the poller one wake-up for both;
// the read of those frames empties the socket without seeing the close,
// and the reader must see it all the same (the hang-up watch).
func TestCloseRightAfterTheLastFrames(t *testing.T) {
	for round := range 20 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			ca, cb := socketPair(t)
			ra := newRecorder()
			busy, goOn := make(chan struct{}), make(chan struct{})
			ra.onFrame = func(f *wire.Frame, _ []int) {
				if f.User.Seq == 1 {
					close(busy)
					<-goOn
				}
			}
			a := start(t, ca, ra, Options{})
			defer a.Close()
			if _, err := cb.Write(userFrame(0, 0, []byte("first"), 0)); err != nil {
				t.Fatal(err)
			}
			ra.waitFrames(t, 1)
			if _, err := cb.Write(userFrame(1, 0, []byte("second"), 0)); err != nil {
				t.Fatal(err)
			}
			<-busy
			// The reader is inside the handler of frame 1: the last
			// frame and the close arrive together.
			if _, err := cb.Write(userFrame(2, 0, []byte("last"), 0)); err != nil {
				t.Fatal(err)
			}
			cb.Close()
			close(goOn)
			if err := ra.waitError(t); !errors.Is(err, io.EOF) {
				t.Fatalf("HandleError(%v), want io.EOF", err)
			}
			if got := ra.waitFrames(t, 3); string(got[2].User.Payload) != "last" {
				t.Fatalf("last frame %q", got[2].User.Payload)
			}
		})
	}
}
