package channel

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// writeLoop waits for frames and writes them until the channel stops (nil)
// or a write fails (the error). inflight is the writer's batch; whatever it
// holds on return is the caller's to discard.
func (c *Channel) writeLoop(inflight *batch) error {
	for {
		if err := c.flush(inflight); err != nil {
			return err
		}
		select {
		case <-c.wake:
		case <-c.quit:
			return nil
		}
	}
}

// flush swaps the pending batch into inflight and writes it, until nothing
// is pending.
func (c *Channel) flush(inflight *batch) error {
	for {
		c.mu.Lock()
		if c.stopErr != nil {
			c.mu.Unlock()
			return nil
		}
		if c.pending.len() == 0 {
			c.writing = false
			if c.flushed != nil {
				close(c.flushed)
				c.flushed = nil
			}
			c.mu.Unlock()
			return nil
		}
		c.pending, *inflight = *inflight, c.pending
		c.writing = true
		c.mu.Unlock()

		if err := c.writeBatch(inflight); err != nil {
			return err
		}
		inflight.reset()
	}
}

// writeBatch writes b in as few system calls as the descriptors allow. A
// sendmsg carrying descriptors starts at or before the first frame that owns
// them and carries at most maxFDsPerWrite; so each write runs up to the
// first frame whose descriptors do not fit, and that frame starts the next.
// net.UnixConn blocks (in the poller, not a thread) until the socket takes
// the bytes, and Write finishes partial writes itself.
func (c *Channel) writeBatch(b *batch) error {
	pos, rec := 0, 0
	for pos < len(b.buf) {
		end, next, nfds := len(b.buf), rec, 0
		for next < len(b.recs) && nfds+b.recs[next].n <= maxFDsPerWrite {
			nfds += b.recs[next].n
			next++
		}
		if next < len(b.recs) {
			end = b.recs[next].off
		}
		chunk := b.buf[pos:end]
		if nfds > 0 {
			fds := b.fds[b.sent : b.sent+nfds]
			n, _, err := c.conn.WriteMsgUnix(chunk, unix.UnixRights(fds...), nil)
			if err != nil {
				return err
			}
			closeFDs(fds)
			b.sent += nfds
			chunk = chunk[n:]
		}
		if len(chunk) > 0 {
			if _, err := c.conn.Write(chunk); err != nil {
				return err
			}
		}
		pos, rec = end, next
	}
	return nil
}

// peerGone reports whether a write failed because the peer closed its end,
// in which case the reader will still see what the peer sent, then EOF.
func peerGone(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}
