package bindings

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"

	"github.com/mage-ipc/mage/mage"
)

// Encoder builds the payload and attachments of one message. Generated
// code makes one per call with NewEncoder or NewReplyEncoder and hands it
// to Remote.Send, Remote.Call or back to the Receiver.
//
// Write methods never fail on the spot: the first problem is kept and
// reported by the Remote that sends the message, which then closes every
// pipe and file written so far (an Encoder consumes what it is given).
// An Encoder is used by one goroutine and sent once: Remote.Send,
// Remote.Call and the Receiver that a method returns it to consume it, and
// once its message is written the Encoder goes back to a pool for a later
// message, so it must not be used again (nor kept).
type Encoder struct {
	// buf is the payload from start on. A request's Encoder keeps
	// timeoutSize bytes free before start, where Remote.Call writes the
	// call's timeout when its context has a deadline, so that the payload
	// is never copied to make room for it.
	buf     []byte
	start   int
	pipes   []mage.MessagePipe
	handles []*os.File
	err     error
	// msg is the message that will carry the payload: a pooled one
	// (mage.NewMessage), whose block holds a small payload too.
	msg *mage.Message
}

// encoderPool recycles Encoders. An Encoder goes back once the message it
// built has been written (WriteMessage took the message and payload, and
// the Encoder holds nothing else the caller can still see: Send, Call and
// a Receiver's reply consume it, so the generated code and any caller that
// follows their contract never touch it again). One whose message was not
// written is left to the garbage collector.
var encoderPool = sync.Pool{New: func() any { return new(Encoder) }}

// reusedEncoded is the shortest buffer an Encoder takes from the
// process's payload buffers (mage.NewPayload), which reuse the buffers of
// large payloads written and released: a stream of large messages then
// encodes each into a buffer an earlier one left, instead of making and
// zeroing a fresh one. It is where mage.NewPayload starts reusing.
const reusedEncoded = 16 << 10

// newEncoder returns an Encoder whose buffer has length n and room for
// size more bytes. A small one (up to mage.MaxInlinePayload in all, the
// timeout included) encodes into its pooled message's own block, a medium
// one into its pooled buffer: a call without a large argument costs no
// allocation for its payload once the pools are warm.
func newEncoder(n, size int) *Encoder {
	e := encoderPool.Get().(*Encoder)
	if n+size <= mage.MaxInlinePayload {
		e.msg = mage.NewMessage(n)
		e.buf = e.msg.Payload
		return e
	}
	if n+size >= reusedEncoded {
		// A buffer of exactly the estimated length, so that the next
		// message of that length finds this one once it is written (the
		// process's buffers are matched by length).
		e.msg = mage.NewMessage(0)
		e.buf = mage.NewPayload(n + size)[:n]
	} else {
		// A medium one, pooled with the message (see mage.NewMessage),
		// and given back once it is sent or its reader releases it.
		e.msg = mage.NewMessage(n + size)
		e.buf = e.msg.Payload[:n]
	}
	return e
}

// sent returns the Encoder to encoderPool once WriteMessage has taken the
// message it built.
func (e *Encoder) sent() {
	*e = Encoder{}
	encoderPool.Put(e)
}

// NewEncoder returns an Encoder for a request whose payload is about size
// bytes. A large request (16 KiB or more) is encoded into a buffer of the
// process's (see mage.NewPayload), without the room for a timeout before
// it: the timeout of a call with a deadline then costs a copy (putTimeout),
// and the buffer matches a payload of the length sent.
func NewEncoder(size int) *Encoder {
	if size >= reusedEncoded {
		return newEncoder(0, size)
	}
	e := newEncoder(timeoutSize, size)
	e.start = timeoutSize
	return e
}

// message returns the message to send, with the header given and the
// payload and attachments encoded; the Encoder is spent.
func (e *Encoder) message(iface, method, flags uint32, id uint64) *mage.Message {
	m := e.msg
	if m == nil {
		m = &mage.Message{} // an Encoder made as a literal (tests)
		e.msg = m
	}
	// Field by field: assigning a whole Message would clear what makes a
	// pooled one pooled.
	m.Interface, m.Method, m.Flags, m.RequestID = iface, method, flags, id
	m.Payload, m.Pipes, m.Handles = e.payload(), e.pipes, e.handles
	return m
}

// payload is what the message carries when it has no timeout.
func (e *Encoder) payload() []byte { return e.buf[e.start:] }

// NewReplyEncoder returns an Encoder for a successful reply whose results
// take about size bytes.
func NewReplyEncoder(size int) *Encoder {
	e := newEncoder(0, size+1)
	e.buf = append(e.buf, replyOK)
	return e
}

// ErrorReply returns an Encoder for a reply that carries err instead of
// results. An error with a code (a *Error in err's chain, or a context
// error, which CodeOf maps to Canceled or DeadlineExceeded) travels as its
// code and message, and the caller's call returns a *Error; any other
// error travels as its text, and the call returns a *RemoteError.
func ErrorReply(err error) *Encoder {
	code := CodeOf(err)
	var text string
	var coded *Error
	if errors.As(err, &coded) {
		text = coded.Message
	} else {
		text = err.Error()
	}
	if len(text) > maxErrorText {
		text = text[:maxErrorText]
	}
	e := newEncoder(0, 9+len(text))
	if code == Unknown && coded == nil {
		e.buf = append(e.buf, replyError)
	} else {
		e.buf = append(e.buf, replyCodedError)
		e.WriteInt32(int32(code))
	}
	e.WriteString(text)
	return e
}

// Grow makes room for n more bytes.
func (e *Encoder) Grow(n int) {
	if cap(e.buf)-len(e.buf) < n {
		buf := make([]byte, len(e.buf), len(e.buf)+n)
		copy(buf, e.buf)
		e.buf = buf
	}
}

// Err returns the first encoding problem, or nil.
func (e *Encoder) Err() error { return e.err }

func (e *Encoder) fail(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf("%w: %s", ErrEncode, fmt.Sprintf(format, args...))
	}
}

// release closes every pipe and file the Encoder holds, for a message that
// will not be sent. A bound pipe is left alone: it belongs to its Remote or
// Receiver, not to the caller, and the runtime refused to send it
// (mage.ErrPipeBound) so that the binding keeps working.
func (e *Encoder) release() {
	for _, p := range e.pipes {
		if !p.IsBound() {
			_ = p.Close()
		}
	}
	for _, f := range e.handles {
		_ = f.Close()
	}
	e.pipes, e.handles = nil, nil
}

// WriteBool appends a bool.
func (e *Encoder) WriteBool(v bool) {
	var b byte
	if v {
		b = 1
	}
	e.buf = append(e.buf, b)
}

// WriteChar appends a char (a byte).
func (e *Encoder) WriteChar(v byte) { e.buf = append(e.buf, v) }

// WriteInt32 appends an int.
func (e *Encoder) WriteInt32(v int32) { e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(v)) }

// WriteInt64 appends a long.
func (e *Encoder) WriteInt64(v int64) { e.buf = binary.LittleEndian.AppendUint64(e.buf, uint64(v)) }

// WriteFloat64 appends a double.
func (e *Encoder) WriteFloat64(v float64) {
	e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(v))
}

// WriteLen appends the length of a string or bytes or the count of an
// array.
func (e *Encoder) WriteLen(n int) {
	if uint64(n) > maxLen {
		e.fail("length %d exceeds %d", n, uint64(maxLen))
		n = 0
	}
	e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(n))
}

// WriteString appends a string.
func (e *Encoder) WriteString(v string) {
	e.WriteLen(len(v))
	if e.err == nil {
		e.buf = append(e.buf, v...)
	}
}

// WriteBytes appends bytes.
func (e *Encoder) WriteBytes(v []byte) {
	e.WriteLen(len(v))
	if e.err == nil {
		e.buf = append(e.buf, v...)
	}
}

// WritePipe attaches p, which the message will carry away: p becomes
// unusable for the caller once the message is sent. An invalid p is sent
// as "no pipe".
func (e *Encoder) WritePipe(p mage.MessagePipe) {
	if !p.IsValid() {
		e.buf = binary.LittleEndian.AppendUint32(e.buf, noIndex)
		return
	}
	e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(len(e.pipes)))
	e.pipes = append(e.pipes, p)
}

// WriteHandle attaches f, which the message will carry away: f is closed
// once the message is sent (the receiver gets its own descriptor). A nil f
// is sent as "no file".
func (e *Encoder) WriteHandle(f *os.File) {
	if f == nil {
		e.buf = binary.LittleEndian.AppendUint32(e.buf, noIndex)
		return
	}
	for _, g := range e.handles {
		if g == f {
			// Keep the index sequence intact; the message will not be sent.
			e.fail("one *os.File (%s) passed twice", f.Name())
			e.buf = binary.LittleEndian.AppendUint32(e.buf, noIndex)
			return
		}
	}
	e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(len(e.handles)))
	e.handles = append(e.handles, f)
}

// WriteArray appends v as an array whose elements write writes.
func WriteArray[T any](e *Encoder, v []T, write func(*Encoder, T)) {
	e.WriteLen(len(v))
	for _, x := range v {
		write(e, x)
	}
}
