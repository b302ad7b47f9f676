package mage

// CachedPayloads reports how many buffers, and bytes, the process's
// payload cache holds, and its bounds.
func CachedPayloads() (count, bytes, maxCount, maxBytes int) {
	payloads.mu.Lock()
	defer payloads.mu.Unlock()
	return payloads.count, payloads.bytes, maxCachedPayloads, maxCachedPayloadBytes
}
