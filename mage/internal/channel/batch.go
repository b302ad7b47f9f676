package channel

// maxRetainedBuffer is the largest batch buffer kept for reuse; a bigger one
// (left by a burst of large frames) is dropped once written, so a channel
// does not hold tens of megabytes forever.
const maxRetainedBuffer = 4 << 20

// fdRecord says that the frame at buf[off:] owns the next n descriptors of
// its batch.
type fdRecord struct {
	off int
	n   int
}

// batch is a run of encoded frames and the descriptors that go with them.
// The pending batch belongs to whoever holds Channel.mu; the batch being
// written belongs to the writer goroutine.
type batch struct {
	buf  []byte
	recs []fdRecord
	fds  []int
	// sent counts the leading fds already handed to the kernel (and
	// closed here).
	sent int
}

func (b *batch) len() int { return len(b.buf) }

// reset empties b for reuse. The descriptors must have been sent or closed.
func (b *batch) reset() {
	if cap(b.buf) > maxRetainedBuffer {
		b.buf = nil
	}
	b.buf = b.buf[:0]
	b.recs = b.recs[:0]
	b.fds = b.fds[:0]
	b.sent = 0
}

// truncate undoes everything appended after the given lengths.
func (b *batch) truncate(buf, recs, fds int) {
	b.buf = b.buf[:buf]
	b.recs = b.recs[:recs]
	b.fds = b.fds[:fds]
}

// discard closes the descriptors not yet sent and empties b, releasing its
// memory: it is for a channel that has stopped, whose owner may keep it
// around long after (a Connection that ended).
func (b *batch) discard() {
	closeFDs(b.fds[b.sent:])
	*b = batch{}
}
