package wire

import (
	"strconv"

	"github.com/mage-ipc/mage/mage/internal/names"
)

// The numbers of the wire format. docs/protocol.md explains each one; a test
// pins them, so changing one is a protocol change and needs a new Version.
const (
	// Magic opens every frame: the bytes 'G' 'M' read as a little-endian
	// uint16. It catches a peer that is not speaking mage at all.
	Magic uint16 = 0x4D47

	// Version is the protocol version this package reads and writes: the
	// version byte of every frame header, and what a Hello announces. A
	// frame with any other version byte is refused with a *VersionError.
	// It is untyped so that it fits both the header byte and Hello.Version.
	// Version 2 added the name proof to the Hello; version 3 the sending
	// port to every frame that addresses a port, the proxy to the port
	// descriptor, and the stints a PeerMoved ends and starts.
	Version = 3

	// HeaderSize is the size of the common header that starts every frame.
	HeaderSize = 16

	// Alignment is the unit every frame length, and every padded section
	// inside a frame, is a multiple of.
	Alignment = 8

	// MaxFrameSize bounds a whole frame, header included. It bounds the
	// memory a peer can make a reader hold for one frame; bulk data that
	// does not fit belongs in a handle (a file, a shared memory object), not
	// in a message.
	MaxFrameSize = 64 << 20

	// MaxPorts is the most port descriptors one frame may carry.
	MaxPorts = 64

	// MaxHandles is the most OS handles one frame may declare.
	MaxHandles = 64

	// NameSize is the size of a node or port name.
	NameSize = 16

	// DescriptorSize is the encoded size of a PortDescriptor.
	DescriptorSize = 96

	// NameProofSize is the size of a node's name proof, the secret its
	// name is derived from (NameProof).
	NameProofSize = 32

	// MaxTokenSize is the longest token a Hello may carry.
	MaxTokenSize = 64

	// MaxAttachmentNameSize is the longest name of an attachment.
	MaxAttachmentNameSize = 64

	// FinalCountersID is the id of a Counters frame nobody asked for: the
	// counts a node sends its broker as it closes.
	FinalCountersID = 0
)

// Offsets inside the common header.
const (
	offMagic      = 0
	offVersion    = 2
	offType       = 3
	offLength     = 4
	offNumPorts   = 8
	offNumHandles = 10
	offReserved   = 12
)

// Offsets inside frame bodies, counted from the start of the frame.
const (
	// Hello.
	offHelloVersion  = 16
	offHelloReserved = 18
	offHelloFlags    = 20
	offHelloNode     = 24
	offHelloProof    = 40
	offHelloTokenLen = 72
	offHelloToken    = 74
	helloFixedSize   = 74

	// Attach.
	offAttachCount  = 16
	offAttachNames  = 18
	attachFixedSize = 18

	// User.
	offUserTarget     = 16
	offUserSeq        = 32
	offUserInterface  = 40
	offUserMethod     = 44
	offUserFlags      = 48
	offUserPayloadLen = 52
	offUserRequestID  = 56
	offUserSender     = 64
	offUserPayload    = 80
	userFixedSize     = 80

	// Closure.
	offClosureTarget   = 16
	offClosureLastSeq  = 32
	offClosureFlags    = 40
	offClosureReserved = 44
	offClosureSender   = 48
	closureSize        = 64

	// RequestIntroduction.
	offRequestIntroductionNode = 16
	requestIntroductionSize    = 32

	// Introduce.
	offIntroduceNode     = 16
	offIntroduceFlags    = 32
	offIntroduceReserved = 36
	introduceSize        = 40

	// ObserveProxy.
	offObserveProxyProxyNode       = 16
	offObserveProxyProxyPort       = 32
	offObserveProxyProxyTargetNode = 48
	offObserveProxyProxyTargetPort = 64
	offObserveProxyReferrer        = 80
	observeProxySize               = 96

	// ObserveProxyAck.
	offObserveProxyAckTarget  = 16
	offObserveProxyAckLastSeq = 32
	offObserveProxyAckSender  = 40
	observeProxyAckSize       = 56

	// PeerMoved.
	offPeerMovedTarget   = 16
	offPeerMovedNewNode  = 32
	offPeerMovedFlags    = 48
	offPeerMovedReserved = 52
	offPeerMovedSender   = 56
	offPeerMovedNewPort  = 72
	peerMovedSize        = 88

	// PortAccepted.
	offPortAcceptedTarget   = 16
	offPortAcceptedReserved = 32
	portAcceptedSize        = 40

	// CountersRequest.
	offCountersRequestID = 16
	countersRequestSize  = 24

	// Counters.
	offCountersID       = 16
	offCountersSent     = 24
	offCountersReceived = 32
	countersSize        = 40
)

// Offsets inside a port descriptor, counted from its start.
const (
	offDescName        = 0
	offDescPeerNode    = 16
	offDescPeerPort    = 32
	offDescNextSendSeq = 48
	offDescNextRecvSeq = 56
	offDescPeerLastSeq = 64
	offDescFlags       = 72
	offDescReserved    = 76
	offDescProxy       = 80
)

// Flag bits. Bits not named here are reserved and must be zero.
const (
	helloFlagBroker          uint32 = 1 << 0
	helloFlagProof           uint32 = 1 << 1
	closureFlagLost          uint32 = 1 << 0
	introduceFlagUnknown     uint32 = 1 << 0
	descriptorFlagPeerClosed uint32 = 1 << 0
	descriptorFlagPeerLost   uint32 = 1 << 1
)

// FrameType says what a frame's body holds.
type FrameType uint8

// The frame types. Zero is not a type, so an all-zero header is refused.
const (
	// TypeHello is the first frame each side sends on a channel.
	TypeHello FrameType = 1 + iota
	// TypeAttach carries an invitation's named port attachments.
	TypeAttach
	// TypeUser carries a user message to a port.
	TypeUser
	// TypeClosure tells a port its peer closed.
	TypeClosure
	// TypeRequestIntroduction asks the broker for a channel to a node.
	TypeRequestIntroduction
	// TypeIntroduce is the broker's answer: a socket to the node.
	TypeIntroduce
	// TypeObserveProxy asks that the port sending to a proxy send to the
	// proxy's target instead.
	TypeObserveProxy
	// TypeObserveProxyAck answers TypeObserveProxy with the last sequence
	// number sent through the proxy.
	TypeObserveProxyAck
	// TypePeerMoved tells a port that its peer end moved to another node.
	TypePeerMoved
	// TypePortAccepted tells a moved port's old node that the new node
	// adopted it.
	TypePortAccepted
	// TypeCountersRequest asks the receiving node for its message counts.
	TypeCountersRequest
	// TypeCounters answers TypeCountersRequest.
	TypeCounters

	typeLimit // one past the last valid type
)

var frameTypeNames = [...]string{
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
}

// Valid reports whether t is a defined frame type.
func (t FrameType) Valid() bool { return t >= TypeHello && t < typeLimit }

func (t FrameType) String() string {
	if t.Valid() {
		return frameTypeNames[t]
	}
	return "FrameType(" + strconv.Itoa(int(t)) + ")"
}

// NodeName is the random 128-bit name of a node, the type the runtime and
// the ports layer use too. The zero name is never a valid node.
type NodeName = names.NodeName

// PortName is the random 128-bit name of a port, the type the runtime and
// the ports layer use too. The zero name is never a valid port.
type PortName = names.PortName

// align rounds n up to a multiple of Alignment.
func align(n int) int { return (n + Alignment - 1) &^ (Alignment - 1) }
