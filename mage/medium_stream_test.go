package mage_test

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/mage-ipc/mage/mage"
)

// TestMediumPayloadsStreamIntact: a fast one-way stream of medium payloads
// (each in a pooled buffer, given back once the link has copied it, and
// read into pooled buffers that the reader releases) arrives whole and in
// order: no buffer is reused while its bytes are still to be sent or read.
// The sender reuses buffers as fast as the link gives them back, and
// never waits for the reader, so a buffer handed out again too early
// shows as a message whose bytes belong to a later one.
func TestMediumPayloadsStreamIntact(t *testing.T) {
	a, b := connectedNodes(t)
	ctx := testContext(t)
	const messages = 6000 // about 32 MB: within the default Limits.MaxQueuedBytes, so the sender never waits
	sizes := []int{mage.MaxInlinePayload + 1, 1000, 4096, 16<<10 - 1}
	fill := func(p []byte, i int) {
		binary.LittleEndian.PutUint32(p, uint32(i))
		for j := 4; j < len(p); j++ {
			p[j] = byte(i + j)
		}
	}
	check := func(p []byte, i int) error {
		if want := sizes[i%len(sizes)]; len(p) != want {
			return fmt.Errorf("message %d has %d bytes, want %d", i, len(p), want)
		}
		if got := int(binary.LittleEndian.Uint32(p)); got != i {
			return fmt.Errorf("message %d carries the number %d", i, got)
		}
		for j := 4; j < len(p); j++ {
			if p[j] != byte(i+j) {
				return fmt.Errorf("message %d: byte %d is %#x, want %#x", i, j, p[j], byte(i+j))
			}
		}
		return nil
	}
	sent := make(chan error, 1)
	go func() {
		for i := range messages {
			m := mage.NewMessage(sizes[i%len(sizes)])
			fill(m.Payload, i)
			if err := a.WriteMessage(m); err != nil {
				sent <- fmt.Errorf("writing message %d: %w", i, err)
				return
			}
		}
		sent <- nil
	}()
	for i := range messages {
		m, err := next(ctx, b)
		if err != nil {
			t.Fatalf("reading message %d: %v", i, err)
		}
		if err := check(m.Payload, i); err != nil {
			t.Fatal(err)
		}
		m.Release()
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}
