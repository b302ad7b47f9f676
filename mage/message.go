package mage

import (
	"os"
	"sync"
	"unsafe"

	"github.com/mage-ipc/mage/mage/internal/ports"
)

// Message flags carried in the wire header. The runtime does not interpret
// them; the bindings use them to pair requests with responses.
const (
	// FlagExpectsResponse marks a request whose sender waits for a reply
	// carrying the same RequestID.
	FlagExpectsResponse uint32 = 1 << 0
	// FlagIsResponse marks a reply to an earlier request.
	FlagIsResponse uint32 = 1 << 1
)

// Message is one message on a pipe.
//
// WriteMessage takes ownership of the Message: the caller must not touch it,
// its Payload, its Pipes or its Handles afterwards, since the node may reuse
// the Message and its memory for another message as soon as it is sent. A
// Message returned by ReadMessage belongs to the caller, who may keep it,
// write it on, or give it back with Release once done with it, so that it
// and its payload's memory serve a later message.
//
// The node keeps a pool of Messages, each with room for a payload of up to
// MaxInlinePayload bytes in the same block of memory, and pools of payload
// buffers for longer ones (under 16 KiB, by size class): ReadMessage
// returns them and NewMessage hands them out, and a pooled Message goes
// back to the pool, with its payload's buffer, when it is released, or
// when the node has sent it to another process (the payload is then
// copied into the connection's queue, or, when large, written from the
// message and given to the process's payload buffers).
// A Message made as a literal is never pooled: the node lets it go to the
// garbage collector as before.
type Message struct {
	// Interface is the fingerprint of the interface the message belongs to.
	Interface uint32
	// Method is the method ordinal within the interface.
	Method uint32
	// Flags holds FlagExpectsResponse, FlagIsResponse and bits of the
	// bindings' own.
	Flags uint32
	// RequestID pairs a response with its request.
	RequestID uint64
	// Payload is the encoded arguments.
	Payload []byte
	// Pipes are pipe ends travelling with the message. WriteMessage consumes
	// them: the sender's handles become invalid.
	Pipes []MessagePipe
	// Handles are OS files travelling with the message. Across processes
	// they are passed as file descriptors (SCM_RIGHTS) and the sender's
	// copies are closed once sent.
	Handles []*os.File

	// fds are the duplicated descriptors of Handles while the message is in
	// the runtime's hands.
	fds []int
	// source is the node the message arrived from (this node for local
	// messages), for bad-message reports; onBad is the OnBadMessage of
	// the connection it arrived on, nil for local messages.
	source ports.NodeName
	onBad  func(err error)
	// block is the pooled block the message is the head of (see
	// messageBlock), nil for a message made as a literal. A copy of a
	// pooled Message's value has the original's block, which is not its
	// own: owner checks that.
	block *messageBlock
	// medium, when not nil, is the first byte of the medium payload buffer
	// (see payloads_medium.go) the message owns, of class mediumClass:
	// set by NewMessage and by the links' readers, given back with the
	// message while its Payload still lies in that buffer.
	medium      *byte
	mediumClass uint8
}

// Close releases everything the message holds: it closes its pipes and its
// handles. It is for a message that will not be handed on.
func (m *Message) Close() {
	for _, p := range m.Pipes {
		_ = p.Close()
	}
	for _, f := range m.Handles {
		if f != nil {
			_ = f.Close()
		}
	}
	m.Pipes, m.Handles = nil, nil
}

// Release gives the message back: it closes the pipes and handles still in
// it (as Close does), hands its Payload's memory to the process's nodes,
// which reuse a large one (16 KiB or more) for a later payload of the same
// length, one received or one from NewPayload, and returns a pooled message
// (one from ReadMessage or NewMessage) to the node's pool, from which a
// later ReadMessage or NewMessage takes it, with the buffer of a payload
// longer than MaxInlinePayload that came with it (unless the Payload was
// replaced by other memory meanwhile). Releasing the messages one
// reads, and writing messages from NewMessage (or payloads from
// NewPayload), is what lets a stream of messages run without making a
// fresh Message or buffer per message.
//
// After Release neither the message nor any part of its Payload may be
// used (read, written, written on, released again, or kept): the memory
// may already belong to another message, handed to another goroutine. Take
// what must be kept (a pipe, a file, a copy of some bytes) first; a pipe or
// handle taken out of Pipes or Handles is closed unless the slice entry is
// cleared first. Release is for a message its caller owns: one returned by
// ReadMessage, one from NewMessage, or one built and never written.
// Releasing a message made as a literal again does nothing more; a pooled
// one must be released once.
func (m *Message) Release() {
	m.Close()
	payloads.put(m.Payload)
	b := m.owner()
	if b != nil {
		m.giveMediumBack()
	}
	// Before the block goes back: once it has, another goroutine may own it.
	m.Payload = nil
	if b != nil {
		b.recycle()
	}
}

// giveMediumBack gives back the medium buffer m owns, if m is a pooled
// Message (checked by the caller: the copy of one's value owns nothing)
// whose Payload still lies in it. A Payload the user replaced with memory
// of their own leaves the buffer to the garbage collector: the user may
// still refer to it.
func (m *Message) giveMediumBack() {
	start := m.medium
	if start == nil {
		return
	}
	m.medium = nil
	if cap(m.Payload) == 0 {
		return
	}
	if off := uintptr(unsafe.Pointer(unsafe.SliceData(m.Payload))) - uintptr(unsafe.Pointer(start)); off < uintptr(mediumSize(int(m.mediumClass))) {
		putMedium(start, int(m.mediumClass))
	}
}

// Source is the name of the node the message came from.
func (m *Message) Source() NodeName { return NodeName(m.source) }

// MaxInlinePayload is the largest payload a pooled Message (from
// ReadMessage or NewMessage) carries in its own block of memory: a message
// of up to this many payload bytes costs no allocation of its own once the
// pool is warm. It is the size of a typed request of a few small
// arguments, with the 8 bytes of a call's timeout before them.
const MaxInlinePayload = 72

// messageBlock is a Message and room for a small payload, allocated and
// pooled together.
type messageBlock struct {
	m   Message
	buf [MaxInlinePayload]byte
}

// messagePool holds messageBlocks that nothing refers to: released, or
// sent to another process. Like every sync.Pool it drops what it holds at
// garbage collections, so an idle process keeps none for long.
var messagePool = sync.Pool{New: func() any { return new(messageBlock) }}

// getMessageBlock returns a cleared block from the pool, its Message with
// no payload.
func getMessageBlock() *messageBlock {
	b := messagePool.Get().(*messageBlock)
	b.m.block = b
	return b
}

// owner returns the pooled block m is the head of, or nil for a message
// made as a literal (or a copy of a pooled message's value).
func (m *Message) owner() *messageBlock {
	if b := m.block; b != nil && &b.m == m {
		return b
	}
	return nil
}

// recycle clears the block's Message and puts the block in the pool. The
// caller has made sure that nothing refers to the message any more: no
// user code (the message was released, or written and so given up) and
// no part of the node (it was read, or the link has encoded it into the
// channel's queue). Clearing the Message clears its block too, so a second
// Release that comes before the block is taken again finds no owner and
// does not put it in twice (one after that is the caller's error: see
// Release).
func (b *messageBlock) recycle() {
	if poisonRecycled {
		b.poison()
		return
	}
	b.m = Message{}
	messagePool.Put(b)
}

// poisonedHeader is what every header field of a message given back reads
// as in a race-enabled build.
const poisonedHeader = 0xdead_beef

// poison marks the block's message as given back instead of pooling it,
// in race-enabled builds (see poisonRecycled): code that reads a message
// after Release, or after WriteMessage sent it, then reads a header that
// no message has and an empty payload, every time, rather than the zeroes
// or another message's values it would read from a reused block; and the
// small payload's bytes are overwritten. The block is left to the garbage
// collector.
func (b *messageBlock) poison() {
	b.m = Message{Interface: poisonedHeader, Method: poisonedHeader, Flags: poisonedHeader, RequestID: poisonedHeader}
	for i := range b.buf {
		b.buf[i] = 0xdb
	}
}

// NewMessage returns a Message with a Payload of n bytes, with any
// contents (as NewPayload's), for the caller to fill and write: from the
// node's pool, its payload in the same block of memory when n is at most
// MaxInlinePayload (the Payload's capacity is then MaxInlinePayload, so
// appending up to that many bytes stays in it), under 16 KiB a pooled
// buffer of the next power of two (its capacity), else a buffer from
// NewPayload. It is the caller's, as a Message literal would be, until
// WriteMessage takes it; a Message from NewMessage that is not written is
// given back with Release, or left to the garbage collector.
func NewMessage(n int) *Message {
	b := getMessageBlock()
	switch c, medium := mediumClass(n); {
	case n <= MaxInlinePayload:
		b.m.Payload = b.buf[:n]
	case medium:
		b.m.setMedium(getMedium(n), c)
	default:
		b.m.Payload = NewPayload(n)
	}
	return &b.m
}

// setMedium makes p, a buffer of class c from getMedium, m's Payload and
// m its owner.
func (m *Message) setMedium(p []byte, c int) {
	m.Payload, m.medium, m.mediumClass = p, unsafe.SliceData(p), uint8(c)
}

// newReceivedMessage returns a pooled Message owning payload. The channel
// lends payloads shorter than minCachedPayload
// (channel.Options.LendPayloadsUpTo): those of up to MaxInlinePayload
// bytes are copied into the Message's own block, with the capacity cut at
// their length, longer ones into a medium buffer (which the copy out of
// the reader's buffer cost anyway). Longer ones are the message's already.
func newReceivedMessage(payload []byte) *Message {
	b := getMessageBlock()
	switch n := len(payload); {
	case n == 0:
	case n <= MaxInlinePayload:
		b.m.Payload = b.buf[:copy(b.buf[:], payload):n]
	case n < minCachedPayload:
		c, _ := mediumClass(n)
		p := getMedium(n)
		copy(p, payload)
		b.m.setMedium(p, c)
	default:
		b.m.Payload = payload
	}
	return &b.m
}

// recycleSent returns m to the pool once the link has encoded it into the
// channel's queue: the sender gave it up with WriteMessage, the payload is
// in the queue (or, when large, held by the channel on its own), and the
// ports layer has let go of it. A message made as a literal is left alone.
func recycleSent(m *Message) {
	if b := m.owner(); b != nil {
		b.m.giveMediumBack() // a medium payload is copied into the queue
		b.recycle()
	}
}
