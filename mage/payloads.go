package mage

import (
	"runtime"
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
	// maxCachedPayloadBytes and maxCachedPayloads bound what the process
	// keeps. A stream that waits for an acknowledgement every so many
	// bytes gets all its buffers back at once, and sends them all again
	// before the next comes back: the cache must hold a whole window for
	// such a stream to reuse every buffer, so the bound is a window of 32
	// MiB (half the default Limits.MaxQueuedBytes).
	maxCachedPayloadBytes = 32 << 20
	maxCachedPayloads     = maxCachedPayloadBytes / minCachedPayload
	// maxEmptyLengths is how many lengths of which no buffer is kept
	// either generation remembers (their empty slices are kept so that a
	// stream of one length does not make a new one for every put): past
	// it, a length is forgotten when its last buffer is taken, so that
	// payloads of ever new lengths do not grow the maps.
	maxEmptyLengths = 64
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
// and maxCachedPayloadBytes bytes, and remembers at most maxEmptyLengths
// lengths of which it holds none, whatever arrives; it never makes a
// buffer itself. Nor does it hold memory that no one takes: as
// sync.Pool, it keeps two generations and drops the older at each garbage
// collection, so that a buffer unused for two collections goes.
type payloadCache struct {
	// mu guards the fields below. Writers (the channels' and the callers'
	// of direct writes) and Release put, readers and NewPayload get.
	mu sync.Mutex
	// fresh and old are the payloads kept, by length, the most recently
	// put last: fresh those put since the last collection, old those put
	// in the cycle before. count and bytes are their number and total
	// length, both generations together.
	fresh, old map[int][][]byte
	count      int
	bytes      int
	// wanted counts the gets not yet matched by a kept put, up to
	// maxCachedPayloads: a process that only sends large payloads from
	// memory of its own (not NewPayload's) keeps none, since nothing would
	// take them.
	wanted int
	// trimming is set once a collection is set to call trim.
	trimming bool
}

// put keeps p, which nothing refers to any more, if a get has asked for a
// buffer since, making room within the bounds by dropping buffers of the
// older generation first, then of other lengths (a full cache of payloads
// no one asks for again must not turn away the buffers of a stream that
// runs now). A buffer already kept at its length is not kept twice (a
// program that gives one back twice would otherwise have it handed to two
// takers).
func (c *payloadCache) put(p []byte) {
	n := len(p)
	if n < minCachedPayload || n > maxCachedPayloadBytes {
		return
	}
	p = p[:n:n]
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wanted == 0 {
		return
	}
	for c.count == maxCachedPayloads || c.bytes+n > maxCachedPayloadBytes {
		if !c.dropOneLocked(n) {
			return
		}
	}
	for _, b := range c.fresh[n] {
		if &b[0] == &p[0] {
			return
		}
	}
	for _, b := range c.old[n] {
		if &b[0] == &p[0] {
			return
		}
	}
	if c.fresh == nil {
		c.fresh = make(map[int][][]byte)
	}
	c.wanted--
	c.fresh[n] = append(c.fresh[n], p)
	c.count++
	c.bytes += n
	if !c.trimming {
		c.trimming = true
		armTrim(c)
	}
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
	for _, gen := range [2]map[int][][]byte{c.fresh, c.old} {
		if bufs := gen[n]; len(bufs) > 0 {
			b := bufs[len(bufs)-1]
			c.removeLocked(gen, n, len(bufs)-1)
			return b
		}
	}
	return nil
}

// removeLocked forgets the i-th buffer kept at length n in gen.
func (c *payloadCache) removeLocked(gen map[int][][]byte, n, i int) {
	bufs := gen[n]
	last := len(bufs) - 1
	copy(bufs[i:], bufs[i+1:])
	bufs[last] = nil
	if last == 0 && len(gen) > maxEmptyLengths {
		delete(gen, n)
	} else {
		gen[n] = bufs[:last]
	}
	c.count--
	c.bytes -= n
}

// dropOneLocked drops the oldest kept buffer of some length: of the older
// generation if it has any, else of the fresh one but not of length keep.
// It reports false if there is none to drop.
func (c *payloadCache) dropOneLocked(keep int) bool {
	for n, bufs := range c.old {
		if len(bufs) > 0 {
			c.removeLocked(c.old, n, 0)
			return true
		}
	}
	for n, bufs := range c.fresh {
		if n != keep && len(bufs) > 0 {
			c.removeLocked(c.fresh, n, 0)
			return true
		}
	}
	return false
}

// trim drops the older generation, and makes the fresh one old. It runs
// at each garbage collection, from the first put on.
func (c *payloadCache) trim() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for n, bufs := range c.old {
		c.count -= len(bufs)
		c.bytes -= n * len(bufs)
	}
	c.old, c.fresh = c.fresh, nil
	if c.count == 0 {
		// Nothing to drop at the next collection: the next put arms it.
		c.trimming = false
		return
	}
	armTrim(c)
}

// gcSentinel is an object made only to be collected: its cleanup marks a
// garbage collection. It holds a pointer and is larger than the tiny
// allocator's blocks, which may outlive the collection that frees them.
type gcSentinel struct {
	_ [16]byte
	_ *int
}

// armTrim makes the next garbage collection call c.trim.
func armTrim(c *payloadCache) {
	runtime.AddCleanup(new(gcSentinel), func(c *payloadCache) { c.trim() }, c)
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
