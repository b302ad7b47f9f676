package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// edit returns a copy of b changed by fn.
func edit(b []byte, fn func(b []byte) []byte) []byte {
	return fn(bytes.Clone(b))
}

func put16(off int, v uint16) func([]byte) []byte {
	return func(b []byte) []byte { binary.LittleEndian.PutUint16(b[off:], v); return b }
}

func put32(off int, v uint32) func([]byte) []byte {
	return func(b []byte) []byte { binary.LittleEndian.PutUint32(b[off:], v); return b }
}

func put8(off int, v byte) func([]byte) []byte {
	return func(b []byte) []byte { b[off] = v; return b }
}

func zero16(off int) func([]byte) []byte {
	return func(b []byte) []byte { clear(b[off : off+NameSize]); return b }
}

// resize changes the frame's length to n, cutting or zero-extending it, and
// fixes the header's length field to match.
func resize(n int) func([]byte) []byte {
	return func(b []byte) []byte {
		if n <= len(b) {
			b = b[:n]
		} else {
			b = append(b, make([]byte, n-len(b))...)
		}
		binary.LittleEndian.PutUint32(b[offLength:], uint32(n))
		return b
	}
}

func chain(fns ...func([]byte) []byte) func([]byte) []byte {
	return func(b []byte) []byte {
		for _, fn := range fns {
			b = fn(b)
		}
		return b
	}
}

func TestMalformed(t *testing.T) {
	hello := AppendHello(nil, &Hello{Version: 1, Node: node(1), Token: []byte("tok")})
	hello64 := AppendHello(nil, &Hello{Version: 1, Node: node(1), Token: bytes.Repeat([]byte{'t'}, MaxTokenSize)})
	attach := AppendAttach(nil, []Attachment{{Name: "ab", Port: desc(1)}, {Name: "cd", Port: desc(2)}})
	const attachDesc0 = 24 // names "ab","cd" end at 24: 18 + 3 + 3
	user := AppendUser(nil, &User{Target: port(1), Sender: port(2), Seq: 1, Payload: make([]byte, 8), Ports: []PortDescriptor{desc(3)}})
	userPad := AppendUser(nil, &User{Target: port(1), Sender: port(2), Payload: []byte{1, 2, 3}})
	userEmpty := AppendUser(nil, &User{Target: port(1), Sender: port(2)})
	closure := AppendClosure(nil, &Closure{Target: port(1), Sender: port(2), LastSeq: 4})
	reqIntro := AppendRequestIntroduction(nil, &RequestIntroduction{Node: node(2)})
	intro := AppendIntroduce(nil, &Introduce{Node: node(2)})
	introUnknown := AppendIntroduce(nil, &Introduce{Node: node(2), Unknown: true})
	observe := AppendObserveProxy(nil, &ObserveProxy{ProxyNode: node(2), ProxyPort: port(3), ProxyTargetNode: node(4), ProxyTargetPort: port(5), Referrer: port(6)})
	ack := AppendObserveProxyAck(nil, &ObserveProxyAck{Target: port(1), Sender: port(2), LastSeq: 9})
	moved := AppendPeerMoved(nil, &PeerMoved{Target: port(1), NewNode: node(2), NewPort: port(3), Sender: port(4)})
	accepted := AppendPortAccepted(nil, &PortAccepted{Target: port(1)})
	countersReq := AppendCountersRequest(nil, &CountersRequest{ID: 1})
	counters := AppendCounters(nil, &Counters{ID: 1, Sent: 2, Received: 3})

	const userDesc = offUserPayload + 8
	tests := []struct {
		name   string
		b      []byte
		want   error
		offset int // -1: do not check
	}{
		// Header.
		{"empty", nil, ErrTruncated, 0},
		{"short header", closure[:HeaderSize-1], ErrTruncated, 0},
		{"bad magic", edit(closure, put16(offMagic, 0x4D48)), ErrBadMagic, offMagic},
		{"byte-swapped magic", edit(closure, put16(offMagic, 0x474D)), ErrBadMagic, offMagic},
		{"version 0", edit(closure, put8(offVersion, 0)), ErrUnsupportedVersion, -1},
		{"version 1", edit(closure, put8(offVersion, 1)), ErrUnsupportedVersion, -1},
		{"version 2", edit(closure, put8(offVersion, 2)), ErrUnsupportedVersion, -1},
		{"version 4", edit(closure, put8(offVersion, 4)), ErrUnsupportedVersion, -1},
		{"type 0", edit(closure, put8(offType, 0)), ErrUnknownType, offType},
		{"type 13", edit(closure, put8(offType, 13)), ErrUnknownType, offType},
		{"type 255", edit(closure, put8(offType, 255)), ErrUnknownType, offType},
		{"reserved header", edit(closure, put32(offReserved, 1)), ErrReserved, offReserved},
		{"reserved header high bit", edit(closure, put32(offReserved, 1<<31)), ErrReserved, offReserved},
		{"length over max", edit(userEmpty, put32(offLength, MaxFrameSize+8)), ErrTooLarge, offLength},
		{"length 4GiB", edit(userEmpty, put32(offLength, 0xFFFFFFF8)), ErrTooLarge, offLength},
		{"length unaligned", edit(userEmpty, put32(offLength, 84)), ErrBadLength, offLength},
		{"length zero", edit(userEmpty, put32(offLength, 0)), ErrBadLength, offLength},
		{"user below minimum", edit(userEmpty, resize(72)), ErrBadLength, offLength},
		{"closure too long", edit(closure, resize(72)), ErrBadLength, offLength},
		{"closure too short", edit(closure, resize(56)), ErrBadLength, offLength},
		{"hello too long", edit(hello64, resize(152)), ErrBadLength, offLength},
		{"too many ports", edit(userEmpty, put16(offNumPorts, MaxPorts+1)), ErrTooManyPorts, offNumPorts},
		{"too many handles", edit(userEmpty, put16(offNumHandles, MaxHandles+1)), ErrTooManyHandles, offNumHandles},
		{"max u16 handles", edit(userEmpty, put16(offNumHandles, 0xFFFF)), ErrTooManyHandles, offNumHandles},
		{"hello with port", edit(hello, put16(offNumPorts, 1)), ErrBadCount, offNumPorts},
		{"hello with handle", edit(hello, put16(offNumHandles, 1)), ErrBadCount, offNumHandles},
		{"attach with handle", edit(attach, put16(offNumHandles, 1)), ErrBadCount, offNumHandles},
		{"closure with handle", edit(closure, put16(offNumHandles, 1)), ErrBadCount, offNumHandles},
		{"observe-proxy with port", edit(observe, put16(offNumPorts, 1)), ErrBadCount, offNumPorts},
		{"introduce with 2 handles", edit(intro, put16(offNumHandles, 2)), ErrBadCount, offNumHandles},
		{"frame cut short", closure[:56], ErrTruncated, offLength},
		{"trailing bytes", append(bytes.Clone(closure), 0, 0, 0, 0, 0, 0, 0, 0), ErrBadLength, offLength},

		// Hello.
		{"hello version 0", edit(hello, put16(offHelloVersion, 0)), ErrBadValue, offHelloVersion},
		{"hello reserved", edit(hello, put16(offHelloReserved, 1)), ErrReserved, offHelloReserved},
		{"hello undefined flag", edit(hello, put32(offHelloFlags, 4)), ErrReserved, offHelloFlags},
		{"hello proof without its flag", edit(hello, put8(offHelloProof+5, 1)), ErrReserved, offHelloProof + 5},
		{"hello zero node", edit(hello, zero16(offHelloNode)), ErrBadName, offHelloNode},
		{"hello token too long", edit(hello64, put16(offHelloTokenLen, MaxTokenSize+1)), ErrBadValue, offHelloTokenLen},
		{"hello token longer than frame", edit(hello, put16(offHelloTokenLen, 7)), ErrBadLength, offLength},
		{"hello token shorter than frame", edit(hello64, put16(offHelloTokenLen, 10)), ErrBadLength, offLength},
		{"hello padding", edit(hello, put8(offHelloToken+3, 1)), ErrReserved, offHelloToken + 3},
		{"hello padding last byte", edit(hello, put8(79, 0x80)), ErrReserved, 79},

		// Attach.
		{"attach count mismatch", edit(attach, put16(offAttachCount, 1)), ErrBadCount, offAttachCount},
		{"attach count and ports both 3", edit(attach, chain(put16(offAttachCount, 3), put16(offNumPorts, 3))), ErrBadLength, -1},
		{"attach too short for descriptors", edit(attach, resize(attachDesc0+DescriptorSize)), ErrBadLength, offLength},
		{"attach empty name", edit(attach, put8(offAttachNames, 0)), ErrBadName, offAttachNames},
		{"attach name length 65", edit(attach, put8(offAttachNames, 65)), ErrBadName, offAttachNames},
		{"attach name past section", edit(attach, put8(offAttachNames+3, 4)), ErrBadLength, offAttachNames + 3},
		{"attach name with space", edit(attach, put8(offAttachNames+1, ' ')), ErrBadName, offAttachNames + 1},
		{"attach name with NUL", edit(attach, put8(offAttachNames+2, 0)), ErrBadName, offAttachNames + 2},
		{"attach name with DEL", edit(attach, put8(offAttachNames+2, 0x7F)), ErrBadName, offAttachNames + 2},
		{"attach name with high byte", edit(attach, put8(offAttachNames+4, 0xC3)), ErrBadName, offAttachNames + 4},
		{"attach duplicate name", edit(attach, chain(put8(offAttachNames+4, 'a'), put8(offAttachNames+5, 'b'))), ErrBadName, offAttachNames + 4},
		{"attach names shorter than section", edit(AppendAttach(nil, []Attachment{{Name: "a", Port: desc(1)}}),
			func(b []byte) []byte {
				// Insert 8 zero bytes before the descriptors.
				b = append(b[:24:24], append(make([]byte, 8), b[24:]...)...)
				binary.LittleEndian.PutUint32(b[offLength:], uint32(len(b)))
				return b
			}), ErrBadLength, offLength},
		{"attach padding", AppendAttach(nil, []Attachment{{Name: "a", Port: desc(1)}})[:0], nil, -1}, // placeholder replaced below
		{"attach descriptor zero name", edit(attach, zero16(attachDesc0+DescriptorSize+offDescName)), ErrBadName, attachDesc0 + DescriptorSize},
		{"attach descriptor flag", edit(attach, put32(attachDesc0+offDescFlags, 4)), ErrReserved, attachDesc0 + offDescFlags},
		{"attach descriptor lost but open", edit(attach, put32(attachDesc0+offDescFlags, 2)), ErrBadValue, attachDesc0 + offDescFlags},
		{"attach descriptor reserved", edit(attach, put32(attachDesc0+offDescReserved, 1)), ErrReserved, attachDesc0 + offDescReserved},
		{"attach descriptor half peer", edit(attach, zero16(attachDesc0+offDescPeerPort)), ErrBadName, attachDesc0 + offDescPeerNode},
		{"attach descriptor open peer zero", edit(attach, chain(zero16(attachDesc0+offDescPeerPort), zero16(attachDesc0+offDescPeerNode))), ErrBadName, attachDesc0 + offDescPeerNode},

		// User.
		{"user zero target", edit(user, zero16(offUserTarget)), ErrBadName, offUserTarget},
		{"user zero sender", edit(user, zero16(offUserSender)), ErrBadName, offUserSender},
		{"user descriptor zero proxy", edit(user, zero16(userDesc+offDescProxy)), ErrBadName, userDesc + offDescProxy},
		{"user payload exceeds frame", edit(user, put32(offUserPayloadLen, 90)), ErrBadLength, offUserPayloadLen},
		{"user payload max u32", edit(user, put32(offUserPayloadLen, 0xFFFFFFFF)), ErrBadLength, offUserPayloadLen},
		{"user payload shorter than area", edit(user, put32(offUserPayloadLen, 0)), ErrBadLength, offUserPayloadLen},
		{"user payload padding", edit(userPad, put8(offUserPayload+5, 1)), ErrReserved, offUserPayload + 5},
		{"user ports past frame", edit(userEmpty, put16(offNumPorts, 1)), ErrBadLength, offLength},
		{"user port count low", edit(user, put16(offNumPorts, 0)), ErrBadLength, offUserPayloadLen},
		{"user descriptor zero name", edit(user, zero16(userDesc)), ErrBadName, userDesc},
		{"user descriptor flag", edit(user, put32(userDesc+offDescFlags, 1<<31)), ErrReserved, userDesc + offDescFlags},
		{"user descriptor reserved", edit(user, put32(userDesc+offDescReserved, 7)), ErrReserved, userDesc + offDescReserved},

		// Closure.
		{"closure zero target", edit(closure, zero16(offClosureTarget)), ErrBadName, offClosureTarget},
		{"closure undefined flag", edit(closure, put32(offClosureFlags, 4)), ErrReserved, offClosureFlags},
		{"closure reserved", edit(closure, put8(offClosureReserved+3, 1)), ErrReserved, offClosureReserved + 3},
		{"closure zero sender", edit(closure, zero16(offClosureSender)), ErrBadName, offClosureSender},

		// RequestIntroduction.
		{"request-introduction zero node", edit(reqIntro, zero16(offRequestIntroductionNode)), ErrBadName, offRequestIntroductionNode},

		// Introduce.
		{"introduce zero node", edit(intro, zero16(offIntroduceNode)), ErrBadName, offIntroduceNode},
		{"introduce missing handle", edit(intro, put16(offNumHandles, 0)), ErrBadCount, offNumHandles},
		{"introduce unknown with handle", edit(introUnknown, put16(offNumHandles, 1)), ErrBadCount, offNumHandles},
		{"introduce undefined flag", edit(intro, put32(offIntroduceFlags, 2)), ErrReserved, offIntroduceFlags},
		{"introduce reserved", edit(intro, put32(offIntroduceReserved, 1)), ErrReserved, offIntroduceReserved},

		// ObserveProxy.
		{"observe-proxy zero proxy node", edit(observe, zero16(offObserveProxyProxyNode)), ErrBadName, offObserveProxyProxyNode},
		{"observe-proxy zero proxy port", edit(observe, zero16(offObserveProxyProxyPort)), ErrBadName, offObserveProxyProxyPort},
		{"observe-proxy zero proxy target node", edit(observe, zero16(offObserveProxyProxyTargetNode)), ErrBadName, offObserveProxyProxyTargetNode},
		{"observe-proxy zero proxy target port", edit(observe, zero16(offObserveProxyProxyTargetPort)), ErrBadName, offObserveProxyProxyTargetPort},
		{"observe-proxy zero referrer", edit(observe, zero16(offObserveProxyReferrer)), ErrBadName, offObserveProxyReferrer},

		// ObserveProxyAck.
		{"observe-proxy-ack zero target", edit(ack, zero16(offObserveProxyAckTarget)), ErrBadName, offObserveProxyAckTarget},
		{"observe-proxy-ack zero sender", edit(ack, zero16(offObserveProxyAckSender)), ErrBadName, offObserveProxyAckSender},

		// PeerMoved.
		{"peer-moved zero target", edit(moved, zero16(offPeerMovedTarget)), ErrBadName, offPeerMovedTarget},
		{"peer-moved zero new node", edit(moved, zero16(offPeerMovedNewNode)), ErrBadName, offPeerMovedNewNode},
		{"peer-moved zero sender", edit(moved, zero16(offPeerMovedSender)), ErrBadName, offPeerMovedSender},
		{"peer-moved zero new port", edit(moved, zero16(offPeerMovedNewPort)), ErrBadName, offPeerMovedNewPort},
		{"peer-moved too short", edit(moved, resize(peerMovedSize-8)), ErrBadLength, offLength},
		{"peer-moved too long", edit(moved, resize(peerMovedSize+8)), ErrBadLength, offLength},
		{"peer-moved undefined flag", edit(moved, put32(offPeerMovedFlags, 1)), ErrReserved, offPeerMovedFlags},
		{"peer-moved reserved", edit(moved, put8(offPeerMovedReserved+1, 1)), ErrReserved, offPeerMovedReserved + 1},
		{"peer-moved with port", edit(moved, put16(offNumPorts, 1)), ErrBadCount, offNumPorts},
		{"peer-moved with handle", edit(moved, put16(offNumHandles, 1)), ErrBadCount, offNumHandles},

		// PortAccepted.
		{"port-accepted zero target", edit(accepted, zero16(offPortAcceptedTarget)), ErrBadName, offPortAcceptedTarget},
		{"port-accepted reserved", edit(accepted, put8(offPortAcceptedReserved, 1)), ErrReserved, offPortAcceptedReserved},
		{"port-accepted reserved last byte", edit(accepted, put8(portAcceptedSize-1, 0x80)), ErrReserved, portAcceptedSize - 1},
		{"port-accepted too short", edit(accepted, resize(portAcceptedSize-8)), ErrBadLength, offLength},
		{"port-accepted too long", edit(accepted, resize(portAcceptedSize+8)), ErrBadLength, offLength},
		// CountersRequest and Counters.
		{"counters-request zero id", edit(countersReq, put8(offCountersRequestID, 0)), ErrBadValue, offCountersRequestID},
		{"counters-request too long", edit(countersReq, resize(countersRequestSize+8)), ErrBadLength, offLength},
		{"counters too short", edit(counters, resize(countersSize-8)), ErrBadLength, offLength},
		{"port-accepted with port", edit(accepted, put16(offNumPorts, 1)), ErrBadCount, offNumPorts},
		{"port-accepted with handle", edit(accepted, put16(offNumHandles, 1)), ErrBadCount, offNumHandles},
	}
	// Attach padding: one name "a" ends at 20, padded to 24.
	for i := range tests {
		if tests[i].name == "attach padding" {
			tests[i].b = edit(AppendAttach(nil, []Attachment{{Name: "a", Port: desc(1)}}), put8(21, 1))
			tests[i].want, tests[i].offset = ErrReserved, 21
		}
	}

	sentinels := []error{ErrTruncated, ErrBadMagic, ErrUnsupportedVersion, ErrUnknownType, ErrTooLarge,
		ErrBadLength, ErrTooManyPorts, ErrTooManyHandles, ErrBadCount, ErrReserved, ErrBadName, ErrBadValue}
	var f Frame
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Decode(tt.b, &f)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode error = %v, want %v", err, tt.want)
			}
			for _, s := range sentinels {
				if s != tt.want && errors.Is(err, s) {
					t.Errorf("error %v also matches %v", err, s)
				}
			}
			if !strings.HasPrefix(err.Error(), "wire: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if tt.want == ErrUnsupportedVersion {
				var ve *VersionError
				if !errors.As(err, &ve) || ve.Local != Version || ve.Peer != uint16(tt.b[offVersion]) {
					t.Errorf("error %v is not a *VersionError naming both versions", err)
				}
				return
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			if tt.offset >= 0 && de.Offset != tt.offset {
				t.Errorf("offset = %d, want %d (%v)", de.Offset, tt.offset, err)
			}
			// Whatever the header check refuses, ParseHeader refuses too.
			if _, herr := ParseHeader(tt.b); herr != nil && !errors.Is(herr, tt.want) {
				t.Errorf("ParseHeader error %v disagrees with Decode's %v", herr, err)
			}
		})
	}
}

func TestDecodeErrorMessage(t *testing.T) {
	user := AppendUser(nil, &User{Target: port(1), Sender: port(2), Payload: make([]byte, 8)})
	var f Frame
	err := Decode(edit(user, put32(offUserPayloadLen, 90)), &f)
	want := "wire: bad user frame: payload length 90 exceeds frame (8 bytes left) (payload length at offset 52)"
	if err == nil || err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	err = Decode(edit(user, put8(offVersion, 2)), &f)
	want = "wire: unsupported version: peer speaks 2, this side speaks 3"
	if err == nil || err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	err = Decode(edit(user, put16(offMagic, 0)), &f)
	want = "wire: bad frame: magic 0x0000, want 0x4D47 (magic at offset 0)"
	if err == nil || err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

// TestInvalidValues checks that Validate refuses what cannot be encoded and
// that the Append functions panic on it rather than write a frame the peer
// would refuse.
func TestInvalidValues(t *testing.T) {
	many := make([]PortDescriptor, MaxPorts+1)
	for i := range many {
		many[i] = desc(1)
	}
	badDesc := desc(1)
	badDesc.Name = PortName{}
	openNoPeer := desc(1)
	openNoPeer.PeerNode, openNoPeer.PeerPort = NodeName{}, PortName{}
	halfPeer := desc(1)
	halfPeer.PeerPort = PortName{}
	manyAttach := make([]Attachment, MaxPorts+1)
	for i := range manyAttach {
		manyAttach[i] = Attachment{Name: "n" + itoa(i), Port: desc(1)}
	}
	tests := []struct {
		name     string
		validate func() error
		append   func()
		want     error
	}{
		{"hello zero version", (&Hello{Node: node(1)}).Validate,
			func() { AppendHello(nil, &Hello{Node: node(1)}) }, ErrBadValue},
		{"hello zero node", (&Hello{Version: 1}).Validate,
			func() { AppendHello(nil, &Hello{Version: 1}) }, ErrBadName},
		{"hello proof without its flag", (&Hello{Version: 1, Node: node(1), Proof: NameProof{1}}).Validate,
			func() { AppendHello(nil, &Hello{Version: 1, Node: node(1), Proof: NameProof{1}}) }, ErrReserved},
		{"hello long token", (&Hello{Version: 1, Node: node(1), Token: make([]byte, 65)}).Validate,
			func() { AppendHello(nil, &Hello{Version: 1, Node: node(1), Token: make([]byte, 65)}) }, ErrBadValue},
		{"attach too many", func() error { return ValidateAttach(manyAttach) },
			func() { AppendAttach(nil, manyAttach) }, ErrTooManyPorts},
		{"attach empty name", func() error { return ValidateAttach([]Attachment{{Port: desc(1)}}) },
			func() { AppendAttach(nil, []Attachment{{Port: desc(1)}}) }, ErrBadName},
		{"attach long name", func() error { return ValidateAttach([]Attachment{{Name: strings.Repeat("x", 65), Port: desc(1)}}) },
			func() { AppendAttach(nil, []Attachment{{Name: strings.Repeat("x", 65), Port: desc(1)}}) }, ErrBadName},
		{"attach space in name", func() error { return ValidateAttach([]Attachment{{Name: "a b", Port: desc(1)}}) },
			func() { AppendAttach(nil, []Attachment{{Name: "a b", Port: desc(1)}}) }, ErrBadName},
		{"attach duplicate", func() error {
			return ValidateAttach([]Attachment{{Name: "a", Port: desc(1)}, {Name: "a", Port: desc(2)}})
		},
			func() { AppendAttach(nil, []Attachment{{Name: "a", Port: desc(1)}, {Name: "a", Port: desc(2)}}) }, ErrBadName},
		{"attach bad descriptor", func() error { return ValidateAttach([]Attachment{{Name: "a", Port: badDesc}}) },
			func() { AppendAttach(nil, []Attachment{{Name: "a", Port: badDesc}}) }, ErrBadName},
		{"user zero target", (&User{}).Validate, func() { AppendUser(nil, &User{}) }, ErrBadName},
		{"user too many ports", (&User{Target: port(1), Sender: port(2), Ports: many}).Validate,
			func() { AppendUser(nil, &User{Target: port(1), Sender: port(2), Ports: many}) }, ErrTooManyPorts},
		{"user too many handles", (&User{Target: port(1), Sender: port(2), NumHandles: MaxHandles + 1}).Validate,
			func() { AppendUser(nil, &User{Target: port(1), Sender: port(2), NumHandles: MaxHandles + 1}) }, ErrTooManyHandles},
		{"user negative handles", (&User{Target: port(1), Sender: port(2), NumHandles: -1}).Validate,
			func() { AppendUser(nil, &User{Target: port(1), Sender: port(2), NumHandles: -1}) }, ErrTooManyHandles},
		{"user payload too large", (&User{Target: port(1), Sender: port(2), Payload: make([]byte, MaxFrameSize-userFixedSize+1)}).Validate,
			func() {
				AppendUser(nil, &User{Target: port(1), Sender: port(2), Payload: make([]byte, MaxFrameSize-userFixedSize+1)})
			}, ErrTooLarge},
		{"user open port without peer", (&User{Target: port(1), Sender: port(2), Ports: []PortDescriptor{openNoPeer}}).Validate,
			func() { AppendUser(nil, &User{Target: port(1), Sender: port(2), Ports: []PortDescriptor{openNoPeer}}) }, ErrBadName},
		{"user half peer", (&User{Target: port(1), Sender: port(2), Ports: []PortDescriptor{halfPeer}}).Validate,
			func() { AppendUser(nil, &User{Target: port(1), Sender: port(2), Ports: []PortDescriptor{halfPeer}}) }, ErrBadName},
		{"closure zero target", (&Closure{}).Validate, func() { AppendClosure(nil, &Closure{}) }, ErrBadName},
		{"request-introduction zero node", (&RequestIntroduction{}).Validate,
			func() { AppendRequestIntroduction(nil, &RequestIntroduction{}) }, ErrBadName},
		{"introduce zero node", (&Introduce{}).Validate, func() { AppendIntroduce(nil, &Introduce{}) }, ErrBadName},
		{"observe-proxy zero proxy", (&ObserveProxy{ProxyTargetNode: node(1), ProxyTargetPort: port(1)}).Validate,
			func() { AppendObserveProxy(nil, &ObserveProxy{}) }, ErrBadName},
		{"observe-proxy zero proxy target", (&ObserveProxy{ProxyNode: node(1), ProxyPort: port(1)}).Validate,
			func() { AppendObserveProxy(nil, &ObserveProxy{ProxyNode: node(1), ProxyPort: port(1)}) }, ErrBadName},
		{"observe-proxy zero referrer", (&ObserveProxy{ProxyNode: node(1), ProxyPort: port(1), ProxyTargetNode: node(2), ProxyTargetPort: port(2)}).Validate,
			func() {
				AppendObserveProxy(nil, &ObserveProxy{ProxyNode: node(1), ProxyPort: port(1), ProxyTargetNode: node(2), ProxyTargetPort: port(2)})
			}, ErrBadName},
		{"observe-proxy-ack zero target", (&ObserveProxyAck{}).Validate,
			func() { AppendObserveProxyAck(nil, &ObserveProxyAck{}) }, ErrBadName},
		{"peer-moved zero target", (&PeerMoved{NewNode: node(1)}).Validate,
			func() { AppendPeerMoved(nil, &PeerMoved{NewNode: node(1)}) }, ErrBadName},
		{"peer-moved zero new node", (&PeerMoved{Target: port(1)}).Validate,
			func() { AppendPeerMoved(nil, &PeerMoved{Target: port(1)}) }, ErrBadName},
		{"user zero sender", (&User{Target: port(1)}).Validate, func() { AppendUser(nil, &User{Target: port(1)}) }, ErrBadName},
		{"closure zero sender", (&Closure{Target: port(1)}).Validate, func() { AppendClosure(nil, &Closure{Target: port(1)}) }, ErrBadName},
		{"observe-proxy-ack zero sender", (&ObserveProxyAck{Target: port(1)}).Validate,
			func() { AppendObserveProxyAck(nil, &ObserveProxyAck{Target: port(1)}) }, ErrBadName},
		{"peer-moved zero sender", (&PeerMoved{Target: port(1), NewNode: node(1), NewPort: port(2)}).Validate,
			func() { AppendPeerMoved(nil, &PeerMoved{Target: port(1), NewNode: node(1), NewPort: port(2)}) }, ErrBadName},
		{"peer-moved zero new port", (&PeerMoved{Target: port(1), NewNode: node(1), Sender: port(2)}).Validate,
			func() { AppendPeerMoved(nil, &PeerMoved{Target: port(1), NewNode: node(1), Sender: port(2)}) }, ErrBadName},
		{"port-accepted zero target", (&PortAccepted{}).Validate,
			func() { AppendPortAccepted(nil, &PortAccepted{}) }, ErrBadName},
		{"counters-request zero id", (&CountersRequest{}).Validate,
			func() { AppendCountersRequest(nil, &CountersRequest{}) }, ErrBadValue},
		{"append frame unknown type", func() error { return ErrUnknownType },
			func() { AppendFrame(nil, &Frame{Type: typeLimit}) }, ErrUnknownType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.validate(); !errors.Is(err, tt.want) {
				t.Errorf("Validate = %v, want %v", err, tt.want)
			} else if !strings.HasPrefix(err.Error(), "wire: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			defer func() {
				if recover() == nil {
					t.Error("Append did not panic")
				}
			}()
			tt.append()
		})
	}
}

func TestLargestUserFrame(t *testing.T) {
	u := &User{Target: port(1), Sender: port(2), Payload: make([]byte, MaxFrameSize-userFixedSize)}
	b := AppendUser(nil, u)
	if len(b) != MaxFrameSize {
		t.Fatalf("length %d, want %d", len(b), MaxFrameSize)
	}
	var f Frame
	if err := Decode(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.User.Payload) != len(u.Payload) {
		t.Errorf("payload %d bytes, want %d", len(f.User.Payload), len(u.Payload))
	}
}
