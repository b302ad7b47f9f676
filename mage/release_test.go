package mage_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"runtime"
	"testing"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage"
)

func init() {
	roles["release-sink"] = releaseSink
	roles["varied-sizes"] = variedSizes
}

// variedSizes is a peer that tries to make the receiver's payload cache
// grow: it sends large payloads of ever new lengths, more bytes in all
// than the cache may hold (and less than Limits.MaxQueuedBytes, so that
// it is never pushed back), then closes.
func variedSizes(ctx context.Context, p mage.MessagePipe) error {
	for i := range variedCount {
		if err := p.WriteMessage(&mage.Message{Method: uint32(i), Payload: make([]byte, variedSize(i))}); err != nil {
			return err
		}
	}
	return p.Close()
}

const variedCount = 220

// variedSize is the length of variedSizes' i-th payload: all differ.
func variedSize(i int) int { return 16<<10 + i*1500 }

// TestHostilePayloadSizesStayBounded: a peer sending large payloads of
// ever new lengths, which the reader releases, leaves the process's
// payload cache within its bounds of buffers and bytes.
func TestHostilePayloadSizesStayBounded(t *testing.T) {
	forEachHarness(t, func(t *testing.T, start harness) {
		parent := mage.NewNode(mage.NodeOptions{})
		defer parent.Close()
		a, b := parent.CreatePipe()
		pr := start(t, parent, "varied-sizes", b)
		ctx := testContext(t)
		total := 0
		for i := range variedCount {
			m, err := next(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Payload) != variedSize(i) {
				t.Fatalf("message %d: %d bytes, want %d", i, len(m.Payload), variedSize(i))
			}
			total += len(m.Payload)
			m.Release()
			if n, bytes, maxN, maxBytes := mage.CachedPayloads(); n > maxN || bytes > maxBytes {
				t.Fatalf("after %d messages: the cache holds %d buffers of %d bytes, bounds %d and %d", i+1, n, bytes, maxN, maxBytes)
			}
		}
		if _, _, _, maxBytes := mage.CachedPayloads(); total <= maxBytes {
			t.Fatalf("the peer sent %d bytes, not more than the bound %d: the test proves nothing", total, maxBytes)
		}
		finish(t, parent, pr, a)
	})
}

// fillChecked writes into p a pattern of message i (every byte depends
// on i and its place) followed by the CRC of what precedes it.
func fillChecked(i int, p []byte) {
	body := p[:len(p)-4]
	for j := range body {
		body[j] = byte(j*31 + i*7 + j>>8)
	}
	binary.LittleEndian.PutUint32(p[len(p)-4:], crc32.ChecksumIEEE(body))
}

// checkFilled reports whether p is still what fillChecked(i, p) wrote.
func checkFilled(i int, p []byte) error {
	body := p[:len(p)-4]
	if got, want := crc32.ChecksumIEEE(body), binary.LittleEndian.Uint32(p[len(p)-4:]); got != want {
		return fmt.Errorf("message %d of %d bytes: checksum %#x, want %#x: its buffer was written by someone else", i, len(p), got, want)
	}
	for j, b := range body {
		if b != byte(j*31+i*7+j>>8) {
			return fmt.Errorf("message %d of %d bytes: byte %d is another message's", i, len(p), j)
		}
	}
	return nil
}

// releaseSizes are the payload lengths of a release stream, in turn:
// mostly one length (so that buffers are reused), another large one, and
// a small one the cache never takes.
var releaseSizes = []int{64 << 10, 64 << 10, 1 << 20, 64 << 10, 200, 64 << 10}

// releaseSink reads the messages of a release stream, checks each,
// releases most of them at once and keeps every fifth, which it checks
// again at the end (a buffer reused while its reader still holds it shows
// there), then answers the end-of-stream message (method 0) with the
// number of messages it read.
func releaseSink(ctx context.Context, p mage.MessagePipe) error {
	var kept []*mage.Message
	count := 0
	for {
		m, err := next(ctx, p)
		if errors.Is(err, mage.ErrPeerClosed) {
			return p.Close()
		}
		if err != nil {
			return err
		}
		if m.Method == 0 {
			for _, k := range kept {
				if err := checkFilled(int(k.Method), k.Payload); err != nil {
					return fmt.Errorf("kept: %w", err)
				}
				k.Release()
			}
			kept = kept[:0]
			if err := p.WriteMessage(&mage.Message{RequestID: uint64(count)}); err != nil {
				return err
			}
			continue
		}
		count++
		i := int(m.Method)
		if err := checkFilled(i, m.Payload); err != nil {
			return err
		}
		if i%5 == 0 {
			kept = append(kept, m)
			continue
		}
		m.Release()
	}
}

// TestReleaseStream: a one-way stream of large messages written from
// NewPayload and released by the reader arrives intact, every message and
// every message the reader kept unreleased: no buffer is handed out while
// a writer still has it queued or a reader still holds it. Run it with
// -race.
func TestReleaseStream(t *testing.T) {
	forEachHarness(t, func(t *testing.T, start harness) {
		parent := mage.NewNode(mage.NodeOptions{})
		defer parent.Close()
		a, b := parent.CreatePipe()
		pr := start(t, parent, "release-sink", b)
		ctx := testContext(t)
		const rounds, perRound = 10, 30
		for r := range rounds {
			for k := range perRound {
				i := 1 + r*perRound + k
				p := mage.NewPayload(releaseSizes[i%len(releaseSizes)])
				fillChecked(i, p)
				if err := a.WriteMessage(&mage.Message{Method: uint32(i), Payload: p}); err != nil {
					t.Fatal(err)
				}
			}
			if err := a.WriteMessage(&mage.Message{}); err != nil {
				t.Fatal(err)
			}
			m, err := next(ctx, a)
			if err != nil {
				t.Fatalf("round %d: %v", r, err)
			}
			if m.RequestID != uint64((r+1)*perRound) {
				t.Fatalf("round %d: the sink counted %d messages, want %d", r, m.RequestID, (r+1)*perRound)
			}
		}
		finish(t, parent, pr, a)
	})
}

// TestReleasedPayloadIsReused: a payload given back with Release is the
// buffer the next received payload of its length is read into, and the
// one NewPayload returns next: a local message's payload goes straight to
// the reader.
func TestReleasedPayloadIsReused(t *testing.T) {
	n := mage.NewNode(mage.NodeOptions{})
	defer n.Close()
	a, b := n.CreatePipe()
	const size = 100 << 10
	p := mage.NewPayload(size)
	fillChecked(1, p)
	if err := a.WriteMessage(&mage.Message{Method: 1, Payload: p}); err != nil {
		t.Fatal(err)
	}
	m, err := next(testContext(t), b)
	if err != nil {
		t.Fatal(err)
	}
	if &m.Payload[0] != &p[0] {
		t.Fatal("a local message's payload was copied")
	}
	m.Release()
	m.Release() // does nothing more
	if m.Payload != nil {
		t.Fatal("a released message still has its payload")
	}
	q := mage.NewPayload(size)
	if &q[0] != &p[0] {
		t.Fatal("NewPayload did not reuse the released payload")
	}
	if r := mage.NewPayload(size); &r[0] == &q[0] {
		t.Fatal("NewPayload handed out one released payload twice")
	}
	_ = a.Close()
	_ = b.Close()
}

// connectedNodes returns two nodes of this process joined by a
// socketpair, and the two ends of a pipe between them.
func connectedNodes(t *testing.T) (a, b mage.MessagePipe) {
	t.Helper()
	ca, cb, err := sockets.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	n1, n2 := mage.NewNode(mage.NodeOptions{}), mage.NewNode(mage.NodeOptions{})
	t.Cleanup(func() { n1.Close(); n2.Close() })
	ctx := testContext(t)
	a, far := n1.CreatePipe()
	got := make(chan mage.MessagePipe, 1)
	errc := make(chan error, 1)
	go func() {
		c, err := n2.Connect(ctx, cb, mage.ConnectOptions{AsBroker: true})
		if err != nil {
			errc <- err
			return
		}
		p, _ := c.Pipe("p")
		got <- p
	}()
	if _, err := n1.Connect(ctx, ca, mage.ConnectOptions{Attach: map[string]mage.MessagePipe{"p": far}}); err != nil {
		t.Fatal(err)
	}
	select {
	case b = <-got:
	case err := <-errc:
		t.Fatal(err)
	}
	return a, b
}

// TestOneWayLargeAllocations: a one-way message of 1 MiB between two
// nodes over a socket, written from NewPayload and released by its
// reader, allocates no payload in steady state: the bytes allocated per
// message (both sides, this process is both) are a few hundred, not a
// megabyte, and it takes no more allocations than a 16 B message (the
// Messages and the ports layer's records of the journey; the 16 B one
// makes its payload too).
func TestOneWayLargeAllocations(t *testing.T) {
	a, b := connectedNodes(t)
	ctx := testContext(t)
	var failed error
	sender := func(size int) func() {
		return func() {
			if err := a.WriteMessage(&mage.Message{Payload: mage.NewPayload(size)}); err != nil {
				failed = err
				return
			}
			m, err := next(ctx, b)
			if err != nil {
				failed = err
				return
			}
			if len(m.Payload) != size {
				failed = fmt.Errorf("received %d bytes, want %d", len(m.Payload), size)
			}
			m.Release()
		}
	}
	const size = 1 << 20
	send := sender(size)
	for range 10 {
		send()
	}
	small := testing.AllocsPerRun(200, sender(16))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const runs = 200
	allocs := testing.AllocsPerRun(runs, send)
	runtime.ReadMemStats(&after)
	if failed != nil {
		t.Fatal(failed)
	}
	perMessage := (after.TotalAlloc - before.TotalAlloc) / (runs + 1)
	t.Logf("one-way 1 MiB with NewPayload and Release: %.1f allocations, %d bytes per message (16 B: %.1f allocations)", allocs, perMessage, small)
	// A payload made now and then is timing, not a failure to reuse: the
	// reader may ask for a buffer before the writer, still finishing its
	// sendmsg, has handed the one it wrote back (one such miss in a run is
	// 5 KiB per message). Not reusing costs a MiB per message.
	if perMessage > size/16 {
		t.Fatalf("%d bytes allocated per 1 MiB message: its payload is not reused", perMessage)
	}
	if allocs > small {
		t.Fatalf("%.1f allocations per 1 MiB message, more than a 16 B message's %.1f", allocs, small)
	}
}
