package channel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mage-ipc/mage/mage/internal/wire"
)

// writeAndWaitRead writes b to w, with fds on its first byte, and waits
// until the channel's reader has taken every byte of it out of the socket
// (observed through fd, a duplicate of the reader's socket), so that the
// next write is a read of its own.
func writeAndWaitRead(t *testing.T, w *net.UnixConn, b []byte, fds []int, fd int) {
	t.Helper()
	// One sendmsg may take only part of b; Write takes the rest.
	n, _, err := w.WriteMsgUnix(b, unix.UnixRights(fds...), nil)
	if err == nil {
		_, err = w.Write(b[n:])
	}
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(timeout)
	for unreadBytes(t, fd) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the reader left %d bytes unread", unreadBytes(t, fd))
		}
		runtime.Gosched()
	}
}

// dupSocket returns a duplicate descriptor of conn's socket, closed at
// cleanup, for looking at its receive queue.
func dupSocket(t *testing.T, conn *net.UnixConn) int {
	t.Helper()
	f, err := conn.File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return int(f.Fd())
}

// TestLargeFrameInPieces writes large User frames (payloads of odd length,
// so with padding, and with port descriptors and handles) one piece per
// read, cut at every boundary the reader treats apart: inside the header,
// inside the fixed part before and after the payload length, at the
// payload's first and last byte, inside the padding and the descriptors,
// and with the next frame's start in the same piece as the last one's end.
// Every frame must arrive whole, with a payload of exactly its length (no
// spare capacity, not shared with anything read later), and its handles.
func TestLargeFrameInPieces(t *testing.T) {
	checkFDLeaks(t)
	ca, cb := socketPair(t)
	defer cb.Close()
	inq := dupSocket(t, ca)
	ra := newRecorder()
	start(t, ca, ra, Options{})

	type sent struct {
		u      wire.User
		inodes []uint64
	}
	var want []sent
	var stream []byte
	var cuts []int  // stream offsets at which a piece ends
	var fdsAt []int // the stream offset of each frame's first byte
	var fdsOf [][]int
	for i, size := range []int{10, largeFrame + 3, largeFrame, 100<<10 + 5, 1<<20 + 1} {
		u := wire.User{Target: port(1), Sender: port(0x7e), Seq: uint64(i), Method: 3, Payload: pattern(i, size)}
		for k := range i % 3 {
			u.Ports = append(u.Ports, wire.PortDescriptor{Name: port(byte(20 + k)), PeerClosed: true, Proxy: port(0x7d)})
		}
		s := sent{u: u}
		var fds []int
		for range i + 1 {
			fd, ino := inodeFD(t)
			fds = append(fds, fd)
			s.inodes = append(s.inodes, ino)
		}
		s.u.NumHandles = len(fds)
		frame := wire.AppendUser(nil, &s.u)
		at := len(stream)
		end := wire.UserPayloadOffset + size
		pieces := []int{1, wire.HeaderSize - 1, wire.HeaderSize + 1, 52, 60, wire.UserPayloadOffset,
			wire.UserPayloadOffset + 1, wire.UserPayloadOffset + 4096, end - 1, end, end + 1, len(frame) - 1}
		switch i {
		case 0:
			pieces = nil
		case 1:
			// After a small frame the reader reads all it can: the
			// small frame, this one's fixed part, payload and part of
			// its descriptor in one read, out of which it must take the
			// payload and keep what follows.
			pieces = []int{len(frame) - 2}
		}
		for _, c := range pieces {
			if c > 0 && c < len(frame) && (len(cuts) == 0 || at+c > cuts[len(cuts)-1]) {
				cuts = append(cuts, at+c)
			}
		}
		stream = append(stream, frame...)
		fdsAt, fdsOf = append(fdsAt, at), append(fdsOf, fds)
		want = append(want, s)
	}
	cuts = append(cuts, len(stream))

	from, next := 0, 0
	for _, to := range cuts {
		var fds []int
		// Handles ride with the piece that holds their frame's first byte.
		for next < len(fdsAt) && fdsAt[next] < to {
			fds = append(fds, fdsOf[next]...)
			next++
		}
		writeAndWaitRead(t, cb, stream[from:to], fds, inq)
		closeFDs(fds)
		from = to
	}

	got := ra.waitFrames(t, len(want))
	for i, w := range want {
		u := got[i].User
		if u.Seq != w.u.Seq || u.Method != 3 || !bytes.Equal(u.Payload, w.u.Payload) {
			t.Fatalf("frame %d: seq %d, %d payload bytes: differs from what was sent", i, u.Seq, len(u.Payload))
		}
		if len(w.u.Payload) >= largeFrame-wire.UserPayloadOffset && cap(u.Payload) != len(w.u.Payload) {
			t.Fatalf("frame %d: payload of %d bytes has capacity %d, want exactly its length", i, len(u.Payload), cap(u.Payload))
		}
		if len(u.Ports) != len(w.u.Ports) {
			t.Fatalf("frame %d: %d ports, want %d", i, len(u.Ports), len(w.u.Ports))
		}
		for k := range u.Ports {
			if u.Ports[k] != w.u.Ports[k] {
				t.Fatalf("frame %d port %d: %+v, want %+v", i, k, u.Ports[k], w.u.Ports[k])
			}
		}
		fds := ra.fds[i]
		if len(fds) != len(w.inodes) {
			t.Fatalf("frame %d: %d handles, want %d", i, len(fds), len(w.inodes))
		}
		for j, fd := range fds {
			var st unix.Stat_t
			if err := unix.Fstat(fd, &st); err != nil {
				t.Fatal(err)
			}
			if st.Ino != w.inodes[j] {
				t.Fatalf("frame %d handle %d: inode %d, want %d", i, j, st.Ino, w.inodes[j])
			}
		}
	}
}

// TestLargeFrameStalls: a peer that stops anywhere inside a large frame
// (in its fixed part, before the reader knows the payload's length; in
// the payload; after the payload, in the descriptors) is cut with
// ErrFrameTimeout, charged to it, once the timeout has passed; the frames
// before it are delivered.
func TestLargeFrameStalls(t *testing.T) {
	const timeout = 100 * time.Millisecond
	u := wire.User{Target: port(1), Sender: port(0x7e), Seq: 1, Payload: make([]byte, 200<<10+1),
		Ports: []wire.PortDescriptor{{Name: port(9), PeerClosed: true, Proxy: port(0x7d)}}}
	frame := wire.AppendUser(nil, &u)
	whole := userFrame(0, 0, []byte("before"), 0)
	for _, tc := range []struct {
		name string
		cut  int
	}{
		{"in the fixed part", 40},
		{"at the payload", wire.UserPayloadOffset},
		{"in the payload", wire.UserPayloadOffset + 100<<10},
		{"in the descriptors", len(frame) - 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca, cb := socketPair(t)
			defer cb.Close()
			ra := newRecorder()
			start(t, ca, ra, Options{FrameTimeout: timeout})
			began := time.Now()
			if _, err := cb.Write(append(append([]byte(nil), whole...), frame[:tc.cut]...)); err != nil {
				t.Fatal(err)
			}
			err := ra.waitError(t)
			if !errors.Is(err, ErrFrameTimeout) || !errors.Is(err, ErrPeerFault) {
				t.Fatalf("HandleError(%v), want ErrFrameTimeout charged to the peer", err)
			}
			if waited := time.Since(began); waited < timeout {
				t.Fatalf("cut after %v, before the timeout of %v", waited, timeout)
			}
			if want := fmt.Sprintf("%d of %d bytes", tc.cut, len(frame)); !strings.Contains(err.Error(), want) {
				t.Fatalf("HandleError(%v): does not say %q", err, want)
			}
			if got := len(ra.waitFrames(t, 1)); got != 1 {
				t.Fatalf("%d frames delivered, want the whole one before", got)
			}
		})
	}
}

// TestLargeFrameBadPayloadLength: a large frame whose payload length does
// not fit the frame it declares is refused as the peer's fault as soon as
// its fixed part is in, before anything is allocated for it, and one whose
// payload is followed by the wrong padding is refused once whole.
func TestLargeFrameBadPayloadLength(t *testing.T) {
	u := wire.User{Target: port(1), Sender: port(0x7e), Payload: make([]byte, 100<<10+1)}
	frame := wire.AppendUser(nil, &u)
	tooLong := append([]byte(nil), frame[:wire.UserPayloadOffset]...)
	binary.LittleEndian.PutUint32(tooLong[52:], 1<<31) // the payload length field
	badPad := append([]byte(nil), frame...)
	badPad[wire.UserPayloadOffset+len(u.Payload)] = 1
	for _, tc := range []struct {
		name  string
		bytes []byte
	}{{"payload longer than the frame", tooLong}, {"non-zero padding", badPad}} {
		t.Run(tc.name, func(t *testing.T) {
			ca, cb := socketPair(t)
			defer cb.Close()
			ra := newRecorder()
			start(t, ca, ra, Options{})
			if _, err := cb.Write(tc.bytes); err != nil {
				t.Fatal(err)
			}
			err := ra.waitError(t)
			var de *wire.DecodeError
			if !errors.Is(err, ErrPeerFault) || !errors.As(err, &de) {
				t.Fatalf("HandleError(%v), want a decode error charged to the peer", err)
			}
		})
	}
}
