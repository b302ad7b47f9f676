package channel

import "golang.org/x/sys/unix"

// Limits on descriptors in flight.
const (
	// maxFDsPerWrite is the most descriptors one sendmsg carries. Linux
	// refuses more than SCM_MAX_FD (253) per message.
	maxFDsPerWrite = 250

	// DefaultMaxQueuedFDs is the default of Options.MaxQueuedFDs, the
	// descriptors a reader holds before their frames are decoded. A
	// conforming writer never has more than two writes' worth
	// outstanding: a write's descriptors belong to frames that start
	// within that write's bytes, all of which are read before the next
	// write's descriptors arrive.
	DefaultMaxQueuedFDs = 4 * maxFDsPerWrite

	// oobSize is the control buffer of one read: room for twice the most
	// descriptors one write carries, so that even a system that merged two
	// writes' control data would not truncate it.
	oobSize = (2 * maxFDsPerWrite) * 4
)

// closeFDs closes every descriptor in fds. Errors are ignored: the
// descriptors are being discarded, and there is nobody to tell.
func closeFDs(fds []int) {
	for _, fd := range fds {
		_ = unix.Close(fd)
	}
}

// fdQueue is the FIFO of received descriptors not yet claimed by a frame.
// Only the reader goroutine uses it.
type fdQueue struct {
	fds  []int
	head int
	// limit is the most descriptors the queue holds.
	limit int
}

func (q *fdQueue) len() int { return len(q.fds) - q.head }

// push appends fds, or closes them and reports false when the queue would
// exceed its limit.
func (q *fdQueue) push(fds []int) bool {
	if q.len()+len(fds) > q.limit {
		closeFDs(fds)
		return false
	}
	if q.head > 0 && q.head == len(q.fds) {
		q.fds, q.head = q.fds[:0], 0
	}
	q.fds = append(q.fds, fds...)
	return true
}

// take removes the first n descriptors and returns them in a fresh slice
// (nil for n == 0). The caller has checked that n are queued.
func (q *fdQueue) take(n int) []int {
	if n == 0 {
		return nil
	}
	out := make([]int, n)
	q.head += copy(out, q.fds[q.head:q.head+n])
	if q.head == len(q.fds) {
		q.fds, q.head = q.fds[:0], 0
	}
	return out
}

// closeAll closes and forgets every queued descriptor.
func (q *fdQueue) closeAll() {
	closeFDs(q.fds[q.head:])
	q.fds, q.head = q.fds[:0], 0
}
