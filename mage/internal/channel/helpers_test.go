package channel

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mage-ipc/mage/mage/internal/wire"
)

// timeout bounds every wait in these tests. It is a failure deadline, not a
// synchronisation device: passing runs never wait for it.
const timeout = 20 * time.Second

// socketPair returns the two ends of a connected SOCK_STREAM socket pair.
func socketPair(t testing.TB) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fileConn(t, fds[0]), fileConn(t, fds[1])
}

func fileConn(t testing.TB, fd int) *net.UnixConn {
	t.Helper()
	unix.CloseOnExec(fd)
	f := os.NewFile(uintptr(fd), "socket")
	defer f.Close() // FileConn holds its own duplicate
	c, err := net.FileConn(f)
	if err != nil {
		t.Fatal(err)
	}
	return c.(*net.UnixConn)
}

// checkFDLeaks fails the test if it ends with more open descriptors than it
// started with. Register it before anything whose cleanup closes
// descriptors, so that it runs last.
func checkFDLeaks(t *testing.T) {
	t.Helper()
	before := openFDs()
	if before < 0 {
		return
	}
	t.Cleanup(func() {
		// More than before is a leak. Fewer is not: the baseline may
		// count a descriptor an earlier test was still closing.
		if after := openFDs(); after > before {
			t.Errorf("open descriptors: %d before, %d after", before, after)
		}
	})
}

// recorder is a Handler that remembers what it is given.
type recorder struct {
	// onFrame, if set, runs inside HandleFrame after recording.
	onFrame func(f *wire.Frame, fds []int)

	mu sync.Mutex
	// mu guards the fields below.
	frames  []wire.Frame
	fds     [][]int
	errs    []error
	changed chan struct{} // capacity 1: "something was recorded"
}

func newRecorder() *recorder {
	return &recorder{changed: make(chan struct{}, 1)}
}

func (r *recorder) HandleFrame(f *wire.Frame, fds []int) {
	r.mu.Lock()
	r.frames = append(r.frames, *f)
	r.fds = append(r.fds, fds)
	r.mu.Unlock()
	r.notify()
	if r.onFrame != nil {
		r.onFrame(f, fds)
	}
}

func (r *recorder) HandleError(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
	r.notify()
}

func (r *recorder) notify() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// waitFor waits until cond, evaluated under the lock, holds.
func (r *recorder) waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (r *recorder) waitFrames(t testing.TB, n int) []wire.Frame {
	t.Helper()
	r.waitFor(t, "frames", func() bool { return len(r.frames) >= n || len(r.errs) > 0 })
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.frames) < n {
		t.Fatalf("got %d frames, then error %v", len(r.frames), r.errs[0])
	}
	return append([]wire.Frame(nil), r.frames...)
}

// waitError waits for HandleError and returns its error.
func (r *recorder) waitError(t testing.TB) error {
	t.Helper()
	r.waitFor(t, "HandleError", func() bool { return len(r.errs) > 0 })
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errs[0]
}

// closeReceivedFDs closes every descriptor the recorder was given.
func (r *recorder) closeReceivedFDs() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, fds := range r.fds {
		closeFDs(fds)
	}
	r.fds = nil
}

// start makes a Channel over conn with h and starts it; cleanup closes it
// and checks that HandleError ran exactly once.
func start(t *testing.T, conn *net.UnixConn, h *recorder, opts Options) *Channel {
	t.Helper()
	c := newChannel(t, conn, h, opts)
	c.Start()
	return c
}

// newChannel is start without the Start.
func newChannel(t *testing.T, conn *net.UnixConn, h *recorder, opts Options) *Channel {
	t.Helper()
	c := New(conn, h, opts)
	t.Cleanup(func() {
		c.Close()
		select {
		case <-c.Done():
		case <-time.After(timeout):
			t.Error("channel did not finish")
		}
		h.mu.Lock()
		n := len(h.errs)
		h.mu.Unlock()
		if n != 1 {
			t.Errorf("HandleError called %d times, want 1", n)
		}
		h.closeReceivedFDs()
	})
	return c
}

// pipePair starts two channels over a socket pair.
func pipePair(t *testing.T, opts Options) (a, b *Channel, ra, rb *recorder) {
	t.Helper()
	ca, cb := socketPair(t)
	ra, rb = newRecorder(), newRecorder()
	return start(t, ca, ra, opts), start(t, cb, rb, opts), ra, rb
}

func port(b byte) (p wire.PortName) { p[0] = b; p[1] = 1; return p }
func node(b byte) (n wire.NodeName) { n[0] = b; n[1] = 2; return n }

func userFrame(seq uint64, method uint32, payload []byte, handles int) []byte {
	return wire.AppendUser(nil, &wire.User{Target: port(1), Sender: port(0x7e), Seq: seq, Method: method, Payload: payload, NumHandles: handles})
}

// newPipe returns a pipe; cleanup closes whichever ends are still open.
func newPipe(t testing.TB) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// dup returns a new descriptor for f, for handing to Send.
func dup(t testing.TB, f *os.File) int {
	t.Helper()
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	unix.CloseOnExec(fd)
	return fd
}

// readEOF checks that the pipe whose read end is r has no write end left
// open anywhere: a read sees EOF instead of blocking.
func readEOF(t testing.TB, r *os.File) {
	t.Helper()
	if err := r.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	n, err := r.Read(b[:])
	if n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("pipe read = %d, %v; want EOF (a write end is still open)", n, err)
	}
}
