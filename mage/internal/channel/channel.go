package channel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mage-ipc/mage/mage/internal/wire"
)

// largeSocketBuffer is the send buffer a channel asks the kernel for once it
// carries large payloads: room for a large frame, so that the writer meets
// a full socket, and the peer's reader an empty one, less often (measured:
// 10 to 20% less CPU per MiB). Channels of small frames keep the default,
// which fills sooner and so makes the writer batch frames (with 1 MiB, a
// 16 B one-way stream took 60% more CPU per message: a write and a wake-up
// for nearly every frame). The kernel caps it (net.core.wmem_max); Unix
// stream sockets account unread bytes to the sender's buffer, so the
// receive buffer is left alone.
const largeSocketBuffer = 1 << 20

// Handler receives what a Channel reads. Both methods run on the channel's
// reader goroutine, so they must not block, and they never run user code:
// a slow handler stalls every frame behind it.
type Handler interface {
	// HandleFrame is called once per decoded frame, in order, with the
	// descriptors the frame carried; the handler owns them and must close
	// those it does not keep. f itself is reused after the call returns,
	// but every slice reachable from it (User.Payload, User.Ports,
	// Hello.Token, Attach) is a fresh copy the handler may keep, except a
	// small User.Payload with Options.LendPayloadsUpTo.
	HandleFrame(f *wire.Frame, fds []int)

	// HandleError is called exactly once, after the reader has stopped and
	// HandleFrame will not be called again. err is the first reason the
	// channel stopped: ErrClosed after Close, an error wrapping io.EOF when
	// the peer closed cleanly (io.ErrUnexpectedEOF if it closed mid-frame),
	// an error wrapping a wire error for a bad frame, one of this package's
	// sentinels for a descriptor problem, or the socket's error.
	HandleError(err error)
}

// BatchHandler is a Handler that also hears when the reader has handed
// over every complete frame it holds, before it waits for more bytes (or
// stops): a handler may then do at once what it put off for each frame,
// such as taking a lock once for a run of frames rather than once per
// frame. HandleBatchEnd runs on the reader's goroutine, like HandleFrame,
// and always before HandleError.
type BatchHandler interface {
	Handler
	HandleBatchEnd()
}

// Options configure a Channel. The zero value is ready to use.
type Options struct {
	// MaxFrameSize is the largest frame the channel sends or accepts, at
	// most wire.MaxFrameSize (the default when zero). A larger incoming
	// frame stops the channel; a larger outgoing one fails Send.
	MaxFrameSize int

	// MaxPendingBytes bounds the bytes Send may queue behind the write in
	// progress; zero means no bound. A Send that would exceed it fails with
	// ErrBackpressure, except that a send into an empty queue is always
	// accepted, so one large frame cannot be refused forever.
	MaxPendingBytes int

	// MaxPendingFDs bounds the descriptors Send may queue behind the write
	// in progress, as MaxPendingBytes bounds bytes; zero means no bound.
	MaxPendingFDs int

	// StopWhenFull makes a Send that would exceed MaxPendingBytes or
	// MaxPendingFDs stop the channel instead of only failing: the peer is
	// not reading, and frames that cannot be refused (acknowledgements,
	// closures) must not be lost while the channel lives on. The error
	// Send returns, and HandleError receives, matches both ErrBackpressure
	// and ErrPeerFault.
	StopWhenFull bool

	// HandshakeFrameSize, when not zero, is the largest frame accepted
	// until LiftHandshakeLimit is called: a peer that has not proved who it
	// is yet cannot make the reader hold more than this for one frame. A
	// larger frame stops the channel as soon as its header arrives.
	HandshakeFrameSize int

	// FrameTimeout, when not zero, bounds the time between the arrival of
	// a frame's first byte and of its last. A peer that starts a frame and
	// stalls stops the channel with ErrFrameTimeout. Time between frames is
	// not bounded.
	FrameTimeout time.Duration

	// MaxQueuedFDs bounds the descriptors received ahead of the frames
	// that claim them (DefaultMaxQueuedFDs when zero). More stops the
	// channel with ErrTooManyHandles.
	MaxQueuedFDs int

	// LendPayloadsUpTo, when not zero, makes HandleFrame's User.Payload
	// of at most this many bytes a view of the reader's buffer, valid only
	// until HandleFrame returns: the Handler copies what it keeps, into
	// memory of its choosing (one allocation with its own record, say).
	// Longer payloads are the Handler's to keep, as without it.
	LendPayloadsUpTo int

	// MaxUserPayload, when not zero, is the largest User payload the
	// reader accepts. A frame that declares more stops the channel with a
	// peer fault matching wire.ErrTooLarge: a large one as soon as its
	// fixed part has arrived, before anything is allocated for its
	// payload, so a peer cannot make the reader allocate more than the
	// owner's own limit for one payload, however large MaxFrameSize is.
	MaxUserPayload int

	// NewPayload, when not nil, makes the buffer of each payload of a
	// large User frame (largeFrame bytes or more), which the reader reads
	// into apart from the rest of the frame and HandleFrame then gets as
	// User.Payload: it returns a slice of length n, with any contents
	// (the reader overwrites every byte before the Handler sees it), or
	// nil for a fresh one. n is
	// the length the frame declares, checked against the frame size
	// already accepted. A pool of buffers that their users hand back goes
	// here; without it, each payload is a fresh make.
	NewPayload func(n int) []byte

	// PayloadSent, when not nil, is given every payload that SendUser
	// accepted and left uncopied (those of largePayload bytes or more),
	// once the kernel has taken all of it or the channel has dropped it
	// (it stopped first): from then on the channel no longer refers to it,
	// so its owner may reuse it. It runs on the goroutine that wrote the
	// payload, possibly with the channel's lock held, so it must be quick
	// and must not call the Channel.
	PayloadSent func(p []byte)

	// DeferDirectWrite makes Send and SendUser only queue: when they find
	// the writer idle, they leave the write to the caller's next
	// WritePending, which it makes once it has released its own locks, so
	// that no system call runs under them. Without it, such a Send writes
	// at once from the calling goroutine.
	DeferDirectWrite bool

	// noDirectWrite makes every Send go through the writer goroutine. Only
	// the benchmarks that compare the two paths set it.
	noDirectWrite bool
}

// Channel is one socket to one peer node.
//
// Lifecycle: New, then Start once; Send and SendFunc may be called from any
// goroutine, before or after Start (before Start, frames queue or are
// written directly). Close stops the channel; it may be called any number of
// times from any goroutine, including from a Handler method. Done is closed
// once everything has finished.
type Channel struct {
	conn    *net.UnixConn
	raw     syscall.RawConn
	handler Handler
	opts    Options

	// wake (capacity 1) tells the writer there may be something to write.
	wake chan struct{}
	// quit is closed when the channel starts stopping.
	quit chan struct{}
	// readerDone and writerDone are closed when each goroutine has exited
	// (the reader after HandleError has returned); done when both have.
	readerDone chan struct{}
	writerDone chan struct{}
	done       chan struct{}

	// inCallback is set while a Handler method runs, so that a Close
	// called from one does not wait for the goroutine it runs on.
	inCallback atomic.Bool

	// peerHungUp is set once the peer has closed or shut down its end
	// (hangupWatch); the reader then reads until it sees the end.
	peerHungUp atomic.Bool

	// handshakeLifted is set by LiftHandshakeLimit.
	handshakeLifted atomic.Bool

	// inflight is the part of the writer's batch the kernel has not taken
	// yet, for Buffered.
	inflight atomic.Int64

	// directRun counts the writes started from Send's goroutine since the
	// reader last handed a frame up (see streamingAfter).
	directRun atomic.Int32

	// mu guards the fields below. It is held across the non-blocking
	// direct write in Send without Options.DeferDirectWrite (WritePending
	// writes without it) and across SendFunc's fn, never across a
	// blocking call.
	mu sync.Mutex
	// pending holds the frames (and their descriptors) waiting for the
	// writer, in order.
	pending batch
	// largeSocket is set once SendUser queued a large payload; growSocket
	// until the send buffer has been grown to largeSocketBuffer (not
	// under the caller's locks: see writePendingLocked).
	largeSocket bool
	growSocket  bool
	// directDue is set when a Send with Options.DeferDirectWrite queued
	// into an empty queue with the writer idle: the next WritePending
	// writes, as Send would have.
	directDue bool
	// writing is set while the writer, or a WritePending caller, owns a
	// batch it has not finished writing; Send must then queue behind it
	// instead of writing directly.
	writing bool
	// directOwned is set while a WritePending caller writes directBatch
	// without c.mu (the writer leaves everything alone meanwhile);
	// handoff when it left directBatch unfinished for the writer, which
	// writes it before anything pending.
	directOwned, handoff bool
	// directBatch is the batch WritePending writes: it takes the pending
	// batch's place while it does, and the writer takes it over on
	// handoff.
	directBatch batch
	// writerBatch is the batch the writer goroutine writes: it swaps it
	// with the pending one under mu, then writes it without mu while
	// writing is set (flush); while writing is clear it is idle, and
	// trimBuffers may drop its buffer.
	writerBatch batch
	// trimArmed is set while a garbage collection is to call trimBuffers
	// (retain.go).
	trimArmed bool
	// started is set by Start.
	started bool
	// draining is set by CloseAfterFlush: Send refuses new frames while
	// the writer empties the queue.
	draining bool
	// flushed, when non-nil, is closed by the writer once the queue is
	// empty (or the writer has stopped) and then cleared.
	flushed chan struct{}
	// stopErr is the first reason the channel stopped; non-nil means
	// stopping or stopped.
	stopErr error
	// writeErr is set when the writer failed; Send then fails too.
	writeErr error
	// direct makes the system calls of the direct write.
	direct *syscallWriter

	// writer makes the writer goroutine's system calls; only it uses it.
	writer *syscallWriter

	// beforeDirectWrite, when set (by tests, before the channel is
	// used), runs before each system call of WritePending's.
	beforeDirectWrite func()
	// afterTrim, when set (by tests, before the channel is used), runs
	// at the end of each trimBuffers, under mu.
	afterTrim func()
}

// New returns a Channel over conn, which must be a connected SOCK_STREAM
// Unix socket. The Channel owns conn from now on and closes it when it
// stops. Nothing is read or written until Start or Send. New panics if conn
// is nil.
func New(conn *net.UnixConn, h Handler, opts Options) *Channel {
	raw, err := conn.SyscallConn()
	if err != nil {
		panic(fmt.Sprintf("channel: New: %v", err))
	}
	if opts.MaxFrameSize <= 0 || opts.MaxFrameSize > wire.MaxFrameSize {
		opts.MaxFrameSize = wire.MaxFrameSize
	}
	if opts.MaxPendingBytes < 0 {
		opts.MaxPendingBytes = 0
	}
	if opts.MaxPendingFDs < 0 {
		opts.MaxPendingFDs = 0
	}
	if opts.HandshakeFrameSize < 0 || opts.HandshakeFrameSize > opts.MaxFrameSize {
		opts.HandshakeFrameSize = 0
	}
	if opts.FrameTimeout < 0 {
		opts.FrameTimeout = 0
	}
	if opts.MaxUserPayload < 0 {
		opts.MaxUserPayload = 0
	}
	if opts.MaxQueuedFDs <= 0 {
		opts.MaxQueuedFDs = DefaultMaxQueuedFDs
	}
	c := &Channel{
		conn:       conn,
		raw:        raw,
		handler:    h,
		opts:       opts,
		wake:       make(chan struct{}, 1),
		quit:       make(chan struct{}),
		readerDone: make(chan struct{}),
		writerDone: make(chan struct{}),
		done:       make(chan struct{}),
	}
	c.direct, c.writer = newSyscallWriter(), newSyscallWriter()
	return c
}

// Start starts the reader and writer goroutines. Calling it again, or after
// Close, does nothing.
func (c *Channel) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.stopErr != nil {
		return
	}
	c.started = true
	go c.runWriter()
	go c.runReader()
}

// Close stops the channel: it closes the socket, drops frames not yet
// written and closes every queued descriptor. It then waits for both
// goroutines to exit, so that HandleError has returned (with ErrClosed
// unless the channel had already stopped for another reason) and no Handler
// method runs any more. The one exception: while a Handler method is
// running, as when Close is called from one, Close does not wait for the
// reader, which exits as soon as that method returns; Done reports when it
// has. Close is idempotent and always returns nil.
func (c *Channel) Close() error {
	c.mu.Lock()
	c.stopLocked(ErrClosed)
	if !c.started {
		// Never started: do here what the goroutines would have done on
		// their way out. Setting started makes later Closes wait below.
		c.started = true
		c.pending.discard(c.opts.PayloadSent)
		c.discardHandoffLocked()
		c.mu.Unlock()
		close(c.writerDone)
		c.callHandleError(ErrClosed)
		close(c.readerDone)
		close(c.done)
		return nil
	}
	c.mu.Unlock()
	<-c.writerDone
	if !c.inCallback.Load() {
		<-c.done
	}
	return nil
}

// CloseAfterFlush stops accepting frames (Send fails with ErrClosed), waits
// until everything queued has been handed to the kernel or ctx is done, and
// then closes the channel as Close does. Bytes handed to the kernel stay
// readable by the peer after the socket closes. It returns ctx's error if it
// gave up, the write error if the socket failed, the reason the channel
// stopped if it stopped first (or had already), and nil otherwise. It must be
// called after Start, and not from a Handler method, which must not block.
func (c *Channel) CloseAfterFlush(ctx context.Context) error {
	c.mu.Lock()
	if c.stopErr != nil {
		c.mu.Unlock()
		_ = c.Close()
		return c.reason()
	}
	c.draining = true
	var flushed chan struct{}
	if c.writing || c.pending.unwritten() > 0 {
		if c.flushed == nil {
			c.flushed = make(chan struct{})
		}
		flushed = c.flushed
		c.signalWriterLocked()
	}
	c.mu.Unlock()

	var err error
	if flushed != nil {
		select {
		case <-flushed:
		case <-ctx.Done():
			err = ctx.Err()
		case <-c.quit:
			// Stopped for another reason before the queue emptied.
			err = c.reason()
		}
	}
	c.mu.Lock()
	if err == nil && c.writeErr != nil {
		err = c.writeErr
	}
	c.mu.Unlock()
	_ = c.Close()
	return err
}

// Abort stops the channel with err as the reason HandleError receives,
// unless it had stopped already. Unlike Close it does not wait for the
// goroutines, so it may be called with locks held that a Handler method
// takes; Done reports when everything has finished.
func (c *Channel) Abort(err error) {
	c.stop(err)
}

// LiftHandshakeLimit lifts Options.HandshakeFrameSize: from the next frame
// on, frames up to MaxFrameSize are accepted. Call it from HandleFrame once
// the peer has proved who it is.
func (c *Channel) LiftHandshakeLimit() { c.handshakeLifted.Store(true) }

// maxRecvFrame is the largest frame the reader accepts now.
func (c *Channel) maxRecvFrame() int {
	if c.opts.HandshakeFrameSize > 0 && !c.handshakeLifted.Load() {
		return c.opts.HandshakeFrameSize
	}
	return c.opts.MaxFrameSize
}

// Done is closed when the channel has stopped completely: both goroutines
// have exited and HandleError has returned.
func (c *Channel) Done() <-chan struct{} { return c.done }

// Buffered returns the number of bytes sent and not yet taken by the
// kernel: those queued and those of the write in progress.
func (c *Channel) Buffered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending.unwritten() + int(c.inflight.Load())
}

// stop records err as the reason the channel stops, if it is the first.
func (c *Channel) stop(err error) {
	c.mu.Lock()
	c.stopLocked(err)
	c.mu.Unlock()
}

// stopLocked records err, if it is the first reason, and unblocks both
// goroutines by closing the socket.
func (c *Channel) stopLocked(err error) {
	if c.stopErr != nil {
		return
	}
	c.stopErr = err
	close(c.quit)
	if !c.started {
		// No goroutine reads or waits on the socket.
		_ = c.conn.Close()
		return
	}
	// The reader runs its whole loop, the Handler's methods included,
	// inside one RawConn.Read (reader.loop), which holds a reference to
	// the descriptor: closing it here would wait for that read to end,
	// from a Handler method or under a lock one takes. So deadlines in the
	// past wake the reader and a writer waiting for room, and the reader
	// closes the socket once it is out of its read (runReader). The
	// reader arms its frame timeout before it checks quit, so a deadline
	// it sets cannot undo this one unseen.
	_ = c.conn.SetReadDeadline(pastDeadline)
	_ = c.conn.SetWriteDeadline(pastDeadline)
}

// pastDeadline is a deadline that has passed: setting it wakes whoever
// waits on the socket.
var pastDeadline = time.Unix(1, 0)

// reason returns the recorded reason for stopping.
func (c *Channel) reason() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopErr
}

// runReader is the reader goroutine. It is the last to finish: it closes
// done once the writer has exited too, which stop guarantees happens soon.
func (c *Channel) runReader() {
	defer func() {
		close(c.readerDone)
		<-c.writerDone
		close(c.done)
	}()
	rd := newReader(c)
	watch := startHangupWatch(c)
	rd.trustEmptied = watch != nil
	err := rd.loop()
	if err == nil || errors.Is(err, net.ErrClosed) {
		// The loop ends without an error of its own only because the
		// channel is stopping for a reason already recorded.
		err = ErrClosed
	}
	c.stop(err)
	// Out of its read, the reader closes the socket (see stopLocked); the
	// net package keeps the descriptor alive until a write in progress has
	// left its system call, and the writer, woken by its deadline, leaves.
	_ = c.conn.Close()
	watch.stop()
	rd.fds.closeAll()
	c.callHandleError(c.reason())
}

// callHandleError calls the Handler's HandleError, marked as a callback so
// that a Close from inside it does not wait for itself.
func (c *Channel) callHandleError(err error) {
	c.inCallback.Store(true)
	defer c.inCallback.Store(false)
	c.handler.HandleError(err)
}

// runWriter is the writer goroutine.
func (c *Channel) runWriter() {
	defer close(c.writerDone)
	err := c.writeLoop(&c.writerBatch)

	c.mu.Lock()
	c.writerBatch.discard(c.opts.PayloadSent)
	c.mu.Unlock()

	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil && c.stopErr == nil {
		c.writeErr = fmt.Errorf("%w: write failed: %w", ErrClosed, err)
		if !peerGone(err) {
			// The socket is broken in a way the reader may never
			// notice; stop everything.
			c.stopLocked(fmt.Errorf("channel: write: %w", err))
		}
		// Otherwise the peer closed its end: the reader still drains
		// what the peer sent before it went, then sees EOF.
	}
	if c.writeErr == nil {
		c.writeErr = ErrClosed
	}
	c.pending.discard(c.opts.PayloadSent)
	c.discardHandoffLocked()
	if c.flushed != nil {
		close(c.flushed)
		c.flushed = nil
	}
}

// discardHandoffLocked drops a batch a WritePending caller left for a
// writer that will not write it. One a caller still writes is that
// caller's to drop (directWrittenLocked).
func (c *Channel) discardHandoffLocked() {
	if c.handoff {
		c.handoff = false
		c.directBatch.discard(c.opts.PayloadSent)
	}
}
