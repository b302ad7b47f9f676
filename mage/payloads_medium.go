package mage

import (
	"math/bits"
	"sync"
	"unsafe"
)

// Medium payloads are those too long for a pooled Message's own block
// (MaxInlinePayload) and too short for the cache of large payloads
// (minCachedPayload): a typed request with a string or a few hundred bytes
// of data. Without a pool of their own, each cost a fresh buffer per
// message on each side (the encoder's on the sender, the reader's copy on
// the receiver): measured, a one-way stream of 1 KiB messages allocated
// about a kilobyte per message on each side, and ran at about a third of
// the 16 B rate.
//
// They are pooled by size class, powers of two from 128 bytes to 16 KiB.
// A buffer is only ever pooled by the Message that owns it (see
// Message.medium): NewMessage and the links' readers hand them out, and
// Message.Release, or the link once it has copied a written message into
// the connection's queue, give them back. Like every sync.Pool, the pools
// drop what they hold at garbage collections, so a peer that once sent
// many medium messages leaves nothing behind, and the pools never hold
// more than the messages that were given back since.

const (
	// minMediumClass is the log2 of the smallest class, the first power of
	// two above MaxInlinePayload.
	minMediumClass = 7
	// mediumClasses counts the classes: up to minCachedPayload bytes.
	mediumClasses = 8
)

// mediumPools holds, per class, the first bytes (*byte) of buffers of the
// class's size that nothing refers to: a pointer goes into a sync.Pool
// without an allocation, where a slice would be boxed.
var mediumPools [mediumClasses]sync.Pool

// mediumClass returns the class of a medium payload of n bytes, and false
// if n is not medium.
func mediumClass(n int) (int, bool) {
	if n <= MaxInlinePayload || n >= minCachedPayload {
		return 0, false
	}
	return max(bits.Len(uint(n-1))-minMediumClass, 0), true
}

// mediumSize is the capacity of the buffers of class c.
func mediumSize(c int) int { return 1 << (c + minMediumClass) }

// getMedium returns a buffer of n bytes, n medium, with any contents and
// the capacity of its class, from the pool when one is free.
func getMedium(n int) []byte {
	c, _ := mediumClass(n)
	if p, _ := mediumPools[c].Get().(*byte); p != nil {
		return unsafe.Slice(p, mediumSize(c))[:n]
	}
	return make([]byte, n, mediumSize(c))
}

// putMedium gives back a buffer getMedium returned, whose first byte is
// start and whose class is c, once nothing refers to it. In race-enabled
// builds it is overwritten and left to the garbage collector instead (see
// poisonRecycled), so that a read after Release reads bytes no message
// has, every time.
func putMedium(start *byte, c int) {
	if poisonRecycled {
		b := unsafe.Slice(start, mediumSize(c))
		for i := range b {
			b[i] = 0xdb
		}
		return
	}
	mediumPools[c].Put(start)
}
