package bindings

import (
	"context"
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
// its reply in one node, both sides counted: the request's and the reply's
// encoderBlock, the method's context, and the ports layer's record of each
// message. A change that adds one per call fails here.
func TestTypedRoundTripAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("counts allocations")
	}
	ctx := context.Background()
	a, p := pipeMakers["one-node"](t)
	rcv := NewReceiver(p, echoDesc, echoDispatch)
	defer rcv.Close()
	remote := NewRemote(a, echoDesc)
	defer remote.Close()
	data := make([]byte, 16)
	var callErr error
	allocs := testing.AllocsPerRun(500, func() {
		if _, err := echoCall(ctx, remote, data); err != nil {
			callErr = err
		}
	})
	if callErr != nil {
		t.Fatal(callErr)
	}
	const want = 5
	if allocs > want {
		t.Errorf("a typed round trip in one node makes %.1f allocations, want at most %d", allocs, want)
	}
}
