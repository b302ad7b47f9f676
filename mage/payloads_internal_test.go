package mage

import "testing"

// want makes c take the next n puts, as n received payloads asking for a
// buffer would.
func (c *payloadCache) want(n int) {
	for range n {
		c.get(-1)
	}
}

// TestPayloadCache: get returns a kept payload of exactly the length asked
// for, the most recently written first, and only once; put keeps at most
// maxCachedPayloads and maxCachedPayloadBytes, dropping the oldest, and
// only as many as gets have asked for.
func TestPayloadCache(t *testing.T) {
	var c payloadCache
	c.put(make([]byte, 100))
	if len(c.bufs) != 0 {
		t.Fatal("a payload was kept though nothing received had asked for one")
	}
	a, b, other := make([]byte, 100), make([]byte, 100), make([]byte, 50)
	c.want(3)
	c.put(a)
	c.put(other)
	c.put(b)
	c.put(make([]byte, 100))
	if len(c.bufs) != 3 {
		t.Fatalf("%d payloads kept after 3 gets and 4 puts, want 3", len(c.bufs))
	}
	if got := c.get(100); &got[0] != &b[0] {
		t.Fatal("get(100) did not return the most recently written payload of 100 bytes")
	}
	if got := c.get(100); &got[0] != &a[0] {
		t.Fatal("get(100) did not return the other payload of 100 bytes")
	}
	if got := c.get(100); got != nil {
		t.Fatalf("get(100) returned a payload of %d bytes twice", len(got))
	}
	if got := c.get(70); got != nil {
		t.Fatalf("get(70) returned a payload of %d bytes", len(got))
	}
	if got := c.get(50); len(got) != 50 || c.bytes != 0 || len(c.bufs) != 0 {
		t.Fatalf("get(50) = %d bytes, leaving %d buffers of %d bytes", len(got), len(c.bufs), c.bytes)
	}

	c = payloadCache{}
	for i := range maxCachedPayloads + 2 {
		c.want(1)
		c.put(make([]byte, 10+i))
	}
	if len(c.bufs) != maxCachedPayloads || c.get(10) != nil || c.get(11) != nil || c.get(10+maxCachedPayloads+1) == nil {
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
}
