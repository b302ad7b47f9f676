package wire

import "encoding/binary"

// Decode decodes b, which must hold exactly one whole frame, into f.
//
// It checks everything ParseHeader checks, then every field of the body: the
// frame length must be exactly the length the body's contents need, padding
// and reserved fields must be zero, undefined flag bits must be clear, names
// must be non-zero where the protocol requires a name, and counts that
// appear twice must agree. On error f is left partly written and must not be
// used.
//
// f.Hello.Token and f.User.Payload alias b: they are valid only as long as b
// is, and a caller that keeps them past that must copy them. Everything else
// is copied into f, whose Attach and User.Ports slices are reused.
//
// Decode never panics.
func Decode(b []byte, f *Frame) error {
	h, err := ParseHeader(b)
	if err != nil {
		return err
	}
	switch {
	case len(b) < h.Length:
		return decodeErr(h.Type, ErrTruncated, "length", offLength,
			"frame length "+itoa(h.Length)+" but only "+itoa(len(b))+" bytes")
	case len(b) > h.Length:
		return decodeErr(h.Type, ErrBadLength, "length", offLength,
			"frame length "+itoa(h.Length)+" but "+itoa(len(b))+" bytes given")
	}
	f.Type = h.Type
	f.NumPorts = h.NumPorts
	f.NumHandles = h.NumHandles
	switch h.Type {
	case TypeHello:
		return decodeHello(b, &f.Hello)
	case TypeAttach:
		return decodeAttach(b, h, f)
	case TypeUser:
		return decodeUser(b, h, &f.User)
	case TypeClosure:
		return decodeClosure(b, &f.Closure)
	case TypeRequestIntroduction:
		return decodeRequestIntroduction(b, &f.RequestIntroduction)
	case TypeIntroduce:
		return decodeIntroduce(b, h, &f.Introduce)
	case TypeObserveProxy:
		return decodeObserveProxy(b, &f.ObserveProxy)
	case TypeObserveProxyAck:
		return decodeObserveProxyAck(b, &f.ObserveProxyAck)
	case TypePeerMoved:
		return decodePeerMoved(b, &f.PeerMoved)
	case TypePortAccepted:
		return decodePortAccepted(b, &f.PortAccepted)
	case TypeCountersRequest:
		return decodeCountersRequest(b, &f.CountersRequest)
	case TypeCounters:
		return decodeCounters(b, &f.Counters)
	}
	// ParseHeader refused every other type.
	return decodeErr(0, ErrUnknownType, "type", offType, "unknown frame type "+itoa(int(h.Type)))
}

// checkZero reports a non-zero byte in b[from:to] as a padding error.
func checkZero(t FrameType, b []byte, from, to int, field string) error {
	for i := from; i < to; i++ {
		if b[i] != 0 {
			return decodeErr(t, ErrReserved, field, i, "non-zero byte 0x"+hex16(uint16(b[i]))[2:]+" in "+field)
		}
	}
	return nil
}

func nodeAt(b []byte, off int) (n NodeName) {
	copy(n[:], b[off:off+NameSize])
	return n
}

func portAt(b []byte, off int) (p PortName) {
	copy(p[:], b[off:off+NameSize])
	return p
}

func zeroName(t FrameType, field string, off int) error {
	return decodeErr(t, ErrBadName, field, off, "zero "+field)
}

func decodeHello(b []byte, h *Hello) error {
	const t = TypeHello
	h.Version = binary.LittleEndian.Uint16(b[offHelloVersion:])
	if h.Version == 0 {
		return decodeErr(t, ErrBadValue, "version", offHelloVersion, "version 0")
	}
	if r := binary.LittleEndian.Uint16(b[offHelloReserved:]); r != 0 {
		return decodeErr(t, ErrReserved, "reserved", offHelloReserved, "reserved field is "+itoa(int(r)))
	}
	flags := binary.LittleEndian.Uint32(b[offHelloFlags:])
	const known = helloFlagBroker | helloFlagProof
	if flags&^known != 0 {
		return decodeErr(t, ErrReserved, "flags", offHelloFlags, "undefined flag bits 0x"+hex32(flags&^known))
	}
	h.Broker = flags&helloFlagBroker != 0
	h.HasProof = flags&helloFlagProof != 0
	h.Node = nodeAt(b, offHelloNode)
	if h.Node.IsZero() {
		return zeroName(t, "node name", offHelloNode)
	}
	copy(h.Proof[:], b[offHelloProof:offHelloProof+NameProofSize])
	if !h.HasProof {
		if err := checkZero(t, b, offHelloProof, offHelloProof+NameProofSize, "name proof"); err != nil {
			return err
		}
	}
	n := int(binary.LittleEndian.Uint16(b[offHelloTokenLen:]))
	if n > MaxTokenSize {
		return decodeErr(t, ErrBadValue, "token length", offHelloTokenLen,
			"token length "+itoa(n)+" exceeds "+itoa(MaxTokenSize))
	}
	if want := align(helloFixedSize + n); len(b) != want {
		return decodeErr(t, ErrBadLength, "length", offLength,
			"frame length "+itoa(len(b))+" does not match a token of "+itoa(n)+" bytes (want "+itoa(want)+")")
	}
	end := offHelloToken + n
	h.Token = nil
	if n > 0 {
		h.Token = b[offHelloToken:end:end]
	}
	return checkZero(t, b, end, len(b), "padding")
}

func decodeAttach(b []byte, h Header, f *Frame) error {
	const t = TypeAttach
	count := int(binary.LittleEndian.Uint16(b[offAttachCount:]))
	if count != h.NumPorts {
		return decodeErr(t, ErrBadCount, "count", offAttachCount,
			"attachment count "+itoa(count)+" but header says "+itoa(h.NumPorts)+" ports")
	}
	// The descriptors fill the end of the frame; the names and their
	// padding fill what lies between the count and them.
	descs := len(b) - count*DescriptorSize
	if descs < offAttachNames {
		return decodeErr(t, ErrBadLength, "length", offLength,
			"frame length "+itoa(len(b))+" too short for "+itoa(count)+" port descriptors")
	}
	f.Attach = f.Attach[:0]
	off := offAttachNames
	for i := range count {
		if off >= descs {
			return decodeErr(t, ErrBadLength, "name length", off,
				"attachment "+itoa(i)+" starts past the names section (ends at "+itoa(descs)+")")
		}
		n := int(b[off])
		if n == 0 || n > MaxAttachmentNameSize {
			return decodeErr(t, ErrBadName, "name length", off,
				"attachment "+itoa(i)+" name length "+itoa(n)+" outside 1.."+itoa(MaxAttachmentNameSize))
		}
		if off+1+n > descs {
			return decodeErr(t, ErrBadLength, "name length", off,
				"attachment "+itoa(i)+" name of "+itoa(n)+" bytes exceeds the names section ("+itoa(descs-off-1)+" bytes left)")
		}
		name := b[off+1 : off+1+n]
		for j, c := range name {
			if !visibleASCII(c) {
				return decodeErr(t, ErrBadName, "name", off+1+j,
					"attachment "+itoa(i)+" name has byte 0x"+hex16(uint16(c))[2:]+", want visible ASCII")
			}
		}
		for j := range f.Attach {
			if f.Attach[j].Name == string(name) {
				return decodeErr(t, ErrBadName, "name", off+1,
					"attachment "+itoa(i)+" repeats the name "+f.Attach[j].Name)
			}
		}
		f.Attach = append(f.Attach, Attachment{Name: string(name)})
		off += 1 + n
	}
	if align(off) != descs {
		return decodeErr(t, ErrBadLength, "length", offLength,
			"names end at "+itoa(off)+" so descriptors start at "+itoa(align(off))+", but the frame length puts them at "+itoa(descs))
	}
	if err := checkZero(t, b, off, descs, "padding"); err != nil {
		return err
	}
	for i := range f.Attach {
		d, err := decodeDescriptor(t, b, descs+i*DescriptorSize, i)
		if err != nil {
			return err
		}
		f.Attach[i].Port = d
	}
	return nil
}

func decodeUser(b []byte, h Header, u *User) error {
	const t = TypeUser
	if err := decodeUserFixed(b, h, u); err != nil {
		return err
	}
	plen, left, err := userLengths(b, h)
	if err != nil {
		return err
	}
	end := offUserPayload + plen
	descs := offUserPayload + left
	if err := checkZero(t, b, end, descs, "padding"); err != nil {
		return err
	}
	u.Payload = nil
	if plen > 0 {
		u.Payload = b[offUserPayload:end:end]
	}
	u.Ports, err = decodeDescriptors(t, b, descs, h.NumPorts, u.Ports[:0])
	return err
}

// decodeUserFixed decodes the fields of a User frame's fixed part, b's
// first userFixedSize bytes, except the payload length.
func decodeUserFixed(b []byte, h Header, u *User) error {
	u.Target = portAt(b, offUserTarget)
	if u.Target.IsZero() {
		return zeroName(TypeUser, "target port", offUserTarget)
	}
	u.Seq = binary.LittleEndian.Uint64(b[offUserSeq:])
	u.Interface = binary.LittleEndian.Uint32(b[offUserInterface:])
	u.Method = binary.LittleEndian.Uint32(b[offUserMethod:])
	u.Flags = binary.LittleEndian.Uint32(b[offUserFlags:])
	u.RequestID = binary.LittleEndian.Uint64(b[offUserRequestID:])
	u.Sender = portAt(b, offUserSender)
	if u.Sender.IsZero() {
		return zeroName(TypeUser, "sender port", offUserSender)
	}
	u.NumHandles = h.NumHandles
	return nil
}

// userLengths checks the payload length in a User frame's fixed part (b's
// first userFixedSize bytes) against the frame length and port count of
// its header h, and returns it with the bytes between the fixed part and
// the port descriptors (the payload and its padding).
func userLengths(b []byte, h Header) (plen, left int, err error) {
	const t = TypeUser
	// Sizes are compared as int64 so that no length field can overflow.
	p := int64(binary.LittleEndian.Uint32(b[offUserPayloadLen:]))
	l := int64(h.Length) - userFixedSize - int64(h.NumPorts)*DescriptorSize
	if l < 0 {
		return 0, 0, decodeErr(t, ErrBadLength, "length", offLength,
			"frame length "+itoa(h.Length)+" too short for "+itoa(h.NumPorts)+" port descriptors")
	}
	if p > l {
		return 0, 0, decodeErr(t, ErrBadLength, "payload length", offUserPayloadLen,
			"payload length "+itoa(int(p))+" exceeds frame ("+itoa(int(l))+" bytes left)")
	}
	if padded := int64(align(int(p))); padded != l {
		return 0, 0, decodeErr(t, ErrBadLength, "payload length", offUserPayloadLen,
			"payload length "+itoa(int(p))+" pads to "+itoa(int(padded))+" bytes but the frame leaves "+itoa(int(l)))
	}
	return int(p), int(l), nil
}

func decodeClosure(b []byte, c *Closure) error {
	const t = TypeClosure
	c.Target = portAt(b, offClosureTarget)
	if c.Target.IsZero() {
		return zeroName(t, "target port", offClosureTarget)
	}
	c.LastSeq = binary.LittleEndian.Uint64(b[offClosureLastSeq:])
	flags := binary.LittleEndian.Uint32(b[offClosureFlags:])
	if flags&^closureFlagLost != 0 {
		return decodeErr(t, ErrReserved, "flags", offClosureFlags, "undefined flag bits 0x"+hex32(flags&^closureFlagLost))
	}
	c.Lost = flags&closureFlagLost != 0
	if err := checkZero(t, b, offClosureReserved, offClosureSender, "reserved"); err != nil {
		return err
	}
	c.Sender = portAt(b, offClosureSender)
	if c.Sender.IsZero() {
		return zeroName(t, "sender port", offClosureSender)
	}
	return nil
}

func decodeRequestIntroduction(b []byte, r *RequestIntroduction) error {
	r.Node = nodeAt(b, offRequestIntroductionNode)
	if r.Node.IsZero() {
		return zeroName(TypeRequestIntroduction, "node name", offRequestIntroductionNode)
	}
	return nil
}

func decodeIntroduce(b []byte, h Header, in *Introduce) error {
	const t = TypeIntroduce
	in.Node = nodeAt(b, offIntroduceNode)
	if in.Node.IsZero() {
		return zeroName(t, "node name", offIntroduceNode)
	}
	flags := binary.LittleEndian.Uint32(b[offIntroduceFlags:])
	if flags&^introduceFlagUnknown != 0 {
		return decodeErr(t, ErrReserved, "flags", offIntroduceFlags, "undefined flag bits 0x"+hex32(flags&^introduceFlagUnknown))
	}
	in.Unknown = flags&introduceFlagUnknown != 0
	if h.NumHandles != in.NumHandles() {
		return decodeErr(t, ErrBadCount, "handle count", offNumHandles,
			"introduce frame with unknown="+boolString(in.Unknown)+" must carry "+itoa(in.NumHandles())+" handles, header says "+itoa(h.NumHandles))
	}
	return checkZero(t, b, offIntroduceReserved, introduceSize, "reserved")
}

func decodeObserveProxy(b []byte, o *ObserveProxy) error {
	const t = TypeObserveProxy
	o.ProxyNode = nodeAt(b, offObserveProxyProxyNode)
	o.ProxyPort = portAt(b, offObserveProxyProxyPort)
	o.ProxyTargetNode = nodeAt(b, offObserveProxyProxyTargetNode)
	o.ProxyTargetPort = portAt(b, offObserveProxyProxyTargetPort)
	o.Referrer = portAt(b, offObserveProxyReferrer)
	switch {
	case o.ProxyNode.IsZero():
		return zeroName(t, "proxy node", offObserveProxyProxyNode)
	case o.ProxyPort.IsZero():
		return zeroName(t, "proxy port", offObserveProxyProxyPort)
	case o.ProxyTargetNode.IsZero():
		return zeroName(t, "proxy target node", offObserveProxyProxyTargetNode)
	case o.ProxyTargetPort.IsZero():
		return zeroName(t, "proxy target port", offObserveProxyProxyTargetPort)
	case o.Referrer.IsZero():
		return zeroName(t, "referrer port", offObserveProxyReferrer)
	}
	return nil
}

func decodeObserveProxyAck(b []byte, a *ObserveProxyAck) error {
	a.Target = portAt(b, offObserveProxyAckTarget)
	if a.Target.IsZero() {
		return zeroName(TypeObserveProxyAck, "target port", offObserveProxyAckTarget)
	}
	a.LastSeq = binary.LittleEndian.Uint64(b[offObserveProxyAckLastSeq:])
	a.Sender = portAt(b, offObserveProxyAckSender)
	if a.Sender.IsZero() {
		return zeroName(TypeObserveProxyAck, "sender port", offObserveProxyAckSender)
	}
	return nil
}

func decodePeerMoved(b []byte, m *PeerMoved) error {
	const t = TypePeerMoved
	m.Target = portAt(b, offPeerMovedTarget)
	m.NewNode = nodeAt(b, offPeerMovedNewNode)
	m.Sender = portAt(b, offPeerMovedSender)
	m.NewPort = portAt(b, offPeerMovedNewPort)
	switch {
	case m.Target.IsZero():
		return zeroName(t, "target port", offPeerMovedTarget)
	case m.NewNode.IsZero():
		return zeroName(t, "new node", offPeerMovedNewNode)
	case m.Sender.IsZero():
		return zeroName(t, "sender port", offPeerMovedSender)
	case m.NewPort.IsZero():
		return zeroName(t, "new port", offPeerMovedNewPort)
	}
	if flags := binary.LittleEndian.Uint32(b[offPeerMovedFlags:]); flags != 0 {
		return decodeErr(t, ErrReserved, "flags", offPeerMovedFlags, "undefined flag bits 0x"+hex32(flags))
	}
	return checkZero(t, b, offPeerMovedReserved, offPeerMovedSender, "reserved")
}

func decodePortAccepted(b []byte, a *PortAccepted) error {
	const t = TypePortAccepted
	a.Target = portAt(b, offPortAcceptedTarget)
	if a.Target.IsZero() {
		return zeroName(t, "target port", offPortAcceptedTarget)
	}
	return checkZero(t, b, offPortAcceptedReserved, portAcceptedSize, "reserved")
}

func decodeCountersRequest(b []byte, r *CountersRequest) error {
	r.ID = binary.LittleEndian.Uint64(b[offCountersRequestID:])
	if r.ID == 0 {
		return decodeErr(TypeCountersRequest, ErrBadValue, "id", offCountersRequestID, "zero id")
	}
	return nil
}

func decodeCounters(b []byte, c *Counters) error {
	c.ID = binary.LittleEndian.Uint64(b[offCountersID:])
	c.Sent = binary.LittleEndian.Uint64(b[offCountersSent:])
	c.Received = binary.LittleEndian.Uint64(b[offCountersReceived:])
	return nil
}

func boolString(v bool) string {
	if v {
		return "true"
	}
	return "false"
}
