package channel

import "testing"

// TestBatchBufferRetention: a written batch keeps a buffer of up to
// maxRetainedBuffer bytes; a bigger one goes to bigBuffers, and the next
// batch to grow past its own buffer and pooledFrom takes it over, bytes
// so far included, instead of regrowing (a stream the writer cannot keep up
// with fills each batch to about the same size).
func TestBatchBufferRetention(t *testing.T) {
	small := batch{buf: make([]byte, 100, maxRetainedBuffer)}
	small.reset(nil)
	if cap(small.buf) != maxRetainedBuffer {
		t.Fatalf("a buffer of maxRetainedBuffer bytes was not kept (capacity %d after reset)", cap(small.buf))
	}

	const bigSize = 8 << 20
	// sync.Pool may drop what it is given (a collection, another P), so
	// the hand-over is tried a few times; it must happen.
	for try := 0; ; try++ {
		big := batch{buf: make([]byte, bigSize)}
		start := &big.buf[:1][0]
		big.reset(nil)
		if big.buf != nil {
			t.Fatalf("a buffer of %d bytes stayed with its batch", bigSize)
		}
		next := batch{buf: append(make([]byte, 0, 64), "frames so far"...)}
		next.reserve(maxRetainedBuffer)
		if cap(next.buf) >= bigSize && &next.buf[:1][0] == start {
			if string(next.buf) != "frames so far" {
				t.Fatalf("the batch's bytes became %q", next.buf)
			}
			break
		}
		if try == 10 {
			t.Fatal("a batch growing past its buffer never took the one a written batch let go")
		}
	}

	// A batch that fits, or stays within pooledFrom, takes none.
	fits := batch{buf: make([]byte, 0, 1024)}
	fits.reserve(1000)
	grows := batch{buf: make([]byte, 0, 1024)}
	grows.reserve(pooledFrom)
	if cap(fits.buf) != 1024 || cap(grows.buf) != 1024 {
		t.Fatalf("reserve replaced buffers it did not need to (capacities %d and %d)", cap(fits.buf), cap(grows.buf))
	}
}
