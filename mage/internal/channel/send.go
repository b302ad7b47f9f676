package channel

import (
	"fmt"

	"github.com/mage-ipc/mage/mage/internal/wire"
)

// Send queues frames, one or more whole encoded frames, for the peer, with
// fds, the descriptors their headers declare, in frame order. It copies
// frames and never blocks on the peer. The channel owns fds from the call
// on, whatever the outcome: it closes them once sent, or at once if Send
// fails. The frames' headers are checked (wire.ParseHeader, the size limit,
// the descriptor count), not their bodies, which the wire.Append functions
// guarantee; a failing check returns an error wrapping ErrInvalidSend and
// queues nothing.
//
// Frames from one goroutine are sent in call order; frames from concurrent
// calls are never interleaved inside a call. Send returns ErrClosed once the
// channel is stopping or CloseAfterFlush has begun, ErrBackpressure when the
// queue is full (see Options.MaxPendingBytes), and otherwise nil, which
// means the frames will be written unless the channel stops first.
func (c *Channel) Send(frames []byte, fds []int) error {
	return c.send(nil, frames, fds)
}

// SendFunc is Send without the copy: fn appends whole encoded frames to the
// buffer it is given and returns it, as the wire.Append functions do. fn runs
// with the channel's lock held, so it must be quick and must not call the
// Channel; it must not change the bytes it was given.
func (c *Channel) SendFunc(fn func(buf []byte) []byte, fds []int) error {
	return c.send(fn, nil, fds)
}

func (c *Channel) send(fn func([]byte) []byte, frames []byte, fds []int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.sendableLocked(); err != nil {
		closeFDs(fds)
		return err
	}
	p := &c.pending
	m := p.mark()
	if fn != nil {
		p.buf = fn(p.buf)
	} else {
		p.buf = append(p.buf, frames...)
	}
	if err := c.indexLocked(m.buf, fds); err != nil {
		p.truncate(m)
		closeFDs(fds)
		return err
	}
	return c.queuedLocked(m, fds)
}

// SendUser queues one User frame, encoded straight into the queue with the
// descriptor count it declares, so nothing is parsed again. fds are the
// descriptors, u.NumHandles of them, which the channel owns from the call
// on, as with Send. A payload of largePayload bytes or more is not copied:
// the queue refers to it until the kernel has taken it, so the caller must
// not change it after a call that succeeded (Options.PayloadSent says when
// it may). A frame that cannot be encoded or exceeds Options.MaxFrameSize
// returns an error wrapping ErrInvalidSend. Errors and order are otherwise
// as for Send.
func (c *Channel) SendUser(u *wire.User, fds []int) error {
	if err := c.checkUser(u, fds); err != nil {
		closeFDs(fds)
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.sendableLocked(); err != nil {
		closeFDs(fds)
		return err
	}
	p := &c.pending
	m := p.mark()
	if len(fds) > 0 {
		p.recs = append(p.recs, fdRecord{off: p.len(), n: len(fds)})
		p.fds = append(p.fds, fds...)
	}
	if len(u.Payload) >= largePayload {
		p.buf = wire.AppendUserWithoutPayload(p.buf, u)
		p.insertExt(m.buf+wire.UserPayloadOffset, u.Payload)
		if !c.largeSocket {
			c.largeSocket, c.growSocket = true, true
		}
	} else {
		p.buf = wire.AppendUser(p.buf, u)
	}
	return c.queuedLocked(m, fds)
}

// checkUser reports why u, with fds, cannot be sent, if it cannot.
func (c *Channel) checkUser(u *wire.User, fds []int) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSend, err)
	}
	if n := u.EncodedLen(); n > c.opts.MaxFrameSize {
		return fmt.Errorf("%w: user frame is %d bytes, limit %d: %w", ErrInvalidSend, n, c.opts.MaxFrameSize, wire.ErrTooLarge)
	}
	if u.NumHandles != len(fds) {
		return fmt.Errorf("%w: user frame declares %d handles, %d given", ErrInvalidSend, u.NumHandles, len(fds))
	}
	return nil
}

// queuedLocked applies the pending bounds to what was appended after m,
// undoing it if they refuse it, and starts writing if the writer is idle.
func (c *Channel) queuedLocked(m batchMark, fds []int) error {
	p := &c.pending
	before := m.buf + m.extBytes - p.written
	var err error
	switch {
	case c.opts.MaxPendingBytes > 0 && before > 0 && p.unwritten() > c.opts.MaxPendingBytes:
		err = fmt.Errorf("%w: %d bytes queued, limit %d", ErrBackpressure, p.unwritten(), c.opts.MaxPendingBytes)
	case c.opts.MaxPendingFDs > 0 && before > 0 && len(p.fds)-p.sent > c.opts.MaxPendingFDs:
		err = fmt.Errorf("%w: %d descriptors queued, limit %d", ErrBackpressure, len(p.fds)-p.sent, c.opts.MaxPendingFDs)
	}
	if err != nil {
		p.truncate(m)
		closeFDs(fds)
		if c.opts.StopWhenFull {
			err = peerFault(fmt.Errorf("channel: the peer does not read: %w", err))
			c.stopLocked(err)
		}
		return err
	}
	if before == 0 && !c.writing {
		if c.opts.DeferDirectWrite {
			c.directDue = true
		} else {
			c.writePendingLocked()
		}
	}
	return nil
}

// WritePending writes what Send and SendUser queued with
// Options.DeferDirectWrite: from the calling goroutine, without blocking,
// when the writer is idle; whatever the socket does not take goes to the
// writer. It is cheap when nothing waits. Frames keep their order: every
// write, from here or from the writer, takes the oldest bytes first.
//
// The system call runs without Channel.mu: the caller takes the pending
// batch as its own (directOwned, with writing set, so that no other write
// starts, from the writer or another caller) and releases the lock, so
// that other goroutines go on queueing behind it meanwhile. Once the
// socket has taken the batch, what they queued goes out in the same way,
// many frames per call, up to maxDirectRounds batches; a batch the socket
// did not take whole is handed to the writer (handoff), which finishes it
// before it takes anything queued after it.
func (c *Channel) WritePending() {
	c.mu.Lock()
	if !c.directDue {
		// Nothing queued, or the writer has it: a write from here
		// would only take bytes from under its batching.
		c.mu.Unlock()
		return
	}
	c.directDue = false
	if c.stopErr != nil || c.writing || c.pending.unwritten() == 0 {
		c.mu.Unlock()
		return
	}
	grow := c.growSocket
	c.growSocket = false
	if !c.takeDirectLocked() {
		c.signalWriterLocked()
		c.mu.Unlock()
		if grow {
			c.growSendBuffer()
		}
		return
	}
	c.writing, c.directOwned = true, true
	for round := 1; ; round++ {
		c.pending, c.directBatch = c.directBatch, c.pending
		c.inflight.Store(int64(c.directBatch.unwritten()))
		c.mu.Unlock()
		if grow {
			c.growSendBuffer()
			grow = false
		}
		whole := c.writeDirect(&c.directBatch, true)
		c.mu.Lock()
		if !c.directWrittenLocked(whole, round) {
			c.mu.Unlock()
			return
		}
	}
}

// maxDirectRounds bounds the batches one WritePending writes: past it,
// what others keep queueing goes to the writer, so that a caller's
// goroutine does not write for the whole process for ever.
const maxDirectRounds = 4

// takeDirectLocked reports whether the pending bytes may go straight to the
// socket from the caller's goroutine: the writer is idle, so nothing is in
// flight, unless this side is streaming (see streamingAfter).
func (c *Channel) takeDirectLocked() bool {
	streaming := c.directRun.Load() > streamingAfter
	if !streaming {
		// Counted up to one past the bound only, so that a stream of any
		// length never wraps it (under mu; the reader only resets it).
		c.directRun.Add(1)
	}
	return !c.opts.noDirectWrite && !streaming
}

// directWrittenLocked settles a direct write of c.directBatch, whole or
// not, back under c.mu, and reports whether the caller is to write again
// (what was queued meanwhile). A channel that stopped meanwhile drops the
// batch here, since its writer may have gone already; a batch left unfinished
// goes to the writer.
func (c *Channel) directWrittenLocked(whole bool, round int) bool {
	switch {
	case c.stopErr != nil:
		c.directBatch.discard(c.opts.PayloadSent)
		c.inflight.Store(0)
		c.directOwned = false
		c.doneWritingLocked()
		return false
	case !whole:
		// The writer finishes it first (flush), then goes on with what
		// is pending; writing stays set meanwhile.
		c.directOwned, c.handoff = false, true
		c.signalWriterLocked()
		return false
	}
	c.directBatch.reset(c.opts.PayloadSent)
	c.keptBigLocked()
	c.inflight.Store(0)
	switch {
	case c.pending.unwritten() == 0:
		c.directOwned = false
		c.doneWritingLocked()
		return false
	case round >= maxDirectRounds:
		c.directOwned = false
		c.writing = false
		c.signalWriterLocked()
		return false
	}
	return true
}

// doneWritingLocked records that nothing is being written and nothing is
// pending: CloseAfterFlush may go on.
func (c *Channel) doneWritingLocked() {
	c.writing = false
	if c.flushed != nil {
		close(c.flushed)
		c.flushed = nil
	}
}

// growSendBuffer grows the socket's send buffer for large payloads. A
// smaller buffer only costs more wake-ups: a failure is ignored. It is a
// system call, so it runs under no lock of the channel's or its callers'.
func (c *Channel) growSendBuffer() { _ = c.conn.SetWriteBuffer(largeSocketBuffer) }

// writeDirect tries, without blocking, to write the whole of b from the
// calling goroutine. It reports whether everything went; if only a part
// did, the rest stays in b. Any failure is left for the writer to meet and
// report. With owned, b is the caller's own batch (directOwned), written
// without c.mu and counted in inflight; else it is c.pending, under c.mu.
func (c *Channel) writeDirect(b *batch, owned bool) bool {
	w := c.direct
	w.wait = false
	for b.unwritten() > 0 {
		if owned && c.beforeDirectWrite != nil {
			c.beforeDirectWrite()
		}
		b.prepare(w)
		err := c.raw.Write(w.writeFunc)
		if err != nil || w.err != nil || w.n <= 0 {
			w.n = 0
			b.advance(w)
			return false
		}
		b.advance(w)
		if owned {
			c.inflight.Add(-int64(w.n))
		}
	}
	return true
}

// writePendingLocked starts writing the pending batch while the writer is
// idle, for a channel without Options.DeferDirectWrite (whose Send writes
// under c.mu, non-blocking): straight to the socket if it takes
// everything, otherwise through the writer.
func (c *Channel) writePendingLocked() {
	if c.growSocket {
		c.growSocket = false
		c.growSendBuffer()
	}
	if c.takeDirectLocked() && c.writeDirectLocked() {
		return
	}
	c.signalWriterLocked()
}

// streamingAfter is how many writes in a row a channel starts from Send's
// goroutine while nothing comes back before it leaves them to the writer.
// A write straight from the caller saves a goroutine hand-off, which is
// what a request waiting for its reply wants; but a side that only sends
// (a one-way stream) then makes one system call per frame. Left to the
// writer, its frames gather while the writer's write is in progress and
// go out many per call. A frame from the peer (a reply, an ack) ends the
// run, so request and reply traffic keeps writing straight out.
const streamingAfter = 16

// sendableLocked reports why Send must refuse, if it must.
func (c *Channel) sendableLocked() error {
	switch {
	case c.stopErr != nil, c.draining:
		return ErrClosed
	case c.writeErr != nil:
		return c.writeErr
	}
	return nil
}

// indexLocked checks the frames appended to the pending batch from start on,
// records which of them own descriptors, and appends fds to the batch.
func (c *Channel) indexLocked(start int, fds []int) error {
	p := &c.pending
	declared := 0
	off := start
	for off < len(p.buf) {
		h, err := wire.ParseHeader(p.buf[off:])
		if err != nil {
			return fmt.Errorf("%w: frame at byte %d: %w", ErrInvalidSend, off-start, err)
		}
		if h.Length > c.opts.MaxFrameSize {
			return fmt.Errorf("%w: frame at byte %d is %d bytes, limit %d: %w",
				ErrInvalidSend, off-start, h.Length, c.opts.MaxFrameSize, wire.ErrTooLarge)
		}
		if h.Length > len(p.buf)-off {
			return fmt.Errorf("%w: frame at byte %d is %d bytes, only %d given",
				ErrInvalidSend, off-start, h.Length, len(p.buf)-off)
		}
		if h.NumHandles > 0 {
			p.recs = append(p.recs, fdRecord{off: off + p.extBytes, n: h.NumHandles})
		}
		declared += h.NumHandles
		off += h.Length
	}
	switch {
	case off == start:
		return fmt.Errorf("%w: no frames", ErrInvalidSend)
	case declared != len(fds):
		return fmt.Errorf("%w: headers declare %d handles, %d given", ErrInvalidSend, declared, len(fds))
	}
	p.fds = append(p.fds, fds...)
	return nil
}

// writeDirectLocked tries, without blocking, to write the whole pending
// batch from the calling goroutine, under c.mu. It reports whether
// everything went; if only a part did, the rest stays pending.
func (c *Channel) writeDirectLocked() bool {
	if !c.writeDirect(&c.pending, false) {
		return false
	}
	c.pending.reset(c.opts.PayloadSent)
	c.keptBigLocked()
	return true
}

// signalWriterLocked wakes the writer if it is waiting.
func (c *Channel) signalWriterLocked() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}
