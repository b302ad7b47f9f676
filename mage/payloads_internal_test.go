package mage

import "testing"

// want makes c take the next n puts, as n received payloads asking for a
// buffer would.
func (c *payloadCache) want(n int) {
	for range n {
		c.get(maxCachedPayloadBytes)
	}
}

// TestPayloadCache: get returns a kept payload of exactly the length asked
// for, the most recently put first, and only once; put keeps at most
// maxCachedPayloads and maxCachedPayloadBytes, dropping the oldest, only as
// many as gets have asked for, nothing shorter than minCachedPayload, and
// never one buffer twice.
func TestPayloadCache(t *testing.T) {
	const size = minCachedPayload + 100
	var c payloadCache
	c.put(make([]byte, size))
	if len(c.bufs) != 0 {
		t.Fatal("a payload was kept though nothing had asked for one")
	}
	a, b, other := make([]byte, size), make([]byte, size), make([]byte, size+50)
	c.want(3)
	c.put(a)
	c.put(other)
	c.put(b)
	c.put(make([]byte, size))
	if len(c.bufs) != 3 {
		t.Fatalf("%d payloads kept after 3 gets and 4 puts, want 3", len(c.bufs))
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
	if got := c.get(size + 50); len(got) != size+50 || c.bytes != 0 || len(c.bufs) != 0 {
		t.Fatalf("get(%d) = %d bytes, leaving %d buffers of %d bytes", size+50, len(got), len(c.bufs), c.bytes)
	}

	c = payloadCache{}
	for i := range maxCachedPayloads + 2 {
		c.want(1)
		c.put(make([]byte, size+i))
	}
	if len(c.bufs) != maxCachedPayloads || c.get(size) != nil || c.get(size+1) != nil || c.get(size+maxCachedPayloads+1) == nil {
		t.Fatalf("after %d puts: %d kept, want the newest %d", maxCachedPayloads+2, len(c.bufs), maxCachedPayloads)
	}

	big := maxCachedPayloadBytes / 2
	c = payloadCache{}
	c.want(4)
	c.put(make([]byte, big))
	c.put(make([]byte, big))
	c.put(make([]byte, big+1))
	if c.bytes > maxCachedPayloadBytes || len(c.bufs) != 1 || len(c.bufs[0]) != big+1 {
		t.Fatalf("kept %d buffers of %d bytes in all, bound %d", len(c.bufs), c.bytes, maxCachedPayloadBytes)
	}
	c.put(make([]byte, maxCachedPayloadBytes+1))
	if c.get(maxCachedPayloadBytes+1) != nil {
		t.Fatal("a payload over the byte bound was kept")
	}

	c = payloadCache{}
	c.want(maxCachedPayloads)
	c.put(make([]byte, minCachedPayload-1))
	if len(c.bufs) != 0 || c.get(minCachedPayload-1) != nil {
		t.Fatal("a payload shorter than minCachedPayload was kept")
	}
	twice := make([]byte, size)
	c.put(twice)
	c.put(twice[:size-1]) // the same memory, however it is cut
	if len(c.bufs) != 1 {
		t.Fatalf("one buffer put twice is kept %d times", len(c.bufs))
	}
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
		if len(c.bufs) > maxCachedPayloads || c.bytes > maxCachedPayloadBytes || c.wanted > maxCachedPayloads {
			t.Fatalf("after %d payloads: %d buffers, %d bytes, %d wanted: over the bounds", i+1, len(c.bufs), c.bytes, c.wanted)
		}
	}
}

// TestReleaseTwice: releasing a message a second time gives nothing back
// again; a payload of a message released once is handed out once.
func TestReleaseTwice(t *testing.T) {
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
	bufs          [][]byte
	bytes, wanted int
}

// swapForTest empties c and returns what it held.
func (c *payloadCache) swapForTest() savedCache {
	c.mu.Lock()
	defer c.mu.Unlock()
	saved := savedCache{c.bufs, c.bytes, c.wanted}
	c.bufs, c.bytes, c.wanted = nil, 0, 0
	return saved
}

// restoreForTest puts back what swapForTest took.
func (c *payloadCache) restoreForTest(saved savedCache) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bufs, c.bytes, c.wanted = saved.bufs, saved.bytes, saved.wanted
}
