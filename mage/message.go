package mage

import (
	"os"

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
// its Payload, its Pipes or its Handles afterwards. A Message returned by
// ReadMessage belongs to the caller, who may give it back with Release once
// done with it, so that its payload's memory serves a later message.
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
// it (as Close does) and hands its Payload's memory to the process's nodes,
// which reuse a large one (16 KiB or more) for a later payload of the same
// length, one received or one from NewPayload. Releasing the messages one
// reads, and writing payloads from NewPayload, is what lets a stream of
// large messages run without making a fresh buffer per message.
//
// After Release neither the message nor any part of its Payload may be
// used (read, written, written on, or kept): the memory may already belong
// to another message. Take what must be kept (a pipe, a file, a copy of
// some bytes) first; a pipe or handle taken out of Pipes or Handles is
// closed unless the slice entry is cleared first. Releasing a message
// again does nothing more. Release is for a message its caller owns: one
// returned by ReadMessage, or one built and never written.
func (m *Message) Release() {
	m.Close()
	payloads.put(m.Payload)
	m.Payload = nil
}

// Source is the name of the node the message came from.
func (m *Message) Source() NodeName { return NodeName(m.source) }

// inlinePayload is the largest received payload kept in the same
// allocation as its Message.
const inlinePayload = 64

// messageWithPayload is a Message and room for a small payload, allocated
// together.
type messageWithPayload struct {
	m   Message
	buf [inlinePayload]byte
}

// newReceivedMessage returns a Message owning payload. The channel lends
// payloads of up to inlinePayload bytes (channel.Options.LendPayloadsUpTo):
// those are copied into the Message's own allocation. Longer ones are the
// message's already.
func newReceivedMessage(payload []byte) *Message {
	switch n := len(payload); {
	case n == 0:
		return &Message{}
	case n <= inlinePayload:
		mp := &messageWithPayload{}
		mp.m.Payload = mp.buf[:copy(mp.buf[:], payload):n]
		return &mp.m
	default:
		return &Message{Payload: payload}
	}
}
