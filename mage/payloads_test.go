package mage_test

import (
	"bytes"
	"testing"

	"github.com/mage-ipc/mage/mage"
)

// largePattern is a payload of n bytes that differs for every i.
func largePattern(i, n int) []byte {
	p := make([]byte, n)
	for j := range p {
		p[j] = byte(j*31 + i*7)
	}
	return p
}

// TestLargeEchoesKeepTheirPayloads: large messages echoed back and forth
// (the echo writes back the payload it received, so the links reuse
// written payloads for received ones) arrive intact, and every payload the
// reader was given and kept stays intact while later ones arrive: a
// buffer reused for a received payload is never one its owner still holds.
func TestLargeEchoesKeepTheirPayloads(t *testing.T) {
	forEachHarness(t, func(t *testing.T, start harness) {
		parent := mage.NewNode(mage.NodeOptions{})
		defer parent.Close()
		a, b := parent.CreatePipe()
		pr := start(t, parent, "echo", b)
		ctx := testContext(t)
		sizes := []int{64 << 10, 1 << 20, 64 << 10, 200<<10 + 3}
		var kept [][]byte
		for i := range 40 {
			n := sizes[i%len(sizes)]
			if err := a.WriteMessage(&mage.Message{Method: uint32(i), Payload: largePattern(i, n)}); err != nil {
				t.Fatal(err)
			}
			m, err := next(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			if m.Method != uint32(i) || !bytes.Equal(m.Payload, largePattern(i, n)) {
				t.Fatalf("echo %d: method %d, %d bytes: not what was sent", i, m.Method, len(m.Payload))
			}
			if i%2 == 0 {
				kept = append(kept, m.Payload)
				continue
			}
			// Written on: the node may reuse it once it is written.
			if err := a.WriteMessage(&mage.Message{Method: 1000, Payload: m.Payload}); err != nil {
				t.Fatal(err)
			}
			if m, err = next(ctx, a); err != nil || m.Method != 1000 || !bytes.Equal(m.Payload, largePattern(i, n)) {
				t.Fatalf("echo %d written on: %v, not what was sent", i, err)
			}
		}
		for k, p := range kept {
			i := 2 * k
			if !bytes.Equal(p, largePattern(i, sizes[i%len(sizes)])) {
				t.Fatalf("the payload of echo %d changed after it was received", i)
			}
		}
		finish(t, parent, pr, a)
	})
}
