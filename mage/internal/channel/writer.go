package channel

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// writeLoop waits for frames and writes them until the channel stops (nil)
// or a write fails (the error). inflight is the writer's batch; whatever it
// holds on return is the caller's to discard.
//
// It waits before its first flush too: whatever queued the bytes woke it
// (wake keeps one signal for a writer not yet running), unless they were
// queued with Options.DeferDirectWrite, whose WritePending writes them.
// Flushing at once on start would take those from under the owner.
func (c *Channel) writeLoop(inflight *batch) error {
	for {
		select {
		case <-c.wake:
		case <-c.quit:
			return nil
		}
		if err := c.flush(inflight); err != nil {
			return err
		}
	}
}

// flush swaps the pending batch into inflight and writes it, until nothing
// is pending; a batch a WritePending caller handed over goes before it.
func (c *Channel) flush(inflight *batch) error {
	for {
		c.mu.Lock()
		if c.stopErr != nil {
			c.mu.Unlock()
			return nil
		}
		if c.directOwned {
			// A WritePending caller is writing: it finishes, hands its
			// batch over (and signals) or leaves writing off itself.
			c.mu.Unlock()
			return nil
		}
		if c.handoff {
			// What a WritePending caller left unfinished goes first.
			c.handoff = false
			c.directBatch, *inflight = *inflight, c.directBatch
		} else if c.pending.unwritten() == 0 {
			c.doneWritingLocked()
			c.keptBigLocked()
			c.mu.Unlock()
			return nil
		} else {
			c.pending, *inflight = *inflight, c.pending
		}
		c.inflight.Store(int64(inflight.unwritten()))
		c.writing = true
		grow := c.growSocket
		c.growSocket = false
		c.mu.Unlock()
		if grow {
			c.growSendBuffer()
		}

		err := c.writeBatch(inflight)
		c.inflight.Store(0)
		if err != nil {
			return err
		}
		inflight.reset(c.opts.PayloadSent)
	}
}

// writeBatch writes what is left of b, waiting (in the poller, not a
// thread) until the socket takes it.
func (c *Channel) writeBatch(b *batch) error {
	w := c.writer
	w.wait = true
	for b.unwritten() > 0 {
		b.prepare(w)
		err := c.raw.Write(w.writeFunc)
		if err == nil {
			err = w.err
		}
		if err != nil {
			b.advance(w) // w.n is 0: forgets the buffers
			return err
		}
		b.advance(w)
		c.inflight.Add(-int64(w.n))
	}
	return nil
}

// syscallWriter makes the system calls of one writer of a batch: the
// writer goroutine has one, the direct path (under Channel.mu) another.
// writeFunc is its write method bound once, so that a write allocates
// nothing unless it carries descriptors.
type syscallWriter struct {
	// What batch.prepare set up: the buffers, the descriptors that ride
	// with them, and, if the call starts a chunk, where it ends.
	iov      [][]byte
	fds      []int
	newChunk bool
	chunkEnd int
	chunkRec int
	// wait makes writeFunc ask the poller to wait while the socket is
	// full; without it, one attempt is made.
	wait bool
	// The call's outcome.
	n   int
	err error
	// msg makes the vectored calls.
	msg msgCalls

	writeFunc func(fd uintptr) bool
}

func newSyscallWriter() *syscallWriter {
	w := &syscallWriter{iov: make([][]byte, 0, 8)}
	w.writeFunc = w.write
	return w
}

// write is the syscall.RawConn callback: it reports false to have the
// poller wait for the socket.
func (w *syscallWriter) write(fd uintptr) bool {
	var n int
	var err error
	for {
		switch {
		case len(w.fds) > 0:
			n, err = w.msg.sendmsg(int(fd), w.iov, unix.UnixRights(w.fds...))
		case len(w.iov) == 1:
			n, err = unix.Write(int(fd), w.iov[0])
		default:
			n, err = w.msg.sendmsg(int(fd), w.iov, nil)
		}
		if err != unix.EINTR {
			break
		}
	}
	w.n, w.err = max(n, 0), err
	if err == unix.EAGAIN {
		w.n = 0
		if w.wait {
			w.err = nil
			return false
		}
	}
	return true
}

// peerGone reports whether a write failed because the peer closed its end,
// in which case the reader will still see what the peer sent, then EOF.
func peerGone(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}
