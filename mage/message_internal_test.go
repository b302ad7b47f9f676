package mage

import (
	"bytes"
	"testing"
)

// TestNewReceivedMessage: a payload the channel lends (at most
// MaxInlinePayload bytes) is copied into the Message's own allocation, one
// allocation in all, sharing nothing with the reader's buffer; a longer one
// is the message's already and is kept as it is.
func TestNewReceivedMessage(t *testing.T) {
	lent := bytes.Repeat([]byte{7}, MaxInlinePayload)
	var m *Message
	if allocs := testing.AllocsPerRun(100, func() { m = newReceivedMessage(lent) }); allocs != 1 {
		t.Fatalf("a message with a lent payload takes %.1f allocations, want 1", allocs)
	}
	if !bytes.Equal(m.Payload, lent) || &m.Payload[0] == &lent[0] {
		t.Fatal("the lent payload was not copied")
	}
	if cap(m.Payload) != len(lent) {
		t.Fatalf("payload capacity %d, want %d: appending must not write past it", cap(m.Payload), len(lent))
	}
	lent[0] = 9 // the reader reuses its buffer
	if m.Payload[0] != 7 {
		t.Fatal("the message's payload changed with the reader's buffer")
	}
	owned := make([]byte, MaxInlinePayload+1)
	if got := newReceivedMessage(owned); &got.Payload[0] != &owned[0] {
		t.Fatal("an owned payload was copied")
	}
	if got := newReceivedMessage(nil); got.Payload != nil {
		t.Fatalf("empty payload became %v", got.Payload)
	}
}
