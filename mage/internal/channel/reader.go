package channel

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mage-ipc/mage/mage/internal/wire"
)

const (
	// initialReadBuffer is the reader's buffer size until a frame needs
	// more.
	initialReadBuffer = 64 << 10
	// minRead is the least free space worth a read; with less, the unread
	// bytes move to the front of the buffer first.
	minRead = 4 << 10
	// shrinkAbove is the buffer size beyond which an empty buffer goes back
	// to initialReadBuffer, so one huge frame does not pin its memory.
	shrinkAbove = 1 << 20
	// largeFrame is the User frame size from which the reader reads the
	// payload straight into a buffer of its own, exactly the payload's
	// size, which the Handler then gets, instead of into the shared buffer
	// and copying it out. The rest of the frame (its fixed part, padding
	// and port descriptors) still goes into the shared buffer.
	largeFrame = 32 << 10
)

// reader is the state of the reader goroutine; nothing else touches it.
type reader struct {
	c *Channel
	// buf[r:w] holds bytes read but not yet decoded.
	buf  []byte
	r, w int
	// want is how many bytes, from r, the frame being read needs in
	// buf: HeaderSize until its header is known.
	want int
	oob  []byte
	fds  fdQueue
	// large, when not nil, is the payload of the User frame being read
	// (see largeFrame); its first largeN bytes have arrived. The frame's
	// other bytes, largeRest of them, are read into buf from r, as if the
	// payload had been cut out of the frame (wire.DecodeUserWithoutPayload
	// decodes them so).
	large     []byte
	largeN    int
	largeRest int
	// afterLarge is set while the frames are large ones: a read at a
	// frame boundary then takes only the next frame's fixed part, so that
	// a large frame's payload is not read into buf and copied out.
	afterLarge bool
	// frames counts the frames delivered. timed is set while a read
	// deadline bounds the frame that was incomplete when frames had the
	// value timedFrame (Options.FrameTimeout).
	frames     uint64
	timed      bool
	timedFrame uint64
	// scratch is what Decode fills; out is what the Handler sees, with
	// every slice copied out of buf and scratch.
	scratch wire.Frame
	out     wire.Frame
	// sys makes the read calls. stepFunc is step bound once; loopErr is
	// the error that ended it.
	sys      syscallReader
	stepFunc func(fd uintptr) bool
	loopErr  error
	// metEmpty is set once a read found the socket empty (see fillFrom).
	metEmpty bool
	// trustEmptied says a hang-up watch runs, so that a read that
	// emptied the socket may be followed by a wait (see fillFrom).
	trustEmptied bool
	// draining is set once the peer hung up and the reader reads what is
	// left without a deadline (see loop).
	draining bool
	// batch is the Handler, when it is a BatchHandler.
	batch BatchHandler
}

func newReader(c *Channel) *reader {
	rd := &reader{
		c:    c,
		buf:  make([]byte, initialReadBuffer),
		want: wire.HeaderSize,
		oob:  make([]byte, unix.CmsgSpace(oobSize)),
		fds:  fdQueue{limit: c.opts.MaxQueuedFDs},
	}
	rd.stepFunc = rd.step
	rd.batch, _ = c.handler.(BatchHandler)
	return rd
}

// loop reads and delivers frames until the channel stops (nil) or reading
// fails (the error).
//
// The whole loop runs inside one RawConn.Read, so that after a read that
// emptied the socket the reader waits in the poller at once. Each
// RawConn.Read starts by clearing the poller's record that the socket is
// readable, so a loop that called it per read had to try a read first,
// which failed with EAGAIN once per burst of frames: one system call in
// four of a small round trip. The price is that the reader holds a
// reference to the descriptor meanwhile, so the socket is closed by the
// reader on its way out, never under it (see Channel.stopLocked).
func (rd *reader) loop() error {
	for {
		err := rd.c.raw.Read(rd.stepFunc)
		switch {
		case rd.loopErr != nil:
			return rd.loopErr
		case rd.stopping():
			// Woken by stop's deadline, or stopped meanwhile.
			return nil
		case errors.Is(err, os.ErrDeadlineExceeded) && rd.c.peerHungUp.Load() && !rd.draining:
			// The hang-up watch's wake-up (or a frame timeout at the
			// same moment: the peer is gone either way, and all it
			// sent is here). Read what is left, up to the end, with
			// no deadline: a socket whose peer has gone never waits.
			rd.draining, rd.timed = true, false
			if err := rd.c.conn.SetReadDeadline(time.Time{}); err != nil {
				return rd.readFailed(err)
			}
			if rd.stopping() {
				// Stop's deadline may have been undone just now.
				return nil
			}
			continue
		case err != nil:
			return rd.readFailed(err)
		}
		return nil
	}
}

// step is the read loop's RawConn callback: it reads, delivers the frames
// read, and reads again, until the socket is empty (false: the poller
// waits) or the loop ends (true, with loopErr set unless the channel
// stops).
func (rd *reader) step(fd uintptr) bool {
	for {
		wait, emptied, err := rd.fillFrom(fd)
		if err != nil {
			rd.loopErr = err
			return true
		}
		if wait {
			return false
		}
		err = rd.deliverAll()
		rd.batchEnd()
		if err != nil {
			rd.loopErr = err
			return true
		}
		// Armed before quit is checked: see Channel.stopLocked.
		if err := rd.armFrameTimeout(); err != nil {
			rd.loopErr = err
			return true
		}
		if rd.stopping() {
			return true
		}
		// Checked after arming, as stop is: a hang-up seen later has
		// its watch's wake-up set after this deadline.
		if emptied && !rd.c.peerHungUp.Load() {
			return false
		}
	}
}

// batchEnd tells a BatchHandler that every complete frame read so far has
// been handed over.
func (rd *reader) batchEnd() {
	if rd.batch == nil {
		return
	}
	rd.c.inCallback.Store(true)
	defer rd.c.inCallback.Store(false)
	rd.batch.HandleBatchEnd()
}

// armFrameTimeout sets a read deadline when a frame has begun and none
// bounds it yet, and clears it when no frame is incomplete.
func (rd *reader) armFrameTimeout() error {
	timeout := rd.c.opts.FrameTimeout
	if timeout == 0 {
		return nil
	}
	partial := rd.inFrame()
	switch {
	case partial && (!rd.timed || rd.timedFrame != rd.frames):
		rd.timed, rd.timedFrame = true, rd.frames
		return rd.c.conn.SetReadDeadline(time.Now().Add(timeout))
	case !partial && rd.timed:
		rd.timed = false
		return rd.c.conn.SetReadDeadline(time.Time{})
	}
	return nil
}

// deliverAll hands every complete frame in the buffer to the Handler and
// sets want for the frame that remains incomplete.
func (rd *reader) deliverAll() error {
	for {
		if rd.large != nil {
			if rd.largeN < len(rd.large) || rd.w-rd.r < rd.largeRest {
				rd.want = rd.largeRest
				return nil
			}
			rest, payload := rd.buf[rd.r:rd.r+rd.largeRest], rd.large
			rd.r += rd.largeRest
			rd.large, rd.largeN, rd.largeRest = nil, 0, 0
			if err := rd.decodeLargeAndDeliver(rest, payload); err != nil {
				return err
			}
			if rd.stopping() {
				return nil
			}
			continue
		}
		avail := rd.w - rd.r
		if avail < wire.HeaderSize {
			rd.want = wire.HeaderSize
			return nil
		}
		h, err := wire.ParseHeader(rd.buf[rd.r:rd.w])
		if err != nil {
			return peerFault(fmt.Errorf("channel: bad frame from peer: %w", err))
		}
		if limit := rd.c.maxRecvFrame(); h.Length > limit {
			return peerFault(fmt.Errorf("channel: bad frame from peer: %s frame of %d bytes exceeds the limit %d: %w",
				h.Type, h.Length, limit, wire.ErrTooLarge))
		}
		if avail < h.Length {
			if h.Type == wire.TypeUser && h.Length >= largeFrame {
				rd.afterLarge = true
				if avail < wire.UserPayloadOffset {
					rd.want = wire.UserPayloadOffset
					return nil
				}
				if err := rd.beginLarge(h); err != nil {
					return err
				}
				continue
			}
			rd.want = h.Length
			rd.afterLarge = false
			return nil
		}
		if h.Length < largeFrame {
			rd.afterLarge = false
		}
		frame := rd.buf[rd.r : rd.r+h.Length]
		rd.r += h.Length
		if err := rd.decodeAndDeliver(frame, true); err != nil {
			return err
		}
		if rd.stopping() {
			return nil
		}
	}
}

// beginLarge starts reading the large User frame whose header h and fixed
// part are at buf[r:]: it makes the payload's own buffer, of exactly the
// length the frame declares (checked against the accepted frame length,
// so a peer cannot make it larger than that), moves into it the part of
// the payload already read, and closes the gap that leaves in buf.
func (rd *reader) beginLarge(h wire.Header) error {
	plen, err := wire.UserPayloadLen(rd.buf[rd.r:rd.w])
	if err != nil {
		return peerFault(fmt.Errorf("channel: bad frame from peer: %w", err))
	}
	if err := rd.checkUserPayload(plen); err != nil {
		return err
	}
	payload := rd.newPayload(plen)
	at := rd.r + wire.UserPayloadOffset
	n := copy(payload, rd.buf[at:rd.w])
	rd.w = at + copy(rd.buf[at:], rd.buf[at+n:rd.w])
	rd.large, rd.largeN, rd.largeRest = payload, n, h.Length-plen
	rd.want = rd.largeRest
	return nil
}

// stopping reports whether the channel was closed, perhaps by the Handler
// itself: then nothing more is delivered.
func (rd *reader) stopping() bool {
	select {
	case <-rd.c.quit:
		return true
	default:
		return false
	}
}

// decodeAndDeliver decodes one whole frame and hands it to the Handler.
// shared says frame is part of the reader's buffer, so that the slices the
// Handler gets must be copied out of it; otherwise frame is the Handler's
// to keep.
func (rd *reader) decodeAndDeliver(frame []byte, shared bool) error {
	// All of the frame's bytes are here, so all of its descriptors are
	// too: they ride no later than the frame's first byte.
	h, err := wire.ParseHeader(frame)
	if err != nil {
		return peerFault(fmt.Errorf("channel: bad frame from peer: %w", err))
	}
	if h.NumHandles > rd.fds.len() {
		return peerFault(fmt.Errorf("%w: %s frame declares %d, %d arrived",
			ErrMissingHandles, h.Type, h.NumHandles, rd.fds.len()))
	}
	if err := wire.Decode(frame, &rd.scratch); err != nil {
		return peerFault(fmt.Errorf("channel: bad frame from peer: %w", err))
	}
	if h.Type == wire.TypeUser {
		if err := rd.checkUserPayload(len(rd.scratch.User.Payload)); err != nil {
			return err
		}
	}
	rd.frames++
	rd.deliver(rd.fds.take(h.NumHandles), shared, h.Length)
	return nil
}

// checkUserPayload refuses a User payload of n bytes over
// Options.MaxUserPayload.
func (rd *reader) checkUserPayload(n int) error {
	if limit := rd.c.opts.MaxUserPayload; limit > 0 && n > limit {
		return peerFault(fmt.Errorf("channel: bad frame from peer: user payload of %d bytes exceeds the limit %d: %w",
			n, limit, wire.ErrTooLarge))
	}
	return nil
}

// newPayload returns a buffer of n bytes for a payload to be read into:
// from Options.NewPayload if set and it has one (a wrong length from it is
// a bug of the program's, and gets a fresh buffer instead), or a fresh one.
func (rd *reader) newPayload(n int) []byte {
	if alloc := rd.c.opts.NewPayload; alloc != nil {
		if b := alloc(n); len(b) == n {
			return b[:n:n]
		}
	}
	return make([]byte, n)
}

// decodeLargeAndDeliver decodes a large User frame read in two parts (see
// reader.large) and hands it to the Handler, which gets payload itself.
func (rd *reader) decodeLargeAndDeliver(rest, payload []byte) error {
	h, err := wire.ParseHeader(rest)
	if err != nil {
		return peerFault(fmt.Errorf("channel: bad frame from peer: %w", err))
	}
	if h.NumHandles > rd.fds.len() {
		return peerFault(fmt.Errorf("%w: %s frame declares %d, %d arrived",
			ErrMissingHandles, h.Type, h.NumHandles, rd.fds.len()))
	}
	s := &rd.scratch
	if err := wire.DecodeUserWithoutPayload(rest, payload, &s.User); err != nil {
		return peerFault(fmt.Errorf("channel: bad frame from peer: %w", err))
	}
	s.Type, s.NumPorts, s.NumHandles = h.Type, h.NumPorts, h.NumHandles
	rd.frames++
	rd.deliver(rd.fds.take(h.NumHandles), false, h.Length)
	return nil
}

// deliver gives the decoded frame, of frameLen bytes, to the Handler, with
// its slices copied out of the reader's buffer when shared, so that the
// Handler may keep them. The payload of a large frame that was read whole
// into the shared buffer is copied into a buffer from newPayload, as if it
// had been read apart.
func (rd *reader) deliver(fds []int, shared bool, frameLen int) {
	out := &rd.out
	*out = rd.scratch
	switch out.Type {
	case wire.TypeHello:
		out.Hello.Token = clone(out.Hello.Token)
	case wire.TypeAttach:
		out.Attach = clone(out.Attach)
	case wire.TypeUser:
		switch p := out.User.Payload; {
		case !shared || len(p) <= rd.c.opts.LendPayloadsUpTo:
		case frameLen >= largeFrame:
			out.User.Payload = rd.newPayload(len(p))
			copy(out.User.Payload, p)
		default:
			out.User.Payload = clone(p)
		}
		out.User.Ports = clone(out.User.Ports)
	}
	if rd.c.directRun.Load() != 0 {
		rd.c.directRun.Store(0) // the peer talks back: writes go straight out again
	}
	rd.c.inCallback.Store(true)
	defer rd.c.inCallback.Store(false)
	rd.c.handler.HandleFrame(out, fds)
}

// clone returns a copy of s that shares nothing with it; nil when empty.
func clone[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return append([]T(nil), s...)
}

// fillFrom makes room for the frame being read and reads once from fd.
// wait says the socket was empty. emptied says the reader may wait after
// this read without reading again: the read took less than it had room
// for and carried no descriptors (a Unix stream socket's recvmsg stops
// short after a message that carries descriptors, and otherwise only when
// nothing more has arrived, so what arrives next makes the poller wake
// the reader), and a hang-up watch runs.
//
// The watch is needed because a close is not data: a read that returns
// the peer's last frames says nothing of the close that came with them,
// and the poller's one wake-up for both has been spent. And emptied waits
// for one read that found the socket empty, because the RawConn.Read the
// loop runs in began by forgetting what the poller had seen.
func (rd *reader) fillFrom(fd uintptr) (wait, emptied bool, err error) {
	bufs := rd.sys.bufs[:0]
	room := 0
	if rd.large != nil {
		// The payload first, then the rest of the frame and the next
		// frame's fixed part, so that one call can end one large frame
		// and tell the size of the next.
		rd.makeRoom(rd.largeRest + wire.UserPayloadOffset)
		// buf[r:w] never holds more than the rest and the next fixed
		// part (see beginLarge), so end is at or past w.
		end := min(rd.r+rd.largeRest+wire.UserPayloadOffset, len(rd.buf))
		bufs = append(bufs, rd.large[rd.largeN:], rd.buf[rd.w:end])
		room = len(rd.large) - rd.largeN + end - rd.w
	} else {
		rd.makeRoom(rd.want)
		into := rd.buf[rd.w:]
		if rd.afterLarge && rd.w-rd.r < wire.UserPayloadOffset {
			into = into[:wire.UserPayloadOffset-(rd.w-rd.r)]
		}
		bufs = append(bufs, into)
		room = len(into)
	}
	rd.sys.bufs, rd.sys.oob = bufs, rd.oob
	rd.sys.n, rd.sys.oobn, rd.sys.flags, rd.sys.err = 0, 0, 0, nil
	if !rd.sys.read(fd) {
		clear(rd.sys.bufs)
		rd.sys.bufs = rd.sys.bufs[:0]
		rd.metEmpty = true
		return true, false, nil
	}
	err = rd.sys.err
	n, oobn, flags := rd.sys.n, rd.sys.oobn, rd.sys.flags
	clear(rd.sys.bufs) // they may hold the payload: do not keep it alive
	rd.sys.bufs = rd.sys.bufs[:0]
	if err == nil && n == 0 {
		err = io.EOF
	}
	emptied = rd.trustEmptied && rd.metEmpty && err == nil && n < room && oobn == 0
	if rd.large != nil {
		got := min(n, len(rd.large)-rd.largeN)
		rd.largeN += got
		n -= got
	}
	rd.w += n
	if oobn > 0 {
		if qerr := rd.queueFDs(rd.oob[:oobn]); qerr != nil {
			return false, false, qerr
		}
	}
	if flags&unix.MSG_CTRUNC != 0 {
		return false, false, peerFault(ErrControlTruncated)
	}
	if err != nil {
		return false, false, rd.readFailed(err)
	}
	return false, emptied, nil
}

// readFailed is the error of a read that failed with err.
func (rd *reader) readFailed(err error) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		got, want := rd.partial()
		return peerFault(fmt.Errorf("%w: %d of %d bytes of a frame arrived within %v",
			ErrFrameTimeout, got, want, rd.c.opts.FrameTimeout))
	case errors.Is(err, io.EOF) && rd.inFrame():
		got, want := rd.partial()
		return fmt.Errorf("channel: peer closed the socket inside a frame (%d of %d bytes read): %w",
			got, want, io.ErrUnexpectedEOF)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("channel: peer closed the socket: %w", err)
	case errors.Is(err, syscall.ECONNRESET):
		// Linux reports a peer that closed with our bytes still unread
		// this way, after we have read everything it sent: a close all
		// the same.
		return fmt.Errorf("channel: peer closed the socket before reading everything: %w (%w)", io.EOF, err)
	}
	return fmt.Errorf("channel: read: %w", err)
}

// syscallReader makes the reader's system call: one recvmsg into bufs and
// oob, waiting in the poller while the socket is empty.
type syscallReader struct {
	bufs [][]byte
	oob  []byte
	// The call's outcome.
	n, oobn, flags int
	err            error
	msg            msgCalls
}

// read is the syscall.RawConn callback: it reports false to have the
// poller wait for the socket.
func (s *syscallReader) read(fd uintptr) bool {
	for {
		n, oobn, flags, err := s.msg.recvmsg(int(fd), s.bufs, s.oob)
		switch err {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		case nil:
			s.n, s.oobn, s.flags, s.err = n, oobn, flags, nil
		default:
			s.n, s.oobn, s.flags, s.err = 0, 0, 0, os.NewSyscallError("recvmsg", err)
		}
		return true
	}
}

// inFrame reports whether part of a frame has arrived.
func (rd *reader) inFrame() bool { return rd.large != nil || rd.w > rd.r }

// partial returns how many bytes of the incomplete frame have arrived, and
// how many are wanted.
func (rd *reader) partial() (got, want int) {
	if rd.large != nil {
		return rd.largeN + rd.w - rd.r, len(rd.large) + rd.largeRest
	}
	if h, err := wire.ParseHeader(rd.buf[rd.r:rd.w]); err == nil {
		// The whole frame, not the part of it the reader waits for
		// first (a large frame's fixed part).
		return rd.w - rd.r, h.Length
	}
	return rd.w - rd.r, rd.want
}

// makeRoom arranges for buf[r:] to hold want bytes and for there to be free
// space to read into.
func (rd *reader) makeRoom(want int) {
	if rd.r == rd.w {
		rd.r, rd.w = 0, 0
		if len(rd.buf) > shrinkAbove && want <= initialReadBuffer {
			rd.buf = make([]byte, initialReadBuffer)
		}
	}
	switch {
	case len(rd.buf) < want:
		size := max(want, min(2*len(rd.buf), rd.c.opts.MaxFrameSize))
		buf := make([]byte, size)
		rd.w = copy(buf, rd.buf[rd.r:rd.w])
		rd.r, rd.buf = 0, buf
	case len(rd.buf)-rd.r < want || len(rd.buf)-rd.w < minRead:
		if rd.r > 0 {
			rd.w = copy(rd.buf, rd.buf[rd.r:rd.w])
			rd.r = 0
		}
	}
}

// queueFDs adds the descriptors in a read's control data to the queue. On
// any problem it still closes every descriptor it can find, so none leaks.
func (rd *reader) queueFDs(oob []byte) error {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return peerFault(fmt.Errorf("channel: bad control message: %w", err))
	}
	var first error
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Level != unix.SOL_SOCKET || m.Header.Type != unix.SCM_RIGHTS {
			continue
		}
		fds, err := unix.ParseUnixRights(m)
		switch {
		case err != nil:
			if first == nil {
				first = peerFault(fmt.Errorf("channel: bad control message: %w", err))
			}
		case first != nil:
			closeFDs(fds)
		default:
			setCloexec(fds)
			if !rd.fds.push(fds) {
				first = peerFault(fmt.Errorf("%w: %d more would exceed %d", ErrTooManyHandles, len(fds), rd.fds.limit))
			}
		}
	}
	return first
}
