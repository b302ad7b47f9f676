package wire

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
)

func desc(b byte) PortDescriptor {
	return PortDescriptor{
		Name:        port(b),
		PeerNode:    node(b + 1),
		PeerPort:    port(b + 2),
		NextSendSeq: uint64(b) + 10,
		NextRecvSeq: uint64(b) + 20,
		PeerLastSeq: uint64(b) + 30,
		Proxy:       port(b + 3),
	}
}

// sampleFrames holds one or more valid frames of every type. The fuzz seed
// corpus and the channel tests use them too.
func sampleFrames() []Frame {
	closedPeer := desc(40)
	closedPeer.PeerClosed = true
	closedPeer.PeerNode, closedPeer.PeerPort = NodeName{}, PortName{}
	closedWithAddr := desc(50)
	closedWithAddr.PeerClosed = true
	lostPeer := desc(60)
	lostPeer.PeerClosed, lostPeer.PeerLost = true, true
	many := make([]PortDescriptor, MaxPorts)
	for i := range many {
		many[i] = desc(byte(i + 1))
	}
	longName := strings.Repeat("n", MaxAttachmentNameSize)
	return []Frame{
		{Type: TypeHello, Hello: Hello{Version: 1, Node: node(1)}},
		{Type: TypeHello, Hello: Hello{Version: 3, Node: node(2), Broker: true, Token: []byte("secret-token")}},
		{Type: TypeHello, Hello: Hello{Version: 2, Node: node(3), Token: bytes.Repeat([]byte{0xFF}, MaxTokenSize)}},
		{Type: TypeHello, Hello: Hello{Version: 1, Node: node(4), Token: []byte("123456")}}, // exactly 80 bytes, no padding
		{Type: TypeHello, Hello: Hello{Version: 2, Node: node(5), HasProof: true, Proof: NameProof{1, 2, 3, 31: 4}, Token: []byte("t")}},
		{Type: TypeHello, Hello: Hello{Version: 2, Node: node(6), HasProof: true}}, // a zero proof is a proof
		{Type: TypeAttach, Attach: []Attachment{}},
		{Type: TypeAttach, NumPorts: 1, Attach: []Attachment{{Name: "net", Port: desc(1)}}},
		{Type: TypeAttach, NumPorts: 3, Attach: []Attachment{
			{Name: "a", Port: desc(1)}, {Name: longName, Port: closedPeer}, {Name: "~!x", Port: closedWithAddr},
		}},
		{Type: TypeUser, User: User{Target: port(9), Sender: port(8)}},
		{Type: TypeUser, NumHandles: 2, User: User{
			Target: port(9), Sender: port(8), Seq: 1<<64 - 1, Interface: 0xDEADBEEF, Method: 7, Flags: 3,
			RequestID: 42, Payload: []byte("hello, world"), NumHandles: 2,
		}},
		{Type: TypeUser, NumPorts: 2, User: User{Target: port(9), Sender: port(8), Seq: 5, Payload: make([]byte, 8), Ports: []PortDescriptor{desc(1), closedPeer}}},
		{Type: TypeUser, NumPorts: 1, User: User{Target: port(9), Sender: port(8), Seq: 6, Ports: []PortDescriptor{lostPeer}}},
		{Type: TypeUser, NumPorts: MaxPorts, NumHandles: MaxHandles, User: User{Target: port(9), Sender: port(8), Payload: []byte{1}, Ports: many, NumHandles: MaxHandles}},
		{Type: TypeClosure, Closure: Closure{Target: port(7), Sender: port(8), LastSeq: 99}},
		{Type: TypeClosure, Closure: Closure{Target: port(7), Sender: port(8), Lost: true}},
		{Type: TypeRequestIntroduction, RequestIntroduction: RequestIntroduction{Node: node(5)}},
		{Type: TypeIntroduce, NumHandles: 1, Introduce: Introduce{Node: node(5)}},
		{Type: TypeIntroduce, Introduce: Introduce{Node: node(5), Unknown: true}},
		{Type: TypeObserveProxy, ObserveProxy: ObserveProxy{
			ProxyNode: node(2), ProxyPort: port(3), ProxyTargetNode: node(4), ProxyTargetPort: port(5), Referrer: port(6),
		}},
		{Type: TypeObserveProxyAck, ObserveProxyAck: ObserveProxyAck{Target: port(1), LastSeq: 12345, Sender: port(2)}},
		{Type: TypePeerMoved, PeerMoved: PeerMoved{Target: port(6), NewNode: node(7), NewPort: port(8), Sender: port(9)}},
		{Type: TypePortAccepted, PortAccepted: PortAccepted{Target: port(8)}},
		{Type: TypeCountersRequest, CountersRequest: CountersRequest{ID: 1}},
		{Type: TypeCounters, Counters: Counters{ID: 1<<64 - 1, Sent: 12, Received: 1 << 40}},
		{Type: TypeCounters, Counters: Counters{ID: FinalCountersID, Sent: 1}},
	}
}

// sameBody reports whether the fields of got and want that matter for
// want.Type are equal.
func sameBody(got, want *Frame) bool {
	if got.Type != want.Type || got.NumPorts != want.NumPorts || got.NumHandles != want.NumHandles {
		return false
	}
	switch want.Type {
	case TypeHello:
		g, w := got.Hello, want.Hello
		return g.Version == w.Version && g.Node == w.Node &&
			g.Broker == w.Broker && g.HasProof == w.HasProof && g.Proof == w.Proof && bytes.Equal(g.Token, w.Token)
	case TypeAttach:
		return len(got.Attach) == len(want.Attach) && (len(want.Attach) == 0 || reflect.DeepEqual(got.Attach, want.Attach))
	case TypeUser:
		g, w := got.User, want.User
		return g.Target == w.Target && g.Sender == w.Sender && g.Seq == w.Seq && g.Interface == w.Interface && g.Method == w.Method &&
			g.Flags == w.Flags && g.RequestID == w.RequestID && bytes.Equal(g.Payload, w.Payload) &&
			g.NumHandles == w.NumHandles && len(g.Ports) == len(w.Ports) &&
			(len(w.Ports) == 0 || reflect.DeepEqual(g.Ports, w.Ports))
	case TypeClosure:
		return got.Closure == want.Closure
	case TypeRequestIntroduction:
		return got.RequestIntroduction == want.RequestIntroduction
	case TypeIntroduce:
		return got.Introduce == want.Introduce
	case TypeObserveProxy:
		return got.ObserveProxy == want.ObserveProxy
	case TypeObserveProxyAck:
		return got.ObserveProxyAck == want.ObserveProxyAck
	case TypePeerMoved:
		return got.PeerMoved == want.PeerMoved
	case TypePortAccepted:
		return got.PortAccepted == want.PortAccepted
	case TypeCountersRequest:
		return got.CountersRequest == want.CountersRequest
	case TypeCounters:
		return got.Counters == want.Counters
	}
	return false
}

func TestRoundTrip(t *testing.T) {
	var f Frame // reused on purpose: stale fields must not leak into results
	for i, want := range sampleFrames() {
		b := AppendFrame(nil, &want)
		if len(b)%Alignment != 0 {
			t.Errorf("%d (%s): length %d not aligned", i, want.Type, len(b))
		}
		h, err := ParseHeader(b)
		if err != nil {
			t.Fatalf("%d (%s): ParseHeader: %v", i, want.Type, err)
		}
		if h.Type != want.Type || h.Length != len(b) || h.NumPorts != want.NumPorts || h.NumHandles != want.NumHandles {
			t.Errorf("%d (%s): header %+v, want type %s length %d ports %d handles %d",
				i, want.Type, h, want.Type, len(b), want.NumPorts, want.NumHandles)
		}
		if err := Decode(b, &f); err != nil {
			t.Fatalf("%d (%s): Decode: %v", i, want.Type, err)
		}
		if !sameBody(&f, &want) {
			t.Errorf("%d (%s): decoded %+v, want %+v", i, want.Type, f, want)
		}
		if again := AppendFrame(nil, &f); !bytes.Equal(again, b) {
			t.Errorf("%d (%s): re-encoding differs:\n got %x\nwant %x", i, want.Type, again, b)
		}
	}
}

// TestAppendToDirtyBuffer checks that encoders write every byte, padding
// included, when the buffer they grow into holds stale data.
func TestAppendToDirtyBuffer(t *testing.T) {
	for _, f := range sampleFrames() {
		clean := AppendFrame(nil, &f)
		dirty := bytes.Repeat([]byte{0xA5}, len(clean)+32)
		out := AppendFrame(dirty[:3], &f)
		if !bytes.Equal(out[3:], clean) {
			t.Errorf("%s: encoding into a dirty buffer differs:\n got %x\nwant %x", f.Type, out[3:], clean)
		}
	}
}

func TestAppendSeveral(t *testing.T) {
	frames := sampleFrames()
	var b []byte
	for i := range frames {
		b = AppendFrame(b, &frames[i])
	}
	var f Frame
	for i := range frames {
		h, err := ParseHeader(b)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if err := Decode(b[:h.Length], &f); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !sameBody(&f, &frames[i]) {
			t.Errorf("frame %d differs", i)
		}
		b = b[h.Length:]
	}
	if len(b) != 0 {
		t.Errorf("%d bytes left over", len(b))
	}
}

// TestGolden pins whole encodings byte for byte, as docs/protocol.md shows
// them.
func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"closure", AppendClosure(nil, &Closure{Target: port(0x11), LastSeq: 0x0102, Lost: true, Sender: port(0x12)}),
			"474d0304" + "40000000" + "0000" + "0000" + "00000000" +
				"11000000000000000000000000000000" +
				"0201000000000000" + "01000000" + "00000000" +
				"12000000000000000000000000000000"},
		{"user", AppendUser(nil, &User{Target: port(0x22), Seq: 3, Interface: 0xAABBCCDD, Method: 5, Flags: 6,
			RequestID: 7, Sender: port(0x23), Payload: []byte("hi"), NumHandles: 1}),
			"474d0303" + "58000000" + "0000" + "0100" + "00000000" +
				"22000000000000000000000000000000" +
				"0300000000000000" + "ddccbbaa" + "05000000" + "06000000" + "02000000" + "0700000000000000" +
				"23000000000000000000000000000000" +
				"6869000000000000"},
		{"hello", AppendHello(nil, &Hello{Version: 3, Node: node(0x33), Broker: true, Token: []byte("t")}),
			"474d0301" + "50000000" + "0000" + "0000" + "00000000" +
				"0300" + "0000" + "01000000" +
				"33000000000000000000000000000000" +
				"0000000000000000000000000000000000000000000000000000000000000000" +
				"0100" + "74" + "0000000000"},
		{"hello with proof", AppendHello(nil, &Hello{Version: 3, Node: node(0x44), HasProof: true, Proof: NameProof{0xaa, 31: 0xbb}}),
			"474d0301" + "50000000" + "0000" + "0000" + "00000000" +
				"0300" + "0000" + "02000000" +
				"44000000000000000000000000000000" +
				"aa000000000000000000000000000000000000000000000000000000000000bb" +
				"0000" + "000000000000"},
		{"attach", AppendAttach(nil, []Attachment{{Name: "ab", Port: PortDescriptor{Name: port(1), PeerNode: node(2), PeerPort: port(3),
			NextSendSeq: 4, NextRecvSeq: 5, PeerLastSeq: 6, PeerClosed: true, Proxy: port(7)}}}),
			"474d0302" + "78000000" + "0100" + "0000" + "00000000" +
				"0100" + "02" + "6162" + "000000" +
				"01000000000000000000000000000000" + "02000000000000000000000000000000" + "03000000000000000000000000000000" +
				"0400000000000000" + "0500000000000000" + "0600000000000000" + "01000000" + "00000000" +
				"07000000000000000000000000000000"},
		{"peer-moved", AppendPeerMoved(nil, &PeerMoved{Target: port(0x44), NewNode: node(0x55), NewPort: port(0x56), Sender: port(0x66)}),
			"474d0309" + "58000000" + "0000" + "0000" + "00000000" +
				"44000000000000000000000000000000" +
				"55000000000000000000000000000000" +
				"00000000" + "00000000" +
				"66000000000000000000000000000000" +
				"56000000000000000000000000000000"},
		{"observe-proxy", AppendObserveProxy(nil, &ObserveProxy{ProxyNode: node(0x12), ProxyPort: port(0x34), ProxyTargetNode: node(0x56), ProxyTargetPort: port(0x78), Referrer: port(0x9b)}),
			"474d0307" + "60000000" + "0000" + "0000" + "00000000" +
				"12000000000000000000000000000000" +
				"34000000000000000000000000000000" +
				"56000000000000000000000000000000" +
				"78000000000000000000000000000000" +
				"9b000000000000000000000000000000"},
		{"observe-proxy-ack", AppendObserveProxyAck(nil, &ObserveProxyAck{Target: port(0x9a), LastSeq: 0x0304, Sender: port(0xbc)}),
			"474d0308" + "38000000" + "0000" + "0000" + "00000000" +
				"9a000000000000000000000000000000" +
				"0403000000000000" +
				"bc000000000000000000000000000000"},
		{"port-accepted", AppendPortAccepted(nil, &PortAccepted{Target: port(0x66)}),
			"474d030a" + "28000000" + "0000" + "0000" + "00000000" +
				"66000000000000000000000000000000" +
				"0000000000000000"},
		{"counters-request", AppendCountersRequest(nil, &CountersRequest{ID: 0x0102}),
			"474d030b" + "18000000" + "0000" + "0000" + "00000000" +
				"0201000000000000"},
		{"counters", AppendCounters(nil, &Counters{ID: 7, Sent: 0x0a0b, Received: 0x0c}),
			"474d030c" + "28000000" + "0000" + "0000" + "00000000" +
				"0700000000000000" + "0b0a000000000000" + "0c00000000000000"},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(tt.b); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

// TestAppendUserWithoutPayload checks that the frame with its payload left
// out, and the payload put back at UserPayloadOffset, is AppendUser's frame
// byte for byte, for payloads that need padding and those that do not.
func TestAppendUserWithoutPayload(t *testing.T) {
	for _, size := range []int{0, 1, 7, 8, 13, 4096} {
		for _, ports := range [][]PortDescriptor{nil, {desc(1), desc(9)}} {
			payload := bytes.Repeat([]byte{0xa5}, size)
			u := User{Target: port(3), Sender: port(4), Seq: 4, Interface: 5, Method: 6, Flags: 7, RequestID: 8, Payload: payload, Ports: ports, NumHandles: 2}
			want := AppendUser([]byte("junk"), &u)[4:]
			split := AppendUserWithoutPayload(bytes.Repeat([]byte{0xff}, 3), &u)[3:]
			if len(split) != len(want)-size {
				t.Fatalf("%d bytes, %d ports: %d bytes without the payload, want %d", size, len(ports), len(split), len(want)-size)
			}
			got := append(append(append([]byte(nil), split[:UserPayloadOffset]...), payload...), split[UserPayloadOffset:]...)
			if !bytes.Equal(got, want) {
				t.Fatalf("%d bytes, %d ports: reassembled frame\n%x\nwant\n%x", size, len(ports), got, want)
			}
		}
	}
}
