package channel

import (
	"io"
	"runtime"
	"testing"
	"time"
)

// TestBatchBufferKeptUpToBound: a written batch keeps its buffer up to
// maxKeptBuffer bytes, whatever it carried, and drops a bigger one.
func TestBatchBufferKeptUpToBound(t *testing.T) {
	for _, tc := range []struct {
		capacity int
		wantKept bool
	}{
		{64 << 10, true},
		{maxRetainedBuffer + 1, true},
		{maxKeptBuffer, true},
		{maxKeptBuffer + 1, false},
	} {
		b := batch{buf: make([]byte, 100, tc.capacity)}
		b.reset(nil)
		if kept := cap(b.buf) == tc.capacity; kept != tc.wantKept || len(b.buf) != 0 {
			t.Errorf("buffer of %d bytes after reset: length %d, kept %v, want kept %v", tc.capacity, len(b.buf), kept, tc.wantKept)
		}
	}
}

// TestBigBatchBuffersGoWhenIdle: a channel whose queue grew past
// maxRetainedBuffer keeps the big buffers of its batches while they hold
// frames, and once written too (a stream that the writer cannot keep up
// with fills the next batch to about the same size, into the same
// buffer), through the next garbage collection; the one after finds them
// empty and unused since, and drops them.
func TestBigBatchBuffersGoWhenIdle(t *testing.T) {
	ca, cb := socketPair(t)
	defer cb.Close()
	c := newChannel(t, ca, newRecorder(), Options{MaxPendingBytes: 64 << 20, DeferDirectWrite: true})
	trimmed := make(chan struct{}, 1)
	c.afterTrim = func() {
		select {
		case trimmed <- struct{}{}:
		default:
		}
	}
	c.Start()
	// bigBuffers counts the batches with a buffer past the bound. It is
	// called while no one writes a batch without c.mu: before the first
	// write and after the last.
	bigBuffers := func() (n int) {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, b := range []*batch{&c.pending, &c.directBatch, &c.writerBatch} {
			if b.big() {
				n++
			}
		}
		return n
	}

	// Nothing writes yet (DeferDirectWrite, and no WritePending): the
	// queue grows past the bound, and a trim keeps the batch that holds
	// it.
	frame := userFrame(1, 0, make([]byte, 1000), 0)
	total := 0
	for total < 2*maxRetainedBuffer {
		if err := c.Send(frame, nil); err != nil {
			t.Fatal(err)
		}
		total += len(frame)
	}
	if bigBuffers() != 1 {
		t.Fatalf("%d bytes queued and not written, and %d batch buffers past %d bytes, want 1", total, bigBuffers(), maxRetainedBuffer)
	}
	c.trimBuffers()
	<-trimmed // its own report, sent before it returned
	if bigBuffers() != 1 {
		t.Fatal("trimBuffers dropped the big buffer of a batch that still holds frames")
	}
	c.WritePending() // what the socket does not take goes to the writer

	// The peer reads everything; once the writer is idle, the written
	// batch kept its buffer, and a collection is due to trim it.
	if _, err := io.CopyN(io.Discard, cb, int64(total)); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	var flushed chan struct{}
	if c.writing || c.pending.unwritten() > 0 {
		flushed = make(chan struct{})
		c.flushed = flushed
	}
	c.mu.Unlock()
	if flushed != nil {
		select {
		case <-flushed:
		case <-time.After(timeout):
			t.Fatal("the writer never finished writing what the peer read")
		}
	}
	c.mu.Lock()
	armed := c.trimArmed
	c.mu.Unlock()
	if bigBuffers() == 0 || !armed {
		t.Fatalf("written batches keep %d big buffers, trim armed %v; want the buffer kept and a trim armed", bigBuffers(), armed)
	}
	collect := func() {
		t.Helper()
		runtime.GC()
		select {
		case <-trimmed:
		case <-time.After(timeout):
			t.Fatal("no trim ran after a garbage collection")
		}
	}
	// The first collection keeps what was written since the one before
	// (a stream reuses it); the second finds it unused, and drops it.
	collect()
	if bigBuffers() == 0 {
		t.Fatal("the first collection after the write dropped the buffer the write used")
	}
	collect()
	if n := bigBuffers(); n > 0 {
		t.Fatalf("two collections after everything was written, %d batches keep buffers past %d bytes", n, maxRetainedBuffer)
	}
}
