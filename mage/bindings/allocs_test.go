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
