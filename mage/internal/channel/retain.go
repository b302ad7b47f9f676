package channel

import "runtime"

// A stream of small frames that the writer cannot keep up with fills each
// batch to about the same size, often past maxRetainedBuffer (a one-way
// stream of 1 KiB messages acknowledged every 4096 of them filled
// batches of 4.3 MB). When a written batch dropped its buffer past that bound, the
// next regrew one from nothing: an allocation of about twice the batch
// and a copy of every byte per batch (measured: 2.8 GB allocated in 3 s
// for 1.9 GB sent, the sender 29% in memmove). A process-wide sync.Pool
// of those buffers did not keep them either: the regrowing itself made
// collections so frequent that the pool was emptied between batches.
//
// So a batch keeps a buffer of up to maxKeptBuffer, and each garbage
// collection, while a channel has one past maxRetainedBuffer, drops those
// of its batches that are empty, not being written, and have carried no
// batch since the collection before: a stream keeps its buffers, and a
// connection that went quiet after a burst gives them up within two
// collections.

// gcMark is an object made only to be collected: its cleanup marks a
// garbage collection. It holds a pointer and is larger than the tiny
// allocator's blocks, which may outlive the collection that frees them.
type gcMark struct {
	_ [16]byte
	_ *int
}

// keptBigLocked arms the trim at the next garbage collection if a batch
// of c's keeps a buffer past maxRetainedBuffer and none is armed. It runs
// under c.mu after a batch was written and reset, where no one writes any
// batch without c.mu: at the end of the writer's flush, at the end of a
// WritePending caller's batch, and after a direct write under c.mu.
func (c *Channel) keptBigLocked() {
	if c.trimArmed || !(c.pending.big() || c.directBatch.big() || c.writerBatch.big()) {
		return
	}
	c.trimArmed = true
	runtime.AddCleanup(new(gcMark), (*Channel).trimBuffers, c)
}

// trimBuffers drops the big buffers of c's batches that are empty, that
// nobody writes, and that carried nothing since the last trim (batch.trim),
// and arms itself again for the next collection while
// some may be left. A batch someone writes without c.mu is not looked at:
// directBatch while a WritePending caller owns it, writerBatch while the
// writer writes (writing set by the writer, not by such a caller).
func (c *Channel) trimBuffers() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trimArmed = false
	if c.stopErr != nil {
		return // the batches are discarded as the channel stops
	}
	left := c.pending.trim()
	if c.directOwned {
		left = true
	} else if c.directBatch.trim() {
		left = true
	}
	if c.writing && !c.directOwned {
		left = true
	} else if c.writerBatch.trim() {
		left = true
	}
	if left {
		c.trimArmed = true
		runtime.AddCleanup(new(gcMark), (*Channel).trimBuffers, c)
	}
	if c.afterTrim != nil {
		c.afterTrim()
	}
}
