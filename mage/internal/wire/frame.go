package wire

// Hello is the first frame each side sends on a channel. It names the
// sender's node, the protocol version it speaks, whether it is the broker,
// (to its broker) the proof of its name, and (from an inviter) the
// invitation token.
type Hello struct {
	// Version is the protocol version the sender speaks; at least 1. The
	// codec accepts any; whether the two sides agree is the handshake's
	// business.
	Version uint16
	// Node is the sender's node name; never zero.
	Node NodeName
	// Broker is set when the sender is the broker of its process tree.
	Broker bool
	// HasProof is set when the sender connects to the receiver as to its
	// broker and proves its node name with Proof. Without it, Proof is
	// zero.
	HasProof bool
	// Proof is the secret Node is derived from (see NameProof.Node).
	Proof NameProof
	// Token is the invitation token, at most MaxTokenSize bytes. Decode
	// leaves it aliasing the frame's bytes.
	Token []byte
}

// Attachment is one named port of an invitation.
type Attachment struct {
	// Name is 1 to MaxAttachmentNameSize visible ASCII characters
	// ('!' through '~'), unique within its frame.
	Name string
	// Port is the attached port.
	Port PortDescriptor
}

// User is a user message to a port.
type User struct {
	// Target is the port the message is for.
	Target PortName
	// Seq is the message's sequence number on its pipe.
	Seq uint64
	// Interface is the fingerprint of the interface the message belongs to.
	Interface uint32
	// Method is the method ordinal within the interface.
	Method uint32
	// Flags are message flags. The codec carries them unread; their
	// meaning belongs to the bindings layer.
	Flags uint32
	// RequestID pairs a reply with its request; zero when unused.
	RequestID uint64
	// Sender is the port on the sending node that emits the message: the
	// pipe end that sent it, or the proxy that forwards it. Never zero.
	Sender PortName
	// Payload is the message body, at most what fits in MaxFrameSize.
	// Decode leaves it aliasing the frame's bytes.
	Payload []byte
	// Ports are the pipes the message carries, at most MaxPorts.
	Ports []PortDescriptor
	// NumHandles is how many OS handles ride with the message, at most
	// MaxHandles. The handles themselves travel beside the bytes.
	NumHandles int
}

// Closure tells a port that its peer closed.
type Closure struct {
	// Target is the port whose peer closed.
	Target PortName
	// LastSeq is the sequence number of the last message the peer sent;
	// the port reports closure after delivering it. Meaningless when Lost.
	LastSeq uint64
	// Lost is set when the peer's node died, so LastSeq is unknown.
	Lost bool
	// Sender is the port on the sending node that emits the closure (the
	// closing end, or the proxy that passes it on). Never zero.
	Sender PortName
}

// RequestIntroduction asks the broker to connect the sender to Node.
type RequestIntroduction struct {
	// Node is the node the sender wants a channel to.
	Node NodeName
}

// Introduce is the broker's answer to a RequestIntroduction: one end of a
// new socket to Node rides with it as its single handle, unless Unknown is
// set, in which case the broker does not know Node and there is no handle.
type Introduce struct {
	// Node is the node the handle connects to.
	Node NodeName
	// Unknown is set when the broker has no such node.
	Unknown bool
}

// NumHandles is the number of handles an Introduce frame carries.
func (in *Introduce) NumHandles() int {
	if in.Unknown {
		return 0
	}
	return 1
}

// ObserveProxy is sent by a proxy port to a node that may hold the port
// sending to it (the proxy's referrer): that port, Referrer, should send
// to ProxyTarget directly instead. The proxy names each port it knows may
// be its referrer (a stint it knows of); the receiving node switches
// Referrer only if it is a port there whose peer is the proxy.
type ObserveProxy struct {
	// ProxyNode and ProxyPort address the proxy. ProxyNode is the sending
	// node; the receiver refuses a frame where it is not.
	ProxyNode NodeName
	ProxyPort PortName
	// ProxyTargetNode and ProxyTargetPort address where the proxy forwards.
	ProxyTargetNode NodeName
	ProxyTargetPort PortName
	// Referrer is the port on the receiving node asked to switch. Never
	// zero.
	Referrer PortName
}

// ObserveProxyAck answers an ObserveProxy: the sender sends directly to the
// proxy's target from now on, and LastSeq is the last sequence number it
// sent through the proxy, after which the proxy may go away.
type ObserveProxyAck struct {
	// Target is the proxy port the ack is for, on the receiving node.
	Target PortName
	// LastSeq is the last sequence number sent through the proxy; 0 if
	// none was ever sent on the pipe in that direction.
	LastSeq uint64
	// Sender is the port on the sending node that switched past the
	// proxy (its referrer); the proxy's PeerMoved names it. Never zero.
	Sender PortName
}

// PeerMoved ends one stint feeding Target and starts another. A stint is
// a port that sends to Target from its node: the pipe's other end during
// its time on one node, or a proxy that forwards to Target. The stint that
// ends is (the frame's sending node, Sender); the one that starts is
// (NewNode, NewPort). The old node of a moved end sends it once the move
// is acknowledged (PortAccepted), naming the end's new port; a proxy
// bypassed by route collapsing sends it once it forwarded its last
// message, naming its referrer. Either way it travels on the same channel
// as, so behind, everything the ending stint sent.
type PeerMoved struct {
	// Target is the port whose feeding stint changes.
	Target PortName
	// NewNode and NewPort are the stint that starts. Never zero.
	NewNode NodeName
	NewPort PortName
	// Sender is the port on the sending node whose stint ends. Never zero.
	Sender PortName
}

// PortAccepted is sent by the node that adopted a moved port to the node it
// moved from. The old node finds its proxy for the port by the pair
// (sending node, Target).
type PortAccepted struct {
	// Target is the new port's name, as the sending node chose it: the
	// Name of the moved port's descriptor.
	Target PortName
}

// CountersRequest asks the receiving node how many messages its pipes have
// written and read. It answers with a Counters frame carrying the same ID.
type CountersRequest struct {
	// ID pairs the answer with the request; never zero.
	ID uint64
}

// Counters answers a CountersRequest, or, with ID FinalCountersID, is
// sent unasked by a node to its broker as it closes.
type Counters struct {
	// ID is the request's, or FinalCountersID.
	ID uint64
	// Sent and Received count the messages the node's pipes have written
	// and read since the node was made.
	Sent, Received uint64
}

// Frame is a decoded frame. Only the field matching Type is meaningful; the
// others hold whatever earlier frames left there. A Frame is meant to be
// reused: Decode keeps the capacity of Attach and User.Ports, so a reader
// that decodes into one Frame allocates nothing for most frames.
type Frame struct {
	// Type is the frame's type.
	Type FrameType
	// NumPorts and NumHandles are the counts from the header.
	NumPorts   int
	NumHandles int

	Hello               Hello
	Attach              []Attachment
	User                User
	Closure             Closure
	RequestIntroduction RequestIntroduction
	Introduce           Introduce
	ObserveProxy        ObserveProxy
	ObserveProxyAck     ObserveProxyAck
	PeerMoved           PeerMoved
	PortAccepted        PortAccepted
	CountersRequest     CountersRequest
	Counters            Counters
}
