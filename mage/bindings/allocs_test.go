package bindings

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// echoDesc is a hand-made interface shaped like the generated code of
// bench.magen's Echo(bytes) => (bytes).
var echoDesc = &InterfaceDescriptor{Name: "test.Echo", Fingerprint: 0x4543484f, Methods: []MethodDescriptor{
	{Ordinal: 1, Name: "Echo", HasReply: true},
}}

func echoDispatch(ctx context.Context, method uint32, d *Decoder) (*Encoder, error) {
	p0 := d.ReadBytes()
	if err := d.Finish(); err != nil {
		return nil, err
	}
	e := NewReplyEncoder(4 + len(p0))
	e.WriteBytes(p0)
	return e, nil
}

func echoCall(ctx context.Context, r *Remote, data []byte) ([]byte, error) {
	e := NewEncoder(4 + len(data))
	e.WriteBytes(data)
	d := new(Decoder)
	if err := r.Call(ctx, 1, e, d); err != nil {
		return nil, err
	}
	r0 := d.ReadBytes()
	if err := d.Finish(); err != nil {
		return nil, err
	}
	return r0, nil
}

// BenchmarkTypedRoundTrip is a 16-byte typed call and its reply, in one
// node and across two nodes over a socketpair (with the Receiver's
// implementation on its own goroutine, and inline); its allocations are
// both sides'.
func BenchmarkTypedRoundTrip(b *testing.B) {
	for _, name := range []string{"one-node", "across-nodes", "across-nodes-inline"} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			a, p := pipeMakers[strings.TrimSuffix(name, "-inline")](b)
			rcv := NewReceiver(p, echoDesc, echoDispatch)
			rcv.SetDispatchInline(strings.HasSuffix(name, "-inline"))
			defer rcv.Close()
			remote := NewRemote(a, echoDesc)
			defer remote.Close()
			data := make([]byte, 16)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := echoCall(ctx, remote, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestTypedRoundTripAllocs pins the allocations of a 16-byte typed call and
// its reply, in one node and across two nodes over a socketpair, both
// sides counted. What is left is the bytes values handed to user code:
// the result the caller keeps (ReadBytes copies a short value, so that the
// reply's pooled message goes back), and the argument the implementation
// gets, unless the Receiver lends it only for the call (SetBorrowedBytes).
// The Encoders, the Messages and their payloads, the method contexts (in
// blocks of 64) and the ports layer's records cost nothing in steady state.
// A change that adds one per call fails here.
func TestTypedRoundTripAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("counts allocations")
	}
	for _, tc := range []struct {
		pipes    string
		borrowed bool
		want     float64
	}{
		{"one-node", false, 2},
		{"one-node", true, 1},
		{"across-nodes", false, 2},
		{"across-nodes", true, 1},
	} {
		name := tc.pipes
		if tc.borrowed {
			name += "-borrowed"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			a, p := pipeMakers[tc.pipes](t)
			rcv := NewReceiver(p, echoDesc, echoDispatch)
			rcv.SetBorrowedBytes(tc.borrowed)
			defer rcv.Close()
			remote := NewRemote(a, echoDesc)
			defer remote.Close()
			data := make([]byte, 16)
			var callErr error
			call := func() {
				got, err := echoCall(ctx, remote, data)
				if err != nil {
					callErr = err
				} else if len(got) != len(data) {
					callErr = fmt.Errorf("echo returned %d bytes, want %d", len(got), len(data))
				}
			}
			for range 100 {
				call() // warm the pools
			}
			allocs := testing.AllocsPerRun(1000, call)
			if callErr != nil {
				t.Fatal(callErr)
			}
			if want := tc.want + raceAllocSlack; allocs > want {
				t.Errorf("a typed round trip makes %.1f allocations, want at most %.0f", allocs, want)
			}
		})
	}
}
