package wire

import "encoding/binary"

// Header is the decoded common header of a frame.
type Header struct {
	// Type is the frame type.
	Type FrameType
	// Length is the length of the whole frame, header included.
	Length int
	// NumPorts is the number of port descriptors in the frame.
	NumPorts int
	// NumHandles is the number of OS handles that belong to the frame.
	// They travel outside the bytes (SCM_RIGHTS on Unix sockets).
	NumHandles int
}

// frameShape is what a frame type allows in the header: its length bounds
// (maxLen zero means MaxFrameSize) and its port and handle counts.
type frameShape struct {
	minLen, maxLen         int
	minPorts, maxPorts     int
	minHandles, maxHandles int
}

var shapes = [typeLimit]frameShape{
	TypeHello:               {minLen: align(helloFixedSize), maxLen: align(helloFixedSize + MaxTokenSize)},
	TypeAttach:              {minLen: align(attachFixedSize), maxPorts: MaxPorts},
	TypeUser:                {minLen: userFixedSize, maxPorts: MaxPorts, maxHandles: MaxHandles},
	TypeClosure:             {minLen: closureSize, maxLen: closureSize},
	TypeRequestIntroduction: {minLen: requestIntroductionSize, maxLen: requestIntroductionSize},
	TypeIntroduce:           {minLen: introduceSize, maxLen: introduceSize, maxHandles: 1},
	TypeObserveProxy:        {minLen: observeProxySize, maxLen: observeProxySize},
	TypeObserveProxyAck:     {minLen: observeProxyAckSize, maxLen: observeProxyAckSize},
	TypePeerMoved:           {minLen: peerMovedSize, maxLen: peerMovedSize},
	TypePortAccepted:        {minLen: portAcceptedSize, maxLen: portAcceptedSize},
	TypeCountersRequest:     {minLen: countersRequestSize, maxLen: countersRequestSize},
	TypeCounters:            {minLen: countersSize, maxLen: countersSize},
}

// ParseHeader decodes and checks the common header at the start of b. b may
// be longer than the header (it usually holds the start of the frame); it
// need not hold the whole frame. ParseHeader checks the magic, the version,
// the type, the length (bounds, alignment, and the fixed size of types that
// have one), the port and handle counts against MaxPorts, MaxHandles and
// what the type allows, and that the reserved field is zero. A reader can
// therefore refuse a bad frame before waiting for its body.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, decodeErr(0, ErrTruncated, "header", 0,
			"have "+itoa(len(b))+" bytes, need "+itoa(HeaderSize))
	}
	if m := binary.LittleEndian.Uint16(b[offMagic:]); m != Magic {
		return Header{}, decodeErr(0, ErrBadMagic, "magic", offMagic,
			"magic 0x"+hex16(m)+", want 0x"+hex16(Magic))
	}
	if v := b[offVersion]; v != Version {
		return Header{}, &VersionError{Peer: uint16(v), Local: Version}
	}
	t := FrameType(b[offType])
	if !t.Valid() {
		return Header{}, decodeErr(0, ErrUnknownType, "type", offType, "unknown frame type "+itoa(int(t)))
	}
	h := Header{
		Type:       t,
		Length:     int(binary.LittleEndian.Uint32(b[offLength:])),
		NumPorts:   int(binary.LittleEndian.Uint16(b[offNumPorts:])),
		NumHandles: int(binary.LittleEndian.Uint16(b[offNumHandles:])),
	}
	if r := binary.LittleEndian.Uint32(b[offReserved:]); r != 0 {
		return Header{}, decodeErr(t, ErrReserved, "reserved", offReserved, "reserved header field is "+itoa(int(r)))
	}
	if err := h.check(); err != nil {
		return Header{}, err
	}
	return h, nil
}

// check applies the limits and the frame type's shape to h.
func (h Header) check() error {
	s := shapes[h.Type]
	switch {
	case h.Length > MaxFrameSize:
		return decodeErr(h.Type, ErrTooLarge, "length", offLength,
			"frame length "+itoa(h.Length)+" exceeds maximum "+itoa(MaxFrameSize))
	case h.Length%Alignment != 0:
		return decodeErr(h.Type, ErrBadLength, "length", offLength,
			"frame length "+itoa(h.Length)+" is not a multiple of "+itoa(Alignment))
	case h.Length < s.minLen:
		return decodeErr(h.Type, ErrBadLength, "length", offLength,
			"frame length "+itoa(h.Length)+" is below the minimum "+itoa(s.minLen))
	case s.maxLen != 0 && h.Length > s.maxLen:
		return decodeErr(h.Type, ErrBadLength, "length", offLength,
			"frame length "+itoa(h.Length)+" exceeds the maximum "+itoa(s.maxLen))
	case h.NumPorts > MaxPorts:
		return decodeErr(h.Type, ErrTooManyPorts, "port count", offNumPorts,
			itoa(h.NumPorts)+" ports exceed the limit "+itoa(MaxPorts))
	case h.NumHandles > MaxHandles:
		return decodeErr(h.Type, ErrTooManyHandles, "handle count", offNumHandles,
			itoa(h.NumHandles)+" handles exceed the limit "+itoa(MaxHandles))
	case h.NumPorts < s.minPorts || h.NumPorts > s.maxPorts:
		return decodeErr(h.Type, ErrBadCount, "port count", offNumPorts,
			"header declares "+itoa(h.NumPorts)+" ports, "+h.Type.String()+" frames allow "+itoa(s.minPorts)+".."+itoa(s.maxPorts))
	case h.NumHandles < s.minHandles || h.NumHandles > s.maxHandles:
		return decodeErr(h.Type, ErrBadCount, "handle count", offNumHandles,
			"header declares "+itoa(h.NumHandles)+" handles, "+h.Type.String()+" frames allow "+itoa(s.minHandles)+".."+itoa(s.maxHandles))
	}
	return nil
}

// putHeader writes a header into b[:HeaderSize].
func putHeader(b []byte, t FrameType, length, ports, handles int) {
	binary.LittleEndian.PutUint16(b[offMagic:], Magic)
	b[offVersion] = Version
	b[offType] = byte(t)
	binary.LittleEndian.PutUint32(b[offLength:], uint32(length))
	binary.LittleEndian.PutUint16(b[offNumPorts:], uint16(ports))
	binary.LittleEndian.PutUint16(b[offNumHandles:], uint16(handles))
	binary.LittleEndian.PutUint32(b[offReserved:], 0)
}

func hex16(v uint16) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[v>>12], digits[v>>8&0xF], digits[v>>4&0xF], digits[v&0xF]})
}
