package bindings

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"

	"github.com/mage-ipc/mage/mage"
)

// badMessageSink is told about a message that failed to decode: the
// Remote or Receiver the message arrived at.
type badMessageSink interface {
	badMessage(m *mage.Message, err error)
}

// Decoder reads the values of one received message and validates them as
// it goes. Read methods never fail on the spot: after the first problem
// they return zero values, and Finish reports it. Generated code reads
// every value, then calls Finish, and uses the values only if Finish
// returns nil.
//
// A Decoder is used by one goroutine.
type Decoder struct {
	msg     *mage.Message
	buf     []byte
	off     int
	pipes   int // pipes used so far
	handles int // handles used so far
	err     error
	// version is the interface version the message was sent at; local is
	// this side's. A message from a newer version may carry values after
	// the last one this side knows: Finish ignores them.
	version, local uint32

	// For error messages and reports.
	desc     *InterfaceDescriptor
	reply    bool
	sink     badMessageSink
	finished bool
	rejected bool // the message was reported; it is never reported twice
	// owned is set when the message is the bindings' own, read from a
	// pipe by a Remote or Receiver and handed to no one else: ReadBytes
	// then returns slices of its payload instead of copies.
	owned bool
	// borrowed is set for a Receiver's request under SetBorrowedBytes:
	// bytes are lent only until the method returns, however short.
	borrowed bool
	// lent is set once ReadBytes returned part of the owned payload: the
	// payload is then the implementation's (or the caller's), and is
	// given back only if they borrowed it (release).
	lent bool
}

// reset points d at m, with off bytes of the payload already read.
func (d *Decoder) reset(m *mage.Message, off int, desc *InterfaceDescriptor, reply bool, sink badMessageSink) {
	*d = Decoder{msg: m, buf: m.Payload, off: off, desc: desc, reply: reply, sink: sink, version: messageVersion(m.Flags), owned: sink != nil}
	if desc != nil {
		d.local = desc.Version
	}
}

// Version is the interface version the message was sent at. Generated code
// reads a value added by version N ([MinVersion=N]) only when Version is N
// or more, and leaves it zero otherwise.
func (d *Decoder) Version() uint32 { return d.version }

// NewDecoder returns a Decoder over m's payload and attachments, for
// hand-written decoding and tests. Its Finish closes m's pipes and handles
// on failure but reports the failure to no one.
func NewDecoder(m *mage.Message) *Decoder {
	d := &Decoder{}
	d.reset(m, 0, nil, false, nil)
	return d
}

// Err returns the first problem found so far, or nil.
func (d *Decoder) Err() error { return d.err }

func (d *Decoder) fail(format string, args ...any) {
	if d.err != nil {
		return
	}
	where := "message"
	if d.desc != nil && d.msg != nil {
		where = d.desc.MethodName(d.msg.Method)
		if d.reply {
			where += " reply"
		} else {
			where += " request"
		}
	}
	d.err = fmt.Errorf("%w: %s: %s", ErrBadMessage, where, fmt.Sprintf(format, args...))
}

// take returns the next n bytes, or nil after a problem.
func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.buf)-d.off < n {
		d.fail("payload too short: need %d more bytes at offset %d, have %d", n, d.off, len(d.buf)-d.off)
		return nil
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	return b
}

func (d *Decoder) uint32() (uint32, bool) {
	b := d.take(4)
	if b == nil {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b), true
}

// ReadBool reads a bool; a byte other than 0 or 1 is a bad message.
func (d *Decoder) ReadBool() bool {
	b := d.take(1)
	if b == nil {
		return false
	}
	if b[0] > 1 {
		d.fail("bool at offset %d is %d, not 0 or 1", d.off-1, b[0])
		return false
	}
	return b[0] == 1
}

// ReadChar reads a char.
func (d *Decoder) ReadChar() byte {
	b := d.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// ReadInt32 reads an int.
func (d *Decoder) ReadInt32() int32 {
	v, _ := d.uint32()
	return int32(v)
}

// ReadInt64 reads a long.
func (d *Decoder) ReadInt64() int64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(b))
}

// ReadFloat64 reads a double.
func (d *Decoder) ReadFloat64() float64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

// ReadLen reads the count of an array whose elements take at least
// minSize bytes each. A count that the rest of the payload cannot hold is a
// bad message, so a hostile count never causes a large allocation.
func (d *Decoder) ReadLen(minSize int) int {
	at := d.off
	n, ok := d.uint32()
	if !ok {
		return 0
	}
	if minSize < 1 {
		minSize = 1
	}
	if left := len(d.buf) - d.off; uint64(n) > uint64(left/minSize) {
		d.fail("count %d at offset %d needs at least %d bytes, have %d", n, at, uint64(n)*uint64(minSize), left)
		return 0
	}
	return int(n)
}

// ReadString reads a string. Its bytes are not checked to be UTF-8, as in
// Go strings.
func (d *Decoder) ReadString() string {
	n := d.ReadLen(1)
	return string(d.take(n))
}

// ReadBytes reads bytes; empty bytes read as nil. The slice is the
// caller's and shares memory with no other value:
//
//   - A value of at most mage.MaxInlinePayload bytes is a copy (one
//     allocation, the slice returned), so that the message it came in,
//     whose pooled block holds such a payload, can go back to the pool
//     once every value has been read (Finish).
//   - A longer value of a message a Remote or Receiver read is that part
//     of the received payload itself (the message is theirs and no one
//     else's, so no copy is needed), with its capacity cut at its end; the
//     payload is then the caller's to keep, and never reused.
//   - For a Decoder from NewDecoder, whose message is the caller's, every
//     value is a copy.
//
// A Receiver with SetBorrowedBytes lends every bytes argument, short ones
// too, only until the method returns: no copy, and the request goes back
// once the reply is encoded.
func (d *Decoder) ReadBytes() []byte {
	n := d.ReadLen(1)
	b := d.take(n)
	if len(b) == 0 {
		return nil
	}
	if d.owned && (d.borrowed || len(b) > mage.MaxInlinePayload) {
		d.lent = true
		return b[:len(b):len(b)]
	}
	return append([]byte(nil), b...)
}

// release gives the message back to the process's nodes (Message.Release)
// once every value of it has been used, so that its payload's memory serves
// a later message: unless ReadBytes lent part of it and lentToo is false
// (the bytes are then their reader's), or it was rejected (reported as
// bad, which closes it). The pipes and files read from it are their
// readers' and stay open. The Decoder is not used afterwards.
func (d *Decoder) release(lentToo bool) {
	m := d.msg
	if m == nil || !d.owned || (d.lent && !lentToo) || d.rejected {
		return
	}
	d.msg, d.buf = nil, nil
	m.Pipes, m.Handles = nil, nil
	m.Release()
}

// ReadPipe reads a pipe index and returns that pipe of the message, or
// the zero MessagePipe for "no pipe".
func (d *Decoder) ReadPipe() mage.MessagePipe {
	at := d.off
	i, ok := d.uint32()
	switch {
	case !ok || i == noIndex:
		return mage.MessagePipe{}
	case int64(i) >= int64(len(d.msg.Pipes)):
		d.fail("missing pipe: index %d at offset %d, but the message carries %d", i, at, len(d.msg.Pipes))
		return mage.MessagePipe{}
	case int(i) != d.pipes:
		d.fail("pipe index %d at offset %d out of order: expected %d", i, at, d.pipes)
		return mage.MessagePipe{}
	}
	d.pipes++
	return d.msg.Pipes[i]
}

// ReadHandle reads a handle index and returns that file of the message,
// or nil for "no file".
func (d *Decoder) ReadHandle() *os.File {
	at := d.off
	i, ok := d.uint32()
	switch {
	case !ok || i == noIndex:
		return nil
	case int64(i) >= int64(len(d.msg.Handles)):
		d.fail("missing handle: index %d at offset %d, but the message carries %d", i, at, len(d.msg.Handles))
		return nil
	case int(i) != d.handles:
		d.fail("handle index %d at offset %d out of order: expected %d", i, at, d.handles)
		return nil
	}
	d.handles++
	return d.msg.Handles[i]
}

// Finish checks that the whole message was used: no bytes left over and
// every attached pipe and handle read. On any problem it closes the
// message's pipes and handles, reports the bad message (closing the pipe it
// came on), and returns an error matching ErrBadMessage. It reports once,
// however often it is called. On success, a reply a Remote read from
// which ReadBytes lent nothing goes back to the process (Message.Release:
// every value read from it is a copy, or a pipe or file that is its
// reader's now), so that its pooled block and a large payload are reused.
// A Receiver's request goes back later, once the Receiver is done with it
// (its reply sent, which names the request), not here.
func (d *Decoder) Finish() error {
	err := d.finish()
	if err == nil && d.reply {
		d.release(false)
	}
	return err
}

// finish is Finish but for giving the message back.
func (d *Decoder) finish() error {
	if d.finished {
		return d.err
	}
	d.finished = true
	if d.err == nil && d.version > d.local {
		// A newer sender: what follows the values this side knows is
		// theirs to add. Release the pipes and files among it.
		for _, p := range d.msg.Pipes[d.pipes:] {
			_ = p.Close()
		}
		for _, f := range d.msg.Handles[d.handles:] {
			if f != nil {
				_ = f.Close()
			}
		}
		return nil
	}
	if d.err == nil {
		switch {
		case d.off != len(d.buf):
			d.fail("trailing bytes after the last value: %d", len(d.buf)-d.off)
		case d.pipes != len(d.msg.Pipes):
			d.fail("extra pipes: %d attached, %d used", len(d.msg.Pipes), d.pipes)
		case d.handles != len(d.msg.Handles):
			d.fail("extra handles: %d attached, %d used", len(d.msg.Handles), d.handles)
		}
	}
	if d.err != nil {
		d.reject(d.err)
	}
	return d.err
}

// reject reports m as bad, once.
func (d *Decoder) reject(err error) {
	if d.err == nil {
		d.err = err
	}
	d.finished = true
	if d.rejected || d.msg == nil {
		return
	}
	d.rejected = true
	m := d.msg
	d.msg = &mage.Message{} // later reads see an empty message
	if d.sink != nil {
		d.sink.badMessage(m, err)
	} else {
		m.Close()
	}
}

// ReadArray reads an array whose elements take at least minSize bytes
// each and are read by read. An empty array reads as nil.
func ReadArray[T any](d *Decoder, minSize int, read func(*Decoder) T) []T {
	n := d.ReadLen(minSize)
	if n == 0 {
		return nil
	}
	out := make([]T, n)
	for i := range out {
		out[i] = read(d)
		if d.err != nil {
			return nil
		}
	}
	return out
}
