package channel

const (
	// maxRetainedBuffer is the largest batch buffer a batch always keeps
	// for reuse. A bigger one, up to maxKeptBuffer (left by a burst of
	// small frames, or by a stream the writer cannot keep up with), is
	// kept until a garbage collection finds its batch empty (see
	// retain.go), so that a channel does not hold a burst's tens of
	// megabytes for long, but a stream does not regrow its batches.
	// Large payloads never enter it (see largePayload), so a stream of
	// them reuses one small buffer.
	maxRetainedBuffer = 4 << 20
	// maxKeptBuffer is the largest batch buffer kept at all: a bigger one
	// is dropped once written.
	maxKeptBuffer = 64 << 20

	// largePayload is the payload size from which SendUser leaves a
	// payload where it is and writes it with a vectored write instead of
	// copying it into the batch: below it, the copy costs less than an
	// extra iovec.
	largePayload = 16 << 10

	// maxIovecs is the most buffers one write gathers (Linux's UIO_MAXIOV
	// is 1024).
	maxIovecs = 1024
)

// fdRecord says that the frame starting at stream offset off owns the next n
// descriptors of its batch.
type fdRecord struct {
	off int
	n   int
}

// extPayload is a payload that stays in its owner's memory: on the wire it
// comes just before buf[at].
type extPayload struct {
	at   int
	data []byte
}

// batch is a run of encoded frames and the descriptors that go with them.
// The pending batch belongs to whoever holds Channel.mu; the batch being
// written belongs to the writer goroutine.
//
// The batch's stream, what goes on the wire, is buf with each ext payload
// inserted at its offset; stream offsets count both. written is how much of
// the stream the kernel has taken, so a write that stopped halfway (the
// direct write meeting a full socket) leaves the rest where it is for the
// writer to go on from.
type batch struct {
	buf      []byte
	ext      []extPayload
	extBytes int
	recs     []fdRecord
	fds      []int
	// sent counts the leading fds already handed to the kernel (and
	// closed here); nextRec is the first record whose fds have not gone.
	sent    int
	nextRec int
	// written counts the leading stream bytes handed to the kernel.
	// fdsUntil is the stream offset before which every frame's
	// descriptors have gone.
	written  int
	fdsUntil int
	// recent is set when b was reset with a buffer past
	// maxRetainedBuffer, and cleared by the next trim.
	recent bool
}

// len is the length of the whole stream, written or not.
func (b *batch) len() int { return len(b.buf) + b.extBytes }

// unwritten is the part of the stream the kernel has not taken yet.
func (b *batch) unwritten() int { return b.len() - b.written }

// batchMark is the state of a batch before an append, to undo it.
type batchMark struct{ buf, ext, extBytes, recs, fds int }

func (b *batch) mark() batchMark {
	return batchMark{len(b.buf), len(b.ext), b.extBytes, len(b.recs), len(b.fds)}
}

// truncate undoes everything appended after m.
func (b *batch) truncate(m batchMark) {
	b.buf = b.buf[:m.buf]
	clear(b.ext[m.ext:])
	b.ext = b.ext[:m.ext]
	b.extBytes = m.extBytes
	b.recs = b.recs[:m.recs]
	b.fds = b.fds[:m.fds]
}

// insertExt puts data into the stream just before buf[at], without copying
// it. at must not precede an earlier payload's.
func (b *batch) insertExt(at int, data []byte) {
	b.ext = append(b.ext, extPayload{at: at, data: data})
	b.extBytes += len(data)
}

// reset empties b for reuse. The descriptors must have been sent or closed.
// sent, when not nil, is given each payload b held, all of which the
// kernel has taken (Options.PayloadSent).
func (b *batch) reset(sent func([]byte)) {
	if cap(b.buf) > maxKeptBuffer {
		b.buf = nil
	}
	b.recent = b.big()
	b.buf = b.buf[:0]
	b.releaseExt(sent)
	// Forget the payloads, so that the memory of a written one is free.
	clear(b.ext)
	b.ext = b.ext[:0]
	b.extBytes = 0
	b.recs = b.recs[:0]
	b.fds = b.fds[:0]
	b.sent, b.nextRec, b.written, b.fdsUntil = 0, 0, 0, 0
}

// big reports whether b keeps a buffer past maxRetainedBuffer.
func (b *batch) big() bool { return cap(b.buf) > maxRetainedBuffer }

// trim drops b's buffer if it is past maxRetainedBuffer, b holds nothing,
// and b has not carried a batch since the last trim (a stream's batches
// are empty between writes, so a trim at each collection would drop the
// buffers it reuses, and the regrowing would bring the next collection
// early), and reports whether b still keeps a big one.
func (b *batch) trim() bool {
	switch {
	case !b.big():
		return false
	case b.recent:
		b.recent = false
		return true
	case b.len() == 0 && len(b.fds) == 0:
		b.buf = nil
		return false
	}
	return true
}

// discard closes the descriptors not yet sent and empties b, releasing its
// memory: it is for a channel that has stopped, whose owner may keep it
// around long after (a Connection that ended). sent, when not nil, is
// given each payload b held: the channel is done with them.
func (b *batch) discard(sent func([]byte)) {
	closeFDs(b.fds[b.sent:])
	b.releaseExt(sent)
	*b = batch{}
}

// releaseExt hands each payload b holds to sent, if there is one.
func (b *batch) releaseExt(sent func([]byte)) {
	if sent == nil {
		return
	}
	for i := range b.ext {
		sent(b.ext[i].data)
	}
}

// prepare sets up w for the next system call on b: the buffers from the
// first unwritten byte on (at most maxIovecs of them), and the descriptors
// that must ride with the call. A call carrying descriptors starts at or
// before the first frame that owns them and carries at most maxFDsPerWrite;
// so a run of calls (a chunk) goes up to the first frame whose descriptors
// do not fit, and that frame starts the next. b is not changed until
// advance.
func (b *batch) prepare(w *syscallWriter) {
	w.fds, w.newChunk = nil, false
	end := b.fdsUntil
	if b.written >= b.fdsUntil {
		// A new chunk: take the descriptors of as many records as fit.
		next, nfds := b.nextRec, 0
		for next < len(b.recs) && nfds+b.recs[next].n <= maxFDsPerWrite {
			nfds += b.recs[next].n
			next++
		}
		end = b.len()
		if next < len(b.recs) {
			end = b.recs[next].off
		}
		w.newChunk, w.chunkEnd, w.chunkRec = true, end, next
		if nfds > 0 {
			w.fds = b.fds[b.sent : b.sent+nfds]
		}
	}
	w.iov = b.appendSegments(w.iov[:0], b.written, end)
}

// appendSegments appends to iov the stream bytes [from, to), as slices of
// buf and of the payloads, at most maxIovecs in all.
func (b *batch) appendSegments(iov [][]byte, from, to int) [][]byte {
	pos, bufPos := 0, 0
	add := func(seg []byte) {
		// seg covers stream [pos, pos+len(seg)).
		lo, hi := max(from-pos, 0), min(to-pos, len(seg))
		if lo < hi && len(iov) < maxIovecs {
			iov = append(iov, seg[lo:hi])
		}
		pos += len(seg)
	}
	for i := range b.ext {
		if pos >= to || len(iov) == maxIovecs {
			return iov
		}
		e := &b.ext[i]
		add(b.buf[bufPos:e.at])
		add(e.data)
		bufPos = e.at
	}
	if pos < to {
		add(b.buf[bufPos:])
	}
	return iov
}

// advance records that the call w prepared wrote w.n bytes.
func (b *batch) advance(w *syscallWriter) {
	if w.newChunk {
		b.fdsUntil = w.chunkEnd
		if len(w.fds) > 0 {
			// The kernel took the descriptors with the first byte.
			closeFDs(w.fds)
			b.sent += len(w.fds)
		}
		b.nextRec = w.chunkRec
	}
	b.written += w.n
	// The buffers may hold a caller's payload: do not keep it alive.
	clear(w.iov)
	w.fds = nil
}
