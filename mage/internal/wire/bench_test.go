package wire

import "testing"

func smallUser() *User {
	return &User{Target: port(1), Sender: port(2), Seq: 7, Interface: 0x1234, Method: 2, RequestID: 9, Payload: make([]byte, 48)}
}

func BenchmarkAppendUser(b *testing.B) {
	u := smallUser()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(u.EncodedLen()))
	for b.Loop() {
		buf = AppendUser(buf[:0], u)
	}
}

func BenchmarkDecodeUser(b *testing.B) {
	buf := AppendUser(nil, smallUser())
	var f Frame
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if err := Decode(buf, &f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeUserWithPorts(b *testing.B) {
	u := smallUser()
	u.Ports = []PortDescriptor{desc(1), desc(2)}
	buf := AppendUser(nil, u)
	var f Frame
	b.ReportAllocs()
	for b.Loop() {
		if err := Decode(buf, &f); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEncodeDoesNotAllocate pins the zero-allocation promise of the Append
// functions when the buffer has room.
func TestEncodeDoesNotAllocate(t *testing.T) {
	u := smallUser()
	u.Ports = []PortDescriptor{desc(1)}
	buf := make([]byte, 0, 4096)
	var f Frame
	if n := testing.AllocsPerRun(100, func() { buf = AppendUser(buf[:0], u) }); n != 0 {
		t.Errorf("AppendUser allocates %v times", n)
	}
	// The first decode grows f.User.Ports; later ones reuse it.
	_ = Decode(buf, &f)
	if n := testing.AllocsPerRun(100, func() { _ = Decode(buf, &f) }); n != 0 {
		t.Errorf("Decode of a user frame allocates %v times", n)
	}
}

// TestEventsDoNotAllocate pins the same for the port events: each is
// encoded into a buffer with room and decoded into a reused Frame without
// an allocation.
func TestEventsDoNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 4096)
	var f Frame
	for _, tc := range []struct {
		name   string
		encode func([]byte) []byte
		want   FrameType
	}{
		{"closure", func(b []byte) []byte {
			return AppendClosure(b, &Closure{Target: port(1), Sender: port(2), LastSeq: 9})
		}, TypeClosure},
		{"peer moved", func(b []byte) []byte {
			return AppendPeerMoved(b, &PeerMoved{Target: port(1), NewNode: node(2), NewPort: port(3), Sender: port(4)})
		}, TypePeerMoved},
		{"port accepted", func(b []byte) []byte {
			return AppendPortAccepted(b, &PortAccepted{Target: port(1)})
		}, TypePortAccepted},
		{"observe proxy", func(b []byte) []byte {
			return AppendObserveProxy(b, &ObserveProxy{ProxyNode: node(1), ProxyPort: port(2), ProxyTargetNode: node(3), ProxyTargetPort: port(4), Referrer: port(5)})
		}, TypeObserveProxy},
		{"observe proxy ack", func(b []byte) []byte {
			return AppendObserveProxyAck(b, &ObserveProxyAck{Target: port(1), Sender: port(2), LastSeq: 3})
		}, TypeObserveProxyAck},
	} {
		buf = tc.encode(buf[:0])
		if err := Decode(buf, &f); err != nil || f.Type != tc.want {
			t.Fatalf("%s: decoded %v, %v; want %v", tc.name, f.Type, err, tc.want)
		}
		if n := testing.AllocsPerRun(100, func() {
			buf = tc.encode(buf[:0])
			if err := Decode(buf, &f); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: encoding and decoding allocates %v times", tc.name, n)
		}
	}
}
