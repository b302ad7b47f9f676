package mage

import (
	"slices"
	"sync"
)

// Bounds of a link's payloadCache.
const (
	// maxCachedPayloads and maxCachedPayloadBytes bound what one link
	// keeps: enough for a stream of round trips of one size (a buffer or
	// two in flight each way), little for a connection that stays idle.
	maxCachedPayloads     = 4
	maxCachedPayloadBytes = 4 << 20
)

// payloadCache keeps large payloads that a link has written, and gives
// them to large payloads it receives of the same length, so that a stream
// of large messages each way (a round trip, an echo) reuses its buffers
// instead of making, zeroing and collecting a fresh one per message per
// side: measured, that is most of what a large message costs.
//
// It only ever holds memory the node owns: a payload WriteMessage took
// (WriteMessage takes ownership of the whole message), once the channel
// has written it (channel.Options.PayloadSent). A received payload from it
// is the receiver's, like any other: the reader overwrites every byte
// before handing it on (channel.Options.NewPayload).
type payloadCache struct {
	// mu guards the fields below. The channel's writer and the caller of a
	// direct write put, its reader gets.
	mu sync.Mutex
	// bufs are the payloads kept, the most recently written last; bytes is
	// their total length.
	bufs  [][]byte
	bytes int
	// wanted counts the gets not yet matched by a kept put, up to
	// maxCachedPayloads: a link that only sends large payloads (a one-way
	// stream) keeps none, since nothing would take them.
	wanted int
}

// put keeps p, which the channel has written, if a received payload has
// asked for one since, dropping the oldest kept payloads to stay within
// the bounds.
func (c *payloadCache) put(p []byte) {
	if len(p) > maxCachedPayloadBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wanted == 0 {
		return
	}
	c.wanted--
	for len(c.bufs) > 0 && (len(c.bufs) == maxCachedPayloads || c.bytes+len(p) > maxCachedPayloadBytes) {
		c.bytes -= len(c.bufs[0])
		c.bufs = slices.Delete(c.bufs, 0, 1)
	}
	c.bufs = append(c.bufs, p)
	c.bytes += len(p)
}

// get returns a kept payload of exactly n bytes, most recent first, or nil
// (the channel then makes a fresh one).
func (c *payloadCache) get(n int) []byte {
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
