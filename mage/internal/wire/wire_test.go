package wire

import "testing"

// TestConstants pins every number of the wire format. A failure here means
// the protocol changed: update docs/protocol.md and bump Version.
func TestConstants(t *testing.T) {
	pins := []struct {
		name string
		got  int
		want int
	}{
		{"Magic", int(Magic), 0x4D47},
		{"Version", int(Version), 3},
		{"NameProofSize", NameProofSize, 32},
		{"HeaderSize", HeaderSize, 16},
		{"Alignment", Alignment, 8},
		{"MaxFrameSize", MaxFrameSize, 64 << 20},
		{"MaxPorts", MaxPorts, 64},
		{"MaxHandles", MaxHandles, 64},
		{"NameSize", NameSize, 16},
		{"DescriptorSize", DescriptorSize, 96},
		{"MaxTokenSize", MaxTokenSize, 64},
		{"MaxAttachmentNameSize", MaxAttachmentNameSize, 64},

		{"TypeHello", int(TypeHello), 1},
		{"TypeAttach", int(TypeAttach), 2},
		{"TypeUser", int(TypeUser), 3},
		{"TypeClosure", int(TypeClosure), 4},
		{"TypeRequestIntroduction", int(TypeRequestIntroduction), 5},
		{"TypeIntroduce", int(TypeIntroduce), 6},
		{"TypeObserveProxy", int(TypeObserveProxy), 7},
		{"TypeObserveProxyAck", int(TypeObserveProxyAck), 8},
		{"TypePeerMoved", int(TypePeerMoved), 9},
		{"TypePortAccepted", int(TypePortAccepted), 10},
		{"TypeCountersRequest", int(TypeCountersRequest), 11},
		{"TypeCounters", int(TypeCounters), 12},

		{"offMagic", offMagic, 0},
		{"offVersion", offVersion, 2},
		{"offType", offType, 3},
		{"offLength", offLength, 4},
		{"offNumPorts", offNumPorts, 8},
		{"offNumHandles", offNumHandles, 10},
		{"offReserved", offReserved, 12},

		{"offHelloVersion", offHelloVersion, 16},
		{"offHelloReserved", offHelloReserved, 18},
		{"offHelloFlags", offHelloFlags, 20},
		{"offHelloNode", offHelloNode, 24},
		{"offHelloProof", offHelloProof, 40},
		{"offHelloTokenLen", offHelloTokenLen, 72},
		{"offHelloToken", offHelloToken, 74},

		{"offAttachCount", offAttachCount, 16},
		{"offAttachNames", offAttachNames, 18},

		{"offUserTarget", offUserTarget, 16},
		{"offUserSeq", offUserSeq, 32},
		{"offUserInterface", offUserInterface, 40},
		{"offUserMethod", offUserMethod, 44},
		{"offUserFlags", offUserFlags, 48},
		{"offUserPayloadLen", offUserPayloadLen, 52},
		{"offUserRequestID", offUserRequestID, 56},
		{"offUserSender", offUserSender, 64},
		{"offUserPayload", offUserPayload, 80},

		{"offClosureTarget", offClosureTarget, 16},
		{"offClosureLastSeq", offClosureLastSeq, 32},
		{"offClosureFlags", offClosureFlags, 40},
		{"offClosureReserved", offClosureReserved, 44},
		{"offClosureSender", offClosureSender, 48},
		{"closureSize", closureSize, 64},

		{"offRequestIntroductionNode", offRequestIntroductionNode, 16},
		{"requestIntroductionSize", requestIntroductionSize, 32},

		{"offIntroduceNode", offIntroduceNode, 16},
		{"offIntroduceFlags", offIntroduceFlags, 32},
		{"offIntroduceReserved", offIntroduceReserved, 36},
		{"introduceSize", introduceSize, 40},

		{"offObserveProxyProxyNode", offObserveProxyProxyNode, 16},
		{"offObserveProxyProxyPort", offObserveProxyProxyPort, 32},
		{"offObserveProxyProxyTargetNode", offObserveProxyProxyTargetNode, 48},
		{"offObserveProxyProxyTargetPort", offObserveProxyProxyTargetPort, 64},
		{"offObserveProxyReferrer", offObserveProxyReferrer, 80},
		{"observeProxySize", observeProxySize, 96},

		{"offObserveProxyAckTarget", offObserveProxyAckTarget, 16},
		{"offObserveProxyAckLastSeq", offObserveProxyAckLastSeq, 32},
		{"offObserveProxyAckSender", offObserveProxyAckSender, 40},
		{"observeProxyAckSize", observeProxyAckSize, 56},

		{"offPeerMovedTarget", offPeerMovedTarget, 16},
		{"offPeerMovedNewNode", offPeerMovedNewNode, 32},
		{"offPeerMovedFlags", offPeerMovedFlags, 48},
		{"offPeerMovedReserved", offPeerMovedReserved, 52},
		{"offPeerMovedSender", offPeerMovedSender, 56},
		{"offPeerMovedNewPort", offPeerMovedNewPort, 72},
		{"peerMovedSize", peerMovedSize, 88},

		{"offPortAcceptedTarget", offPortAcceptedTarget, 16},
		{"offPortAcceptedReserved", offPortAcceptedReserved, 32},
		{"portAcceptedSize", portAcceptedSize, 40},

		{"offCountersRequestID", offCountersRequestID, 16},
		{"countersRequestSize", countersRequestSize, 24},

		{"offCountersID", offCountersID, 16},
		{"offCountersSent", offCountersSent, 24},
		{"offCountersReceived", offCountersReceived, 32},
		{"countersSize", countersSize, 40},
		{"FinalCountersID", FinalCountersID, 0},

		{"offDescName", offDescName, 0},
		{"offDescPeerNode", offDescPeerNode, 16},
		{"offDescPeerPort", offDescPeerPort, 32},
		{"offDescNextSendSeq", offDescNextSendSeq, 48},
		{"offDescNextRecvSeq", offDescNextRecvSeq, 56},
		{"offDescPeerLastSeq", offDescPeerLastSeq, 64},
		{"offDescFlags", offDescFlags, 72},
		{"offDescReserved", offDescReserved, 76},
		{"offDescProxy", offDescProxy, 80},

		{"helloFlagBroker", int(helloFlagBroker), 1},
		{"helloFlagProof", int(helloFlagProof), 2},
		{"closureFlagLost", int(closureFlagLost), 1},
		{"introduceFlagUnknown", int(introduceFlagUnknown), 1},
		{"descriptorFlagPeerClosed", int(descriptorFlagPeerClosed), 1},
		{"descriptorFlagPeerLost", int(descriptorFlagPeerLost), 2},
	}
	for _, p := range pins {
		if p.got != p.want {
			t.Errorf("%s = %d, want %d", p.name, p.got, p.want)
		}
	}
	// The last field of each fixed layout must end where the next begins.
	if offDescProxy+NameSize != DescriptorSize {
		t.Errorf("descriptor fields end at %d, DescriptorSize is %d", offDescProxy+NameSize, DescriptorSize)
	}
	if offUserSender+NameSize != offUserPayload {
		t.Errorf("user fixed fields end at %d, payload starts at %d", offUserSender+NameSize, offUserPayload)
	}
	if offPeerMovedNewPort+NameSize != peerMovedSize {
		t.Errorf("peer-moved fields end at %d, peerMovedSize is %d", offPeerMovedNewPort+NameSize, peerMovedSize)
	}
	if offPortAcceptedReserved+8 != portAcceptedSize {
		t.Errorf("port-accepted fields end at %d, portAcceptedSize is %d", offPortAcceptedReserved+8, portAcceptedSize)
	}
	if offCountersRequestID+8 != countersRequestSize {
		t.Errorf("counters-request fields end at %d, countersRequestSize is %d", offCountersRequestID+8, countersRequestSize)
	}
	if offCountersReceived+8 != countersSize {
		t.Errorf("counters fields end at %d, countersSize is %d", offCountersReceived+8, countersSize)
	}
}

func TestMagicBytes(t *testing.T) {
	b := AppendClosure(nil, &Closure{Target: port(1), Sender: port(2)})
	if string(b[:2]) != "GM" {
		t.Errorf("frame starts with %q, want %q", b[:2], "GM")
	}
}

func TestFrameTypeString(t *testing.T) {
	want := map[FrameType]string{
		0:                       "FrameType(0)",
		TypeHello:               "hello",
		TypeAttach:              "attach",
		TypeUser:                "user",
		TypeClosure:             "closure",
		TypeRequestIntroduction: "request-introduction",
		TypeIntroduce:           "introduce",
		TypeObserveProxy:        "observe-proxy",
		TypeObserveProxyAck:     "observe-proxy-ack",
		TypePeerMoved:           "peer-moved",
		TypePortAccepted:        "port-accepted",
		TypeCountersRequest:     "counters-request",
		TypeCounters:            "counters",
		13:                      "FrameType(13)",
		255:                     "FrameType(255)",
	}
	for ft, s := range want {
		if got := ft.String(); got != s {
			t.Errorf("FrameType(%d).String() = %q, want %q", uint8(ft), got, s)
		}
	}
}

func TestNameString(t *testing.T) {
	n := node(0xAB)
	if got, want := n.String(), "ab000000000000000000000000000000"; got != want {
		t.Errorf("NodeName.String() = %q, want %q", got, want)
	}
	if n.IsZero() || !(NodeName{}).IsZero() {
		t.Error("NodeName.IsZero is wrong")
	}
	p := port(0xCD)
	if got, want := p.String(), "cd000000000000000000000000000000"; got != want {
		t.Errorf("PortName.String() = %q, want %q", got, want)
	}
}

func node(b byte) (n NodeName) { n[0] = b; return n }
func port(b byte) (p PortName) { p[0] = b; return p }
