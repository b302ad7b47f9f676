package channel

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/mage-ipc/mage/mage/internal/wire"
)

// TestNewPayload: with Options.NewPayload the reader reads large payloads
// into the buffers it returns, whatever they held, asks for exactly the
// lengths the frames declare, and makes a fresh buffer when it returns one
// of the wrong length; small payloads do not use it.
func TestNewPayload(t *testing.T) {
	ca, cb := socketPair(t)
	var mu sync.Mutex
	var asked []int
	given := map[*byte]bool{}
	rb := newRecorder()
	a := start(t, ca, newRecorder(), Options{})
	start(t, cb, rb, Options{NewPayload: func(n int) []byte {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, n)
		if n == 50000 {
			return make([]byte, n+1) // wrong: the reader must not use it
		}
		b := bytes.Repeat([]byte{0xee}, n+10)[:n] // stale contents, spare capacity
		given[&b[0]] = true
		return b
	}})
	sizes := []int{1 << 20, 10, largeFrame, 50000, 200<<10 + 3}
	for i, n := range sizes {
		if err := a.SendUser(&wire.User{Target: port(1), Sender: port(0x7e), Seq: uint64(i), Payload: pattern(i, n)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	got := rb.waitFrames(t, len(sizes))
	mu.Lock()
	defer mu.Unlock()
	if want := []int{1 << 20, largeFrame, 50000, 200<<10 + 3}; len(asked) != len(want) || asked[0] != want[0] ||
		asked[1] != want[1] || asked[2] != want[2] || asked[3] != want[3] {
		t.Fatalf("NewPayload asked for %v, want %v", asked, want)
	}
	for i, n := range sizes {
		p := got[i].User.Payload
		if !bytes.Equal(p, pattern(i, n)) {
			t.Fatalf("frame %d: payload of %d bytes differs from the %d sent", i, len(p), n)
		}
		if n < largeFrame {
			continue
		}
		if cap(p) != n {
			t.Fatalf("frame %d: capacity %d, want the payload's length %d (the spare capacity is not the Handler's)", i, cap(p), n)
		}
		if from := given[&p[0]]; from != (n != 50000) {
			t.Fatalf("frame %d of %d bytes: read into NewPayload's buffer = %v", i, n, from)
		}
	}
}

// TestPayloadSent: every payload SendUser left uncopied is handed to
// Options.PayloadSent exactly once, when the kernel has taken it or when
// the channel drops it because it stopped; copied payloads and refused
// frames never are.
func TestPayloadSent(t *testing.T) {
	const size = 1 << 20
	var mu sync.Mutex
	sentTimes := map[*byte]int{}
	opts := Options{MaxPendingBytes: 8 * size, PayloadSent: func(p []byte) {
		mu.Lock()
		defer mu.Unlock()
		sentTimes[&p[0]]++
	}}
	count := func(p []byte) int {
		mu.Lock()
		defer mu.Unlock()
		return sentTimes[&p[0]]
	}

	t.Run("written", func(t *testing.T) {
		ca, cb := socketPair(t)
		rb := newRecorder()
		withNotify := opts
		withNotify.PayloadSent = func(p []byte) {
			opts.PayloadSent(p)
			rb.notify() // wakes the waitFor below
		}
		a := start(t, ca, newRecorder(), withNotify)
		b := newChannel(t, cb, rb, Options{}) // not reading yet: payloads queue
		var large [][]byte
		small := make([]byte, largePayload-1)
		for i := range 6 {
			p := pattern(i, size)
			large = append(large, p)
			if err := a.SendUser(&wire.User{Target: port(1), Sender: port(0x7e), Seq: uint64(2 * i), Payload: p}, nil); err != nil {
				t.Fatal(err)
			}
			if err := a.SendUser(&wire.User{Target: port(1), Sender: port(0x7e), Seq: uint64(2*i + 1), Payload: small}, nil); err != nil {
				t.Fatal(err)
			}
		}
		b.Start()
		rb.waitFrames(t, 12)
		// The last frame has arrived, so the kernel took every payload;
		// the writer hands them back once it is done with its batch.
		rb.waitFor(t, "every payload handed back", func() bool {
			for _, p := range large {
				if count(p) != 1 {
					return false
				}
			}
			return true
		})
		if n := count(small); n != 0 {
			t.Fatalf("a copied payload was handed back %d times", n)
		}
	})

	t.Run("dropped", func(t *testing.T) {
		ca, cb := socketPair(t)
		a := start(t, ca, newRecorder(), opts)
		newChannel(t, cb, newRecorder(), Options{}) // never reads
		var accepted, refused [][]byte
		for i := 0; len(refused) == 0; i++ {
			if i == 1000 {
				t.Fatal("no backpressure after 1000 frames of 1 MiB")
			}
			p := make([]byte, size)
			if err := a.SendUser(&wire.User{Target: port(1), Sender: port(0x7e), Seq: uint64(i), Payload: p}, nil); err != nil {
				refused = append(refused, p)
			} else {
				accepted = append(accepted, p)
			}
		}
		a.Close()
		for i, p := range accepted {
			if n := count(p); n != 1 {
				t.Fatalf("accepted payload %d handed back %d times, want once", i, n)
			}
		}
		if n := count(refused[0]); n != 0 {
			t.Fatalf("the refused payload was handed back %d times; it was never the channel's", n)
		}
	})
}

// TestMaxUserPayload: a User frame whose payload exceeds
// Options.MaxUserPayload is the peer's fault, refused as wire.ErrTooLarge;
// a large one before its payload is allocated or read.
func TestMaxUserPayload(t *testing.T) {
	const limit = 40000
	for _, tc := range []struct {
		name string
		size int
		// whole writes the whole frame, else only its fixed part.
		whole bool
	}{
		{"large, fixed part only", 1 << 20, false},
		{"large, whole", limit + 1, true},
		{"small", 100, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca, cb := socketPair(t)
			defer cb.Close()
			ra := newRecorder()
			var mu sync.Mutex
			allocated := 0
			start(t, ca, ra, Options{MaxUserPayload: min(limit, tc.size-1), NewPayload: func(n int) []byte {
				mu.Lock()
				defer mu.Unlock()
				allocated++
				return nil
			}})
			frame := userFrame(1, 0, make([]byte, tc.size), 0)
			if !tc.whole {
				frame = frame[:wire.UserPayloadOffset]
			}
			ok := userFrame(0, 0, make([]byte, min(limit, tc.size-1)), 0)
			if _, err := cb.Write(append(ok, frame...)); err != nil {
				t.Fatal(err)
			}
			err := ra.waitError(t)
			if !errors.Is(err, wire.ErrTooLarge) || !errors.Is(err, ErrPeerFault) {
				t.Fatalf("HandleError(%v), want wire.ErrTooLarge charged to the peer", err)
			}
			if got := len(ra.waitFrames(t, 1)); got != 1 {
				t.Fatalf("%d frames delivered, want the one within the limit", got)
			}
			mu.Lock()
			defer mu.Unlock()
			// Only the payload within the limit, if it is a large one.
			want := 0
			if len(ok) >= largeFrame {
				want = 1
			}
			if allocated != want {
				t.Fatalf("NewPayload called %d times, want %d: the refused payload was allocated", allocated, want)
			}
		})
	}
}
