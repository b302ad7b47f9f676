package bindings

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// sumDesc is an interface of one one-way method, Sum(array of longs, as
// bare values): its Receiver reads every value and keeps none, so the
// message is given back.
var sumDesc = &InterfaceDescriptor{Name: "test.Sum", Fingerprint: 0x53554d00, Methods: []MethodDescriptor{
	{Ordinal: 1, Name: "Sum"},
}}

const sumValues = 8192 // 64 KiB of longs

// sumDispatch reads sumValues longs and sends their sum on sums.
func sumDispatch(sums chan<- int64) DispatchFunc {
	return func(ctx context.Context, method uint32, d *Decoder) (*Encoder, error) {
		var sum int64
		for range sumValues {
			sum += d.ReadInt64()
		}
		if err := d.Finish(); err != nil {
			return nil, err
		}
		sums <- sum
		return nil, nil
	}
}

// TestOneWayLargeTypedAllocations: a one-way typed message of 64 KiB
// between two nodes, whose implementation keeps none of its bytes,
// allocates no payload in steady state on either side: the encoder writes
// into a buffer that an earlier message's write left, and the Receiver
// gives the message it decoded back for the next one to be read into.
func TestOneWayLargeTypedAllocations(t *testing.T) {
	a, p := pipeMakers["across-nodes"](t)
	sums := make(chan int64, 1)
	rcv := NewReceiver(p, sumDesc, sumDispatch(sums))
	defer rcv.Close()
	remote := NewRemote(a, sumDesc)
	defer remote.Close()
	var failed error
	send := func() {
		e := NewEncoder(8 * sumValues)
		var want int64
		for i := range sumValues {
			e.WriteInt64(int64(i) * 3)
			want += int64(i) * 3
		}
		if err := remote.Send(1, e); err != nil {
			failed = err
			return
		}
		if got := <-sums; got != want {
			failed = errors.New("the implementation summed what was not sent")
		}
	}
	for range 10 {
		send()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const runs = 200
	allocs := testing.AllocsPerRun(runs, send)
	runtime.ReadMemStats(&after)
	if failed != nil {
		t.Fatal(failed)
	}
	perMessage := (after.TotalAlloc - before.TotalAlloc) / (runs + 1)
	t.Logf("one-way typed 64 KiB: %.1f allocations, %d bytes per message", allocs, perMessage)
	if perMessage > 4<<10 {
		t.Fatalf("%d bytes allocated per 64 KiB typed message: its payload is not reused", perMessage)
	}
}

// TestLentBytesAreNeverReused: the bytes ReadBytes lends an implementation
// stay its own: a stream of large requests, each of whose arguments the
// implementation keeps, with more large messages written and released
// meanwhile, leaves every kept argument as it was sent.
func TestLentBytesAreNeverReused(t *testing.T) {
	a, p := pipeMakers["across-nodes"](t)
	var kept [][]byte
	rcv := NewReceiver(p, echoDesc, func(ctx context.Context, method uint32, d *Decoder) (*Encoder, error) {
		p0 := d.ReadBytes()
		if err := d.Finish(); err != nil {
			return nil, err
		}
		kept = append(kept, p0)
		e := NewReplyEncoder(4 + len(p0))
		e.WriteBytes(p0)
		return e, nil
	})
	defer rcv.Close()
	remote := NewRemote(a, echoDesc)
	defer remote.Close()
	ctx := context.Background()
	pattern := func(i int) []byte { return bytes.Repeat([]byte{byte(i), byte(i >> 8), 0x5a}, 30<<10) }
	for i := range 50 {
		got, err := echoCall(ctx, remote, pattern(i))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pattern(i)) {
			t.Fatalf("echo %d came back changed", i)
		}
	}
	// The Receiver ran every method before its reply was sent, so kept is
	// complete once the last call returned.
	for i, k := range kept {
		if !bytes.Equal(k, pattern(i)) {
			t.Fatalf("the bytes lent for request %d changed after the implementation got them", i)
		}
	}
}

// TestLargeCallWithDeadline: a large request of a call with a deadline,
// encoded without room for its timeout, travels whole behind one.
func TestLargeCallWithDeadline(t *testing.T) {
	a, p := pipeMakers["across-nodes"](t)
	rcv := NewReceiver(p, echoDesc, echoDispatch)
	defer rcv.Close()
	remote := NewRemote(a, echoDesc)
	defer remote.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	data := bytes.Repeat([]byte("deadline"), 10<<10)
	for range 3 {
		got, err := echoCall(ctx, remote, data)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatal("a large call with a deadline came back changed")
		}
	}
}

// pushDesc is an interface of one one-way method, Push(bytes), like
// bench.magen's.
var pushDesc = &InterfaceDescriptor{Name: "test.Push", Fingerprint: 0x50555348, Methods: []MethodDescriptor{
	{Ordinal: 1, Name: "Push"},
}}

// pushDispatch checks every Push argument against want(i) for the i-th
// and sends the result on done.
func pushDispatch(want func(i int) []byte, done chan<- error) DispatchFunc {
	i := 0
	return func(ctx context.Context, method uint32, d *Decoder) (*Encoder, error) {
		p0 := d.ReadBytes()
		if err := d.Finish(); err != nil {
			return nil, err
		}
		if !bytes.Equal(p0, want(i)) {
			done <- errors.New("a borrowed argument was not what was sent")
		} else {
			done <- nil
		}
		i++
		return nil, nil
	}
}

// TestBorrowedBytesOneWay: with SetBorrowedBytes, a one-way stream of
// large bytes arguments allocates no payload in steady state, and every
// argument arrives as sent (its buffer is not reused while the method
// runs); without it, each message's payload is a fresh one.
func TestBorrowedBytesOneWay(t *testing.T) {
	for _, borrowed := range []bool{true, false} {
		t.Run(map[bool]string{true: "borrowed", false: "kept"}[borrowed], func(t *testing.T) {
			a, p := pipeMakers["across-nodes"](t)
			const size = 64 << 10
			var pats [7][]byte
			for k := range pats {
				pats[k] = bytes.Repeat([]byte{byte(k), byte(k >> 8), 7, 9}, size/4)
			}
			want := func(i int) []byte { return pats[i%len(pats)] }
			done := make(chan error, 1)
			rcv := NewReceiver(p, pushDesc, pushDispatch(want, done))
			rcv.SetBorrowedBytes(borrowed)
			defer rcv.Close()
			remote := NewRemote(a, pushDesc)
			defer remote.Close()
			var failed error
			i := 0
			send := func() {
				e := NewEncoder(4 + size)
				e.WriteBytes(want(i))
				i++
				if err := remote.Send(1, e); err != nil {
					failed = err
					return
				}
				if err := <-done; err != nil {
					failed = err
				}
			}
			for range 10 {
				send()
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			const runs = 200
			testing.AllocsPerRun(runs, send)
			runtime.ReadMemStats(&after)
			if failed != nil {
				t.Fatal(failed)
			}
			perMessage := (after.TotalAlloc - before.TotalAlloc) / (runs + 1)
			t.Logf("one-way typed Push of 64 KiB, borrowed %v: %d bytes per message", borrowed, perMessage)
			if borrowed && perMessage > 4<<10 {
				t.Fatalf("%d bytes allocated per borrowed 64 KiB message: its payload is not reused", perMessage)
			}
			if !borrowed && perMessage < size {
				t.Fatalf("%d bytes allocated per kept 64 KiB message: a payload lent to the implementation was reused", perMessage)
			}
		})
	}
}

// countDesc is an interface of one method, Count() => (longs as bare
// values): a large reply that lends nothing.
var countDesc = &InterfaceDescriptor{Name: "test.Count", Fingerprint: 0x434f554e, Methods: []MethodDescriptor{
	{Ordinal: 1, Name: "Count", HasReply: true},
}}

func countDispatch(ctx context.Context, method uint32, d *Decoder) (*Encoder, error) {
	if err := d.Finish(); err != nil {
		return nil, err
	}
	e := NewReplyEncoder(8 * sumValues)
	for i := range sumValues {
		e.WriteInt64(int64(i))
	}
	return e, nil
}

// TestLargeReplyIsReused: a call whose large reply lends nothing (its
// caller reads only values) gives the reply back at Finish, so that a
// stream of such calls reuses the reply's buffer on both sides.
func TestLargeReplyIsReused(t *testing.T) {
	a, p := pipeMakers["across-nodes"](t)
	rcv := NewReceiver(p, countDesc, countDispatch)
	defer rcv.Close()
	remote := NewRemote(a, countDesc)
	defer remote.Close()
	ctx := context.Background()
	var failed error
	call := func() {
		d := new(Decoder)
		if err := remote.Call(ctx, 1, NewEncoder(0), d); err != nil {
			failed = err
			return
		}
		var sum int64
		for range sumValues {
			sum += d.ReadInt64()
		}
		if err := d.Finish(); err != nil {
			failed = err
		}
		if sum != sumValues*(sumValues-1)/2 {
			failed = errors.New("the reply was not what was sent")
		}
	}
	for range 10 {
		call()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const runs = 200
	testing.AllocsPerRun(runs, call)
	runtime.ReadMemStats(&after)
	if failed != nil {
		t.Fatal(failed)
	}
	perCall := (after.TotalAlloc - before.TotalAlloc) / (runs + 1)
	t.Logf("call with a 64 KiB reply: %d bytes per call", perCall)
	if perCall > 4<<10 {
		t.Fatalf("%d bytes allocated per call with a 64 KiB reply: the reply is not reused", perCall)
	}
}
