package channel

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

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
	start, startRecs, startFDs := len(p.buf), len(p.recs), len(p.fds)
	if fn != nil {
		p.buf = fn(p.buf)
	} else {
		p.buf = append(p.buf, frames...)
	}
	err := c.indexLocked(start, fds)
	switch {
	case err != nil:
	case c.opts.MaxPendingBytes > 0 && start > 0 && len(p.buf) > c.opts.MaxPendingBytes:
		err = fmt.Errorf("%w: %d bytes queued, limit %d", ErrBackpressure, len(p.buf), c.opts.MaxPendingBytes)
	case c.opts.MaxPendingFDs > 0 && start > 0 && len(p.fds) > c.opts.MaxPendingFDs:
		err = fmt.Errorf("%w: %d descriptors queued, limit %d", ErrBackpressure, len(p.fds), c.opts.MaxPendingFDs)
	}
	if err != nil {
		p.truncate(start, startRecs, startFDs)
		closeFDs(fds)
		if c.opts.StopWhenFull && errors.Is(err, ErrBackpressure) {
			err = peerFault(fmt.Errorf("channel: the peer does not read: %w", err))
			c.stopLocked(err)
		}
		return err
	}
	if start == 0 && !c.writing {
		// The writer is idle: nothing is queued or in flight, so these
		// bytes may go straight to the socket.
		if !c.opts.noDirectWrite && c.writeDirectLocked() {
			return nil
		}
		c.signalWriterLocked()
	}
	return nil
}

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
			p.recs = append(p.recs, fdRecord{off: off, n: h.NumHandles})
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

// writeDirectLocked tries once, without blocking, to write the whole pending
// batch from the calling goroutine. It reports whether everything went; if
// only a prefix did, the rest stays pending (its descriptors went with the
// prefix). Any failure is left for the writer to meet and report.
func (c *Channel) writeDirectLocked() bool {
	p := &c.pending
	if len(p.fds) > maxFDsPerWrite {
		return false
	}
	err := c.raw.Write(c.directWrite)
	n, werr := c.directN, c.directErr
	if err != nil || werr != nil || n <= 0 {
		return false
	}
	// The kernel took the descriptors with the first byte.
	closeFDs(p.fds)
	if n == len(p.buf) {
		p.reset()
		return true
	}
	rest := copy(p.buf, p.buf[n:])
	p.truncate(rest, 0, 0)
	return false
}

// directWriteFunc is the syscall.RawConn callback of writeDirectLocked. It is
// a method value bound once in New, and reports through Channel fields, so
// that the direct path allocates nothing. c.mu must be held.
func (c *Channel) directWriteFunc(fd uintptr) bool {
	p := &c.pending
	if len(p.fds) > 0 {
		c.directN, c.directErr = unix.SendmsgN(int(fd), p.buf, unix.UnixRights(p.fds...), nil, 0)
	} else {
		c.directN, c.directErr = unix.Write(int(fd), p.buf)
	}
	return true // one attempt; never wait for the socket here
}

// signalWriterLocked wakes the writer if it is waiting.
func (c *Channel) signalWriterLocked() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}
