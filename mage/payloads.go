package mage

import (
	"slices"
	"sync"
)

// Bounds of the process's payloadCache.
const (
	// minCachedPayload is the shortest payload the cache handles: the
	// channel writes payloads of this length or more from the message
	// itself (and so hands them back, channel.Options.PayloadSent) and
	// reads the longer ones into buffers of their own; shorter ones are
	// copied anyway and cost little to make.
	minCachedPayload = 16 << 10
	// maxCachedPayloads and maxCachedPayloadBytes bound what the process
	// keeps: enough for a stream of large messages of one size each way
	// (a few buffers in flight each way), little for a process that stays
	// idle.
	maxCachedPayloads     = 8
	maxCachedPayloadBytes = 8 << 20
)

// payloads is the process's cache of large payload buffers, shared by
// every node and link of the process: NewPayload and the links' readers
// take from it, Message.Release and the links' writers give to it. One
// cache rather than one per node, because the bindings' encoder asks for
// its buffer before it knows which pipe (so which node) will carry it.
var payloads payloadCache

// payloadCache keeps large payload buffers that are nobody's any more and
// gives them to large payloads about to be made of the same length, so
// that a stream of large messages (one-way or both ways) reuses its
// buffers instead of making, zeroing and collecting a fresh one per
// message per side: measured, that is most of what a large message costs.
//
// It only ever holds memory the node owns and no one refers to: a payload
// WriteMessage took (WriteMessage takes ownership of the whole message)
// once the channel has written it (channel.Options.PayloadSent), or a
// payload its owner gave back with Message.Release. A buffer from it is
// its taker's alone: NewPayload's caller writes it before sending it, and
// the channel's reader overwrites every byte before handing it on
// (channel.Options.NewPayload).
//
// A peer cannot make it grow: it holds at most maxCachedPayloads buffers
// and maxCachedPayloadBytes bytes, whatever arrives, and it never makes a
// buffer itself.
type payloadCache struct {
	// mu guards the fields below. Writers (the channels' and the callers'
	// of direct writes) and Release put, readers and NewPayload get.
	mu sync.Mutex
	// bufs are the payloads kept, the most recently put last; bytes is
	// their total length.
	bufs  [][]byte
	bytes int
	// wanted counts the gets not yet matched by a kept put, up to
	// maxCachedPayloads: a process that only sends large payloads from
	// memory of its own (not NewPayload's) keeps none, since nothing would
	// take them.
	wanted int
}

// put keeps p, which nothing refers to any more, if a get has asked for a
// buffer since, dropping the oldest kept payloads to stay within the
// bounds. A buffer already kept is not kept twice (a program that gives
// one back twice would otherwise have it handed to two takers).
func (c *payloadCache) put(p []byte) {
	if len(p) < minCachedPayload || len(p) > maxCachedPayloadBytes {
		return
	}
	p = p[:len(p):len(p)]
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wanted == 0 {
		return
	}
	for _, b := range c.bufs {
		if &b[0] == &p[0] {
			return
		}
	}
	c.wanted--
	for len(c.bufs) > 0 && (len(c.bufs) == maxCachedPayloads || c.bytes+len(p) > maxCachedPayloadBytes) {
		c.bytes -= len(c.bufs[0])
		c.bufs[0] = nil
		c.bufs = slices.Delete(c.bufs, 0, 1)
	}
	c.bufs = append(c.bufs, p)
	c.bytes += len(p)
}

// get returns a kept payload of exactly n bytes, most recent first, and
// forgets it, or nil (the caller then makes a fresh one).
func (c *payloadCache) get(n int) []byte {
	if n < minCachedPayload || n > maxCachedPayloadBytes {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wanted = min(c.wanted+1, maxCachedPayloads)
	for i := len(c.bufs) - 1; i >= 0; i-- {
		if b := c.bufs[i]; len(b) == n {
			c.bufs = slices.Delete(c.bufs, i, i+1)
			c.bytes -= n
			return b
		}
	}
	return nil
}

// NewPayload returns a buffer of n bytes for the Payload of a message to
// be written, with any contents: the caller writes all of it (or cuts it
// shorter) before WriteMessage. A large one (16 KiB or more) comes from
// the buffers the process's nodes have written or been given back
// (Message.Release), when one of that length is free, so that a stream of
// large messages reuses its buffers instead of making a fresh one per
// message; otherwise it is a fresh one. The buffer is the caller's, like
// any other, until WriteMessage takes it.
func NewPayload(n int) []byte {
	if b := payloads.get(n); b != nil {
		return b
	}
	return make([]byte, n)
}
