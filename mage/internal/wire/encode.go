package wire

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// Each Append function appends one encoded frame to dst and returns the
// extended slice, allocating only when dst must grow. It panics if the value
// cannot be encoded; call the matching Validate first when the value comes
// from data the caller does not control.

// grow extends dst by n bytes and returns the extended slice and the new
// n-byte tail. The tail holds stale bytes; the caller writes every one.
func grow(dst []byte, n int) ([]byte, []byte) {
	dst = slices.Grow(dst, n)
	start := len(dst)
	dst = dst[:start+n]
	return dst, dst[start:]
}

func mustValid(err error) {
	if err != nil {
		panic(err)
	}
}

// Validate reports whether h can be encoded.
func (h *Hello) Validate() error {
	switch {
	case h.Version == 0:
		return fmt.Errorf("wire: cannot encode hello frame: version 0: %w", ErrBadValue)
	case h.Node.IsZero():
		return fmt.Errorf("wire: cannot encode hello frame: zero node name: %w", ErrBadName)
	case len(h.Token) > MaxTokenSize:
		return fmt.Errorf("wire: cannot encode hello frame: token of %d bytes exceeds %d: %w", len(h.Token), MaxTokenSize, ErrBadValue)
	case !h.HasProof && h.Proof != NameProof{}:
		return fmt.Errorf("wire: cannot encode hello frame: a name proof without HasProof: %w", ErrReserved)
	}
	return nil
}

// EncodedLen is the length of h's frame.
func (h *Hello) EncodedLen() int { return align(helloFixedSize + len(h.Token)) }

// AppendHello appends a Hello frame.
func AppendHello(dst []byte, h *Hello) []byte {
	mustValid(h.Validate())
	n := h.EncodedLen()
	dst, b := grow(dst, n)
	putHeader(b, TypeHello, n, 0, 0)
	binary.LittleEndian.PutUint16(b[offHelloVersion:], h.Version)
	binary.LittleEndian.PutUint16(b[offHelloReserved:], 0)
	var flags uint32
	if h.Broker {
		flags |= helloFlagBroker
	}
	if h.HasProof {
		flags |= helloFlagProof
	}
	binary.LittleEndian.PutUint32(b[offHelloFlags:], flags)
	copy(b[offHelloNode:], h.Node[:])
	copy(b[offHelloProof:], h.Proof[:])
	binary.LittleEndian.PutUint16(b[offHelloTokenLen:], uint16(len(h.Token)))
	end := offHelloToken + copy(b[offHelloToken:], h.Token)
	clear(b[end:])
	return dst
}

// ValidAttachmentName reports whether name may name an attachment: 1 to
// MaxAttachmentNameSize visible ASCII characters ('!' through '~').
func ValidAttachmentName(name string) bool {
	if len(name) == 0 || len(name) > MaxAttachmentNameSize {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !visibleASCII(name[i]) {
			return false
		}
	}
	return true
}

func visibleASCII(c byte) bool { return c >= '!' && c <= '~' }

// ValidateAttach reports whether as can be encoded as one Attach frame.
func ValidateAttach(as []Attachment) error {
	if len(as) > MaxPorts {
		return fmt.Errorf("wire: cannot encode attach frame: %d attachments exceed %d: %w", len(as), MaxPorts, ErrTooManyPorts)
	}
	for i := range as {
		if !ValidAttachmentName(as[i].Name) {
			return fmt.Errorf("wire: cannot encode attach frame: attachment name %q: %w", as[i].Name, ErrBadName)
		}
		for j := range i {
			if as[j].Name == as[i].Name {
				return fmt.Errorf("wire: cannot encode attach frame: attachment name %q repeated: %w", as[i].Name, ErrBadName)
			}
		}
		if field, reason, sentinel := as[i].Port.validate(); sentinel != nil {
			return fmt.Errorf("wire: cannot encode attach frame: attachment %q: %s %s: %w", as[i].Name, field, reason, sentinel)
		}
	}
	return nil
}

// attachNamesEnd is the offset just past the names of an Attach frame.
func attachNamesEnd(as []Attachment) int {
	n := offAttachNames
	for i := range as {
		n += 1 + len(as[i].Name)
	}
	return n
}

// AttachEncodedLen is the length of the Attach frame holding as.
func AttachEncodedLen(as []Attachment) int {
	return align(attachNamesEnd(as)) + len(as)*DescriptorSize
}

// AppendAttach appends an Attach frame carrying as, in order.
func AppendAttach(dst []byte, as []Attachment) []byte {
	mustValid(ValidateAttach(as))
	namesEnd := attachNamesEnd(as)
	descs := align(namesEnd)
	n := descs + len(as)*DescriptorSize
	dst, b := grow(dst, n)
	putHeader(b, TypeAttach, n, len(as), 0)
	binary.LittleEndian.PutUint16(b[offAttachCount:], uint16(len(as)))
	off := offAttachNames
	for i := range as {
		b[off] = byte(len(as[i].Name))
		off += 1 + copy(b[off+1:], as[i].Name)
	}
	clear(b[off:descs])
	for i := range as {
		putDescriptor(b[descs+i*DescriptorSize:], &as[i].Port)
	}
	return dst
}

// Validate reports whether u can be encoded.
func (u *User) Validate() error {
	switch {
	case u.Target.IsZero():
		return fmt.Errorf("wire: cannot encode user frame: zero target port: %w", ErrBadName)
	case u.Sender.IsZero():
		return fmt.Errorf("wire: cannot encode user frame: zero sender port: %w", ErrBadName)
	case len(u.Ports) > MaxPorts:
		return fmt.Errorf("wire: cannot encode user frame: %d ports exceed %d: %w", len(u.Ports), MaxPorts, ErrTooManyPorts)
	case u.NumHandles < 0 || u.NumHandles > MaxHandles:
		return fmt.Errorf("wire: cannot encode user frame: %d handles exceed %d: %w", u.NumHandles, MaxHandles, ErrTooManyHandles)
	case len(u.Payload) > MaxFrameSize || u.EncodedLen() > MaxFrameSize:
		return fmt.Errorf("wire: cannot encode user frame: payload of %d bytes makes the frame exceed %d: %w", len(u.Payload), MaxFrameSize, ErrTooLarge)
	}
	return validateDescriptors(TypeUser, u.Ports)
}

// EncodedLen is the length of u's frame.
func (u *User) EncodedLen() int {
	return userFixedSize + align(len(u.Payload)) + len(u.Ports)*DescriptorSize
}

// AppendUser appends a User frame.
func AppendUser(dst []byte, u *User) []byte {
	mustValid(u.Validate())
	n := u.EncodedLen()
	dst, b := grow(dst, n)
	putUserFixed(b, u, n)
	end := offUserPayload + copy(b[offUserPayload:], u.Payload)
	descs := offUserPayload + align(len(u.Payload))
	clear(b[end:descs])
	for i := range u.Ports {
		putDescriptor(b[descs+i*DescriptorSize:], &u.Ports[i])
	}
	return dst
}

// UserPayloadOffset is where a User frame's payload begins, from the
// frame's first byte.
const UserPayloadOffset = offUserPayload

// AppendUserWithoutPayload appends u's frame with its payload left out: the
// UserPayloadOffset bytes before the payload, then its padding and port
// descriptors. The frame on the wire is the appended bytes with u.Payload
// inserted at UserPayloadOffset, which lets a writer send a large payload
// from where it is (a vectored write) instead of copying it. The caller
// must have checked u.Validate: it panics like AppendUser.
func AppendUserWithoutPayload(dst []byte, u *User) []byte {
	mustValid(u.Validate())
	n := u.EncodedLen()
	dst, b := grow(dst, n-len(u.Payload))
	putUserFixed(b, u, n)
	pad := align(len(u.Payload)) - len(u.Payload)
	clear(b[offUserPayload : offUserPayload+pad])
	descs := offUserPayload + pad
	for i := range u.Ports {
		putDescriptor(b[descs+i*DescriptorSize:], &u.Ports[i])
	}
	return dst
}

// putUserFixed writes the header and fixed fields of u's frame, n bytes
// long, into b.
func putUserFixed(b []byte, u *User, n int) {
	putHeader(b, TypeUser, n, len(u.Ports), u.NumHandles)
	copy(b[offUserTarget:], u.Target[:])
	binary.LittleEndian.PutUint64(b[offUserSeq:], u.Seq)
	binary.LittleEndian.PutUint32(b[offUserInterface:], u.Interface)
	binary.LittleEndian.PutUint32(b[offUserMethod:], u.Method)
	binary.LittleEndian.PutUint32(b[offUserFlags:], u.Flags)
	binary.LittleEndian.PutUint32(b[offUserPayloadLen:], uint32(len(u.Payload)))
	binary.LittleEndian.PutUint64(b[offUserRequestID:], u.RequestID)
	copy(b[offUserSender:], u.Sender[:])
}

// Validate reports whether c can be encoded.
func (c *Closure) Validate() error {
	switch {
	case c.Target.IsZero():
		return fmt.Errorf("wire: cannot encode closure frame: zero target port: %w", ErrBadName)
	case c.Sender.IsZero():
		return fmt.Errorf("wire: cannot encode closure frame: zero sender port: %w", ErrBadName)
	}
	return nil
}

// AppendClosure appends a Closure frame.
func AppendClosure(dst []byte, c *Closure) []byte {
	mustValid(c.Validate())
	dst, b := grow(dst, closureSize)
	putHeader(b, TypeClosure, closureSize, 0, 0)
	copy(b[offClosureTarget:], c.Target[:])
	binary.LittleEndian.PutUint64(b[offClosureLastSeq:], c.LastSeq)
	var flags uint32
	if c.Lost {
		flags |= closureFlagLost
	}
	binary.LittleEndian.PutUint32(b[offClosureFlags:], flags)
	binary.LittleEndian.PutUint32(b[offClosureReserved:], 0)
	copy(b[offClosureSender:], c.Sender[:])
	return dst
}

// Validate reports whether r can be encoded.
func (r *RequestIntroduction) Validate() error {
	if r.Node.IsZero() {
		return fmt.Errorf("wire: cannot encode request-introduction frame: zero node name: %w", ErrBadName)
	}
	return nil
}

// AppendRequestIntroduction appends a RequestIntroduction frame.
func AppendRequestIntroduction(dst []byte, r *RequestIntroduction) []byte {
	mustValid(r.Validate())
	dst, b := grow(dst, requestIntroductionSize)
	putHeader(b, TypeRequestIntroduction, requestIntroductionSize, 0, 0)
	copy(b[offRequestIntroductionNode:], r.Node[:])
	return dst
}

// Validate reports whether in can be encoded.
func (in *Introduce) Validate() error {
	if in.Node.IsZero() {
		return fmt.Errorf("wire: cannot encode introduce frame: zero node name: %w", ErrBadName)
	}
	return nil
}

// AppendIntroduce appends an Introduce frame. Its header declares one handle
// unless in.Unknown; the caller sends that handle with the frame.
func AppendIntroduce(dst []byte, in *Introduce) []byte {
	mustValid(in.Validate())
	dst, b := grow(dst, introduceSize)
	putHeader(b, TypeIntroduce, introduceSize, 0, in.NumHandles())
	copy(b[offIntroduceNode:], in.Node[:])
	var flags uint32
	if in.Unknown {
		flags |= introduceFlagUnknown
	}
	binary.LittleEndian.PutUint32(b[offIntroduceFlags:], flags)
	binary.LittleEndian.PutUint32(b[offIntroduceReserved:], 0)
	return dst
}

// Validate reports whether o can be encoded.
func (o *ObserveProxy) Validate() error {
	switch {
	case o.ProxyNode.IsZero() || o.ProxyPort.IsZero():
		return fmt.Errorf("wire: cannot encode observe-proxy frame: zero proxy address: %w", ErrBadName)
	case o.ProxyTargetNode.IsZero() || o.ProxyTargetPort.IsZero():
		return fmt.Errorf("wire: cannot encode observe-proxy frame: zero proxy target address: %w", ErrBadName)
	case o.Referrer.IsZero():
		return fmt.Errorf("wire: cannot encode observe-proxy frame: zero referrer port: %w", ErrBadName)
	}
	return nil
}

// AppendObserveProxy appends an ObserveProxy frame.
func AppendObserveProxy(dst []byte, o *ObserveProxy) []byte {
	mustValid(o.Validate())
	dst, b := grow(dst, observeProxySize)
	putHeader(b, TypeObserveProxy, observeProxySize, 0, 0)
	copy(b[offObserveProxyProxyNode:], o.ProxyNode[:])
	copy(b[offObserveProxyProxyPort:], o.ProxyPort[:])
	copy(b[offObserveProxyProxyTargetNode:], o.ProxyTargetNode[:])
	copy(b[offObserveProxyProxyTargetPort:], o.ProxyTargetPort[:])
	copy(b[offObserveProxyReferrer:], o.Referrer[:])
	return dst
}

// Validate reports whether a can be encoded.
func (a *ObserveProxyAck) Validate() error {
	switch {
	case a.Target.IsZero():
		return fmt.Errorf("wire: cannot encode observe-proxy-ack frame: zero target port: %w", ErrBadName)
	case a.Sender.IsZero():
		return fmt.Errorf("wire: cannot encode observe-proxy-ack frame: zero sender port: %w", ErrBadName)
	}
	return nil
}

// AppendObserveProxyAck appends an ObserveProxyAck frame.
func AppendObserveProxyAck(dst []byte, a *ObserveProxyAck) []byte {
	mustValid(a.Validate())
	dst, b := grow(dst, observeProxyAckSize)
	putHeader(b, TypeObserveProxyAck, observeProxyAckSize, 0, 0)
	copy(b[offObserveProxyAckTarget:], a.Target[:])
	binary.LittleEndian.PutUint64(b[offObserveProxyAckLastSeq:], a.LastSeq)
	copy(b[offObserveProxyAckSender:], a.Sender[:])
	return dst
}

// Validate reports whether m can be encoded.
func (m *PeerMoved) Validate() error {
	switch {
	case m.Target.IsZero():
		return fmt.Errorf("wire: cannot encode peer-moved frame: zero target port: %w", ErrBadName)
	case m.NewNode.IsZero():
		return fmt.Errorf("wire: cannot encode peer-moved frame: zero new node: %w", ErrBadName)
	case m.NewPort.IsZero():
		return fmt.Errorf("wire: cannot encode peer-moved frame: zero new port: %w", ErrBadName)
	case m.Sender.IsZero():
		return fmt.Errorf("wire: cannot encode peer-moved frame: zero sender port: %w", ErrBadName)
	}
	return nil
}

// AppendPeerMoved appends a PeerMoved frame.
func AppendPeerMoved(dst []byte, m *PeerMoved) []byte {
	mustValid(m.Validate())
	dst, b := grow(dst, peerMovedSize)
	putHeader(b, TypePeerMoved, peerMovedSize, 0, 0)
	copy(b[offPeerMovedTarget:], m.Target[:])
	copy(b[offPeerMovedNewNode:], m.NewNode[:])
	binary.LittleEndian.PutUint32(b[offPeerMovedFlags:], 0)
	binary.LittleEndian.PutUint32(b[offPeerMovedReserved:], 0)
	copy(b[offPeerMovedSender:], m.Sender[:])
	copy(b[offPeerMovedNewPort:], m.NewPort[:])
	return dst
}

// Validate reports whether a can be encoded.
func (a *PortAccepted) Validate() error {
	if a.Target.IsZero() {
		return fmt.Errorf("wire: cannot encode port-accepted frame: zero target port: %w", ErrBadName)
	}
	return nil
}

// AppendPortAccepted appends a PortAccepted frame.
func AppendPortAccepted(dst []byte, a *PortAccepted) []byte {
	mustValid(a.Validate())
	dst, b := grow(dst, portAcceptedSize)
	putHeader(b, TypePortAccepted, portAcceptedSize, 0, 0)
	copy(b[offPortAcceptedTarget:], a.Target[:])
	clear(b[offPortAcceptedReserved:portAcceptedSize])
	return dst
}

// Validate reports whether r can be encoded.
func (r *CountersRequest) Validate() error {
	if r.ID == 0 {
		return fmt.Errorf("wire: cannot encode counters-request frame: zero id: %w", ErrBadValue)
	}
	return nil
}

// AppendCountersRequest appends a CountersRequest frame.
func AppendCountersRequest(dst []byte, r *CountersRequest) []byte {
	mustValid(r.Validate())
	dst, b := grow(dst, countersRequestSize)
	putHeader(b, TypeCountersRequest, countersRequestSize, 0, 0)
	binary.LittleEndian.PutUint64(b[offCountersRequestID:], r.ID)
	return dst
}

// AppendCounters appends a Counters frame.
func AppendCounters(dst []byte, c *Counters) []byte {
	dst, b := grow(dst, countersSize)
	putHeader(b, TypeCounters, countersSize, 0, 0)
	binary.LittleEndian.PutUint64(b[offCountersID:], c.ID)
	binary.LittleEndian.PutUint64(b[offCountersSent:], c.Sent)
	binary.LittleEndian.PutUint64(b[offCountersReceived:], c.Received)
	return dst
}

// AppendFrame appends the frame f describes: the field matching f.Type. The
// handle count comes from that field (User.NumHandles, Introduce.Unknown),
// not from f.NumHandles. It panics on an unknown type.
func AppendFrame(dst []byte, f *Frame) []byte {
	switch f.Type {
	case TypeHello:
		return AppendHello(dst, &f.Hello)
	case TypeAttach:
		return AppendAttach(dst, f.Attach)
	case TypeUser:
		return AppendUser(dst, &f.User)
	case TypeClosure:
		return AppendClosure(dst, &f.Closure)
	case TypeRequestIntroduction:
		return AppendRequestIntroduction(dst, &f.RequestIntroduction)
	case TypeIntroduce:
		return AppendIntroduce(dst, &f.Introduce)
	case TypeObserveProxy:
		return AppendObserveProxy(dst, &f.ObserveProxy)
	case TypeObserveProxyAck:
		return AppendObserveProxyAck(dst, &f.ObserveProxyAck)
	case TypePeerMoved:
		return AppendPeerMoved(dst, &f.PeerMoved)
	case TypePortAccepted:
		return AppendPortAccepted(dst, &f.PortAccepted)
	case TypeCountersRequest:
		return AppendCountersRequest(dst, &f.CountersRequest)
	case TypeCounters:
		return AppendCounters(dst, &f.Counters)
	}
	panic(fmt.Sprintf("wire: AppendFrame: unknown frame type %d", f.Type))
}
