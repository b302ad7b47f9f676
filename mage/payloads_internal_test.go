package mage

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// want makes c take the next n puts, as n received payloads asking for a
// buffer would.
func (c *payloadCache) want(n int) {
	for range n {
		c.get(maxCachedPayloadBytes)
	}
}

// TestPayloadCache: get returns a kept payload of exactly the length asked
// for, the most recently put first, and only once; put keeps only as many
// as gets have asked for, nothing shorter than minCachedPayload, never one
// buffer twice, and nothing past maxCachedPayloads or
// maxCachedPayloadBytes.
func TestPayloadCache(t *testing.T) {
	noGC(t)
	const size = minCachedPayload + 100
	var c payloadCache
	c.put(make([]byte, size))
	if c.count != 0 {
		t.Fatal("a payload was kept though nothing had asked for one")
	}
	a, b, other := make([]byte, size), make([]byte, size), make([]byte, size+50)
	c.want(3)
	c.put(a)
	c.put(other)
	c.put(b)
	c.put(make([]byte, size))
	if c.count != 3 {
		t.Fatalf("%d payloads kept after 3 gets and 4 puts, want 3", c.count)
	}
	if got := c.get(size); &got[0] != &b[0] {
		t.Fatal("get did not return the most recently put payload of its length")
	}
	if got := c.get(size); &got[0] != &a[0] {
		t.Fatal("get did not return the other payload of its length")
	}
	if got := c.get(size); got != nil {
		t.Fatalf("get returned a payload of %d bytes twice", len(got))
	}
	if got := c.get(size + 1); got != nil {
		t.Fatalf("get(%d) returned a payload of %d bytes", size+1, len(got))
	}
	if got := c.get(size + 50); len(got) != size+50 || c.bytes != 0 || c.count != 0 {
		t.Fatalf("get(%d) = %d bytes, leaving %d buffers of %d bytes", size+50, len(got), c.count, c.bytes)
	}

	c = payloadCache{}
	c.want(maxCachedPayloads + 5)
	for range maxCachedPayloads + 5 {
		c.put(make([]byte, minCachedPayload))
	}
	if c.count != maxCachedPayloads || c.bytes > maxCachedPayloadBytes {
		t.Fatalf("after %d puts: %d kept, %d bytes; bounds %d and %d", maxCachedPayloads+5, c.count, c.bytes, maxCachedPayloads, maxCachedPayloadBytes)
	}

	big := maxCachedPayloadBytes / 2
	c = payloadCache{}
	c.want(4)
	c.put(make([]byte, big))
	c.put(make([]byte, big+1)) // drops the other length to make room
	c.put(make([]byte, big))
	if c.bytes > maxCachedPayloadBytes || c.count != 1 || c.get(big) == nil {
		t.Fatalf("kept %d buffers of %d bytes in all, bound %d, not the last put", c.count, c.bytes, maxCachedPayloadBytes)
	}
	c.put(make([]byte, maxCachedPayloadBytes+1))
	if c.get(maxCachedPayloadBytes+1) != nil {
		t.Fatal("a payload over the byte bound was kept")
	}

	c = payloadCache{}
	c.want(maxCachedPayloads)
	c.put(make([]byte, minCachedPayload-1))
	if c.count != 0 || c.get(minCachedPayload-1) != nil {
		t.Fatal("a payload shorter than minCachedPayload was kept")
	}
	twice := make([]byte, size)
	c.put(twice)
	c.put(twice)
	c.trim()
	c.put(twice) // kept a collection ago
	if c.count != 1 {
		t.Fatalf("one buffer put twice is kept %d times", c.count)
	}
}

// TestPayloadCacheMakesRoom: a cache full of buffers of a length no one
// asks for again keeps the buffers of a stream that runs now, dropping
// the older generation first; and payloads of ever new lengths, each
// taken again, leave at most maxEmptyLengths lengths remembered.
func TestPayloadCacheMakesRoom(t *testing.T) {
	noGC(t)
	var c payloadCache
	c.want(maxCachedPayloads)
	const stale, live = minCachedPayload * 2, minCachedPayload * 3
	for range maxCachedPayloadBytes / stale {
		c.put(make([]byte, stale))
	}
	c.trim() // the stale ones are the older generation now
	c.put(make([]byte, stale+1))
	for range 10 {
		c.want(1)
		c.put(make([]byte, live))
	}
	if c.bytes > maxCachedPayloadBytes || len(c.fresh[live]) != 10 || len(c.fresh[stale+1]) != 1 {
		t.Fatalf("a full cache kept %d of 10 live buffers and %d of 1 fresh one (%d bytes)", len(c.fresh[live]), len(c.fresh[stale+1]), c.bytes)
	}

	c = payloadCache{}
	for i := range 1000 {
		n := minCachedPayload + i
		c.want(1)
		c.put(make([]byte, n))
		if c.get(n) == nil {
			t.Fatalf("the buffer of length %d just put is not there", n)
		}
	}
	if len(c.fresh) > maxEmptyLengths+1 {
		t.Fatalf("%d lengths remembered after 1000 taken again, bound %d", len(c.fresh), maxEmptyLengths)
	}
}

// noGC stops garbage collections until the test ends, so that they trim
// no cache of the test's meanwhile.
func noGC(t *testing.T) {
	old := debug.SetGCPercent(-1)
	t.Cleanup(func() { debug.SetGCPercent(old) })
}

// TestPayloadCacheTrim: a kept payload survives one collection (trim) and
// goes at the second; one put between the two is kept a cycle more.
func TestPayloadCacheTrim(t *testing.T) {
	noGC(t)
	const size = minCachedPayload
	var c payloadCache
	c.want(3)
	a, b := make([]byte, size), make([]byte, size)
	c.put(a)
	c.trim()
	if c.count != 1 {
		t.Fatalf("%d kept after one collection, want 1", c.count)
	}
	c.put(b)
	c.trim()
	if c.count != 1 || c.bytes != size {
		t.Fatalf("%d kept (%d bytes) after two collections, want the one put between them", c.count, c.bytes)
	}
	if got := c.get(size); &got[0] != &b[0] {
		t.Fatal("the payload put between the collections is not the one kept")
	}
	c.trim()
	if c.count != 0 || c.bytes != 0 || c.trimming {
		t.Fatalf("an empty cache counts %d buffers of %d bytes, trimming %v", c.count, c.bytes, c.trimming)
	}
}

// TestPayloadCacheTrimsAtGC: the process's collections trim the cache, so
// that buffers nobody takes do not stay.
func TestPayloadCacheTrimsAtGC(t *testing.T) {
	var c payloadCache
	c.want(1)
	c.put(make([]byte, minCachedPayload))
	for range 100 {
		runtime.GC()
		c.mu.Lock()
		n := c.count
		c.mu.Unlock()
		if n == 0 {
			return
		}
	}
	t.Fatal("a kept payload outlived 100 collections")
}

// TestPayloadCacheHostileSizes: however many large payloads of however
// many lengths arrive and are given back, the cache stays within its
// bounds, and its wanted count too.
func TestPayloadCacheHostileSizes(t *testing.T) {
	var c payloadCache
	for i := range 1000 {
		n := minCachedPayload + i*997%(maxCachedPayloadBytes-minCachedPayload)
		if b := c.get(n); b == nil {
			c.put(make([]byte, n))
		} else {
			c.put(b)
		}
		// Collections trim c meanwhile: read it under its lock.
		c.mu.Lock()
		count, bytes, wanted := c.count, c.bytes, c.wanted
		c.mu.Unlock()
		if count > maxCachedPayloads || bytes > maxCachedPayloadBytes || wanted > maxCachedPayloads {
			t.Fatalf("after %d payloads: %d buffers, %d bytes, %d wanted: over the bounds", i+1, count, bytes, wanted)
		}
	}
}

// TestReleaseTwice: releasing a message a second time gives nothing back
// again; a payload of a message released once is handed out once.
func TestReleaseTwice(t *testing.T) {
	noGC(t)
	saved := payloads.swapForTest()
	defer payloads.restoreForTest(saved)
	payloads.want(2)
	p := make([]byte, minCachedPayload)
	m := &Message{Payload: p}
	m.Release()
	if m.Payload != nil {
		t.Fatal("Release left the message its payload")
	}
	m.Release()
	(&Message{Payload: p}).Release() // the same memory given back again, by a buggy program
	if got := NewPayload(len(p)); &got[0] != &p[0] {
		t.Fatal("NewPayload did not return the released payload")
	}
	if got := NewPayload(len(p)); &got[0] == &p[0] {
		t.Fatal("NewPayload returned a released payload twice")
	}
}

// savedCache is what a payloadCache held.
type savedCache struct {
	fresh, old           map[int][][]byte
	count, bytes, wanted int
}

// swapForTest empties c and returns what it held.
func (c *payloadCache) swapForTest() savedCache {
	c.mu.Lock()
	defer c.mu.Unlock()
	saved := savedCache{c.fresh, c.old, c.count, c.bytes, c.wanted}
	c.fresh, c.old, c.count, c.bytes, c.wanted = nil, nil, 0, 0, 0
	return saved
}

// restoreForTest puts back what swapForTest took.
func (c *payloadCache) restoreForTest(saved savedCache) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fresh, c.old, c.count, c.bytes, c.wanted = saved.fresh, saved.old, saved.count, saved.bytes, saved.wanted
}
