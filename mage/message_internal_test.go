package mage

import (
	"bytes"
	"testing"
)

// TestNewReceivedMessage: a payload the channel lends of at most
// MaxInlinePayload bytes is copied into the Message's own allocation, one
// allocation in all, sharing nothing with the reader's buffer; a medium
// one is copied into a buffer of its class, which the message owns; a
// large one is the message's already and is kept as it is.
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
	medium := bytes.Repeat([]byte{3}, MaxInlinePayload+1)
	got := newReceivedMessage(medium)
	if !bytes.Equal(got.Payload, medium) || &got.Payload[0] == &medium[0] {
		t.Fatal("a medium lent payload was not copied")
	}
	if got.medium != &got.Payload[0] || cap(got.Payload) != 128 {
		t.Fatalf("a medium payload of %d bytes: owned %v, capacity %d, want owned with capacity 128", len(medium), got.medium != nil, cap(got.Payload))
	}
	owned := make([]byte, minCachedPayload)
	if got := newReceivedMessage(owned); &got.Payload[0] != &owned[0] || got.medium != nil {
		t.Fatal("an owned payload was copied")
	}
	if got := newReceivedMessage(nil); got.Payload != nil {
		t.Fatalf("empty payload became %v", got.Payload)
	}
}

// TestMediumClasses: every medium length gets the smallest class that
// holds it, and only medium lengths get one.
func TestMediumClasses(t *testing.T) {
	for n := 0; n <= minCachedPayload+1; n++ {
		c, ok := mediumClass(n)
		if want := n > MaxInlinePayload && n < minCachedPayload; ok != want {
			t.Fatalf("mediumClass(%d) reports medium %v, want %v", n, ok, want)
		}
		if !ok {
			continue
		}
		if c < 0 || c >= mediumClasses || mediumSize(c) < n || (c > 0 && mediumSize(c-1) >= n) {
			t.Fatalf("mediumClass(%d) = %d (size %d): not the smallest class that holds it", n, c, mediumSize(c))
		}
	}
}

// TestMediumPayloadGivenBack: a pooled message gives its medium buffer
// back when released or sent, while its Payload still lies in it (a
// sub-slice too); not when the user replaced the Payload, nor from a copy
// of the message's value, which owns nothing.
func TestMediumPayloadGivenBack(t *testing.T) {
	if poisonRecycled {
		t.Skip("a race-enabled build poisons given-back buffers instead of pooling them")
	}
	// sync.Pool may drop what it is given (a collection, a change of P), so
	// each case looks for its buffer among a few taken back.
	reused := func(start *byte) bool {
		var taken [][]byte
		defer func() {
			for _, b := range taken {
				putMedium(&b[0], 3)
			}
		}()
		for range 8 {
			b := getMedium(1000)
			taken = append(taken, b)
			if &b[0] == start {
				return true
			}
		}
		return false
	}
	for _, tc := range []struct {
		name     string
		giveBack func(m *Message)
		want     bool
	}{
		{"released", func(m *Message) { m.Release() }, true},
		{"sent", recycleSent, true},
		{"released cut", func(m *Message) { m.Payload = m.Payload[10:20]; m.Release() }, true},
		{"payload replaced", func(m *Message) { m.Payload = make([]byte, 1000); m.Release() }, false},
		{"a copy released", func(m *Message) { c := *m; c.Release() }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMessage(1000)
			start := m.medium
			if start == nil || &m.Payload[0] != start || cap(m.Payload) != 1024 {
				t.Fatal("NewMessage(1000) did not take a buffer of class 1 KiB")
			}
			tc.giveBack(m)
			if got := reused(start); got != tc.want {
				t.Fatalf("buffer given back: %v, want %v", got, tc.want)
			}
		})
	}
}
