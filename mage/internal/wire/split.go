package wire

// A reader of a large User frame reads its payload apart from the rest of
// the frame, straight into a buffer of exactly the payload's size, which
// then becomes the payload without a copy. UserPayloadLen tells it that
// size from the frame's fixed part; DecodeUserWithoutPayload decodes the
// rest of the frame, read elsewhere, together with that payload. They are
// the reading half of AppendUserWithoutPayload.

// UserPayloadLen returns the payload length a User frame declares. b holds
// the start of the frame, at least its first UserPayloadOffset bytes. The
// length is checked as Decode checks it, against the frame length and port
// count of the header (which ParseHeader checks), so a reader that
// allocates this many bytes allocates no more than the frame it has
// accepted.
func UserPayloadLen(b []byte) (int, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return 0, err
	}
	if h.Type != TypeUser {
		return 0, decodeErr(h.Type, ErrUnknownType, "type", offType, "a "+h.Type.String()+" frame is not a user frame")
	}
	if len(b) < UserPayloadOffset {
		return 0, decodeErr(TypeUser, ErrTruncated, "length", offLength,
			"have "+itoa(len(b))+" bytes of the frame, need the "+itoa(UserPayloadOffset)+" before the payload")
	}
	plen, _, err := userLengths(b, h)
	return plen, err
}

// DecodeUserWithoutPayload decodes a User frame whose payload was read
// apart from the rest: b holds the frame with its payload left out (its
// first UserPayloadOffset bytes, then the payload's padding and the port
// descriptors, exactly as AppendUserWithoutPayload writes them), and
// payload the bytes that came at UserPayloadOffset on the wire. It checks
// everything Decode checks, and that the payload has the declared length;
// offsets in its errors count within b. u.Payload is payload itself (nil
// when empty), u.Ports is reused as Decode reuses it, and nothing aliases b.
//
// DecodeUserWithoutPayload never panics.
func DecodeUserWithoutPayload(b, payload []byte, u *User) error {
	const t = TypeUser
	h, err := ParseHeader(b)
	if err != nil {
		return err
	}
	if h.Type != t {
		return decodeErr(h.Type, ErrUnknownType, "type", offType, "a "+h.Type.String()+" frame is not a user frame")
	}
	switch n := len(b) + len(payload); {
	case n < h.Length:
		return decodeErr(t, ErrTruncated, "length", offLength,
			"frame length "+itoa(h.Length)+" but only "+itoa(n)+" bytes")
	case n > h.Length:
		return decodeErr(t, ErrBadLength, "length", offLength,
			"frame length "+itoa(h.Length)+" but "+itoa(n)+" bytes given")
	}
	// ParseHeader checked that h.Length is at least the fixed part, and
	// b with payload is h.Length long; b itself may still be shorter.
	if len(b) < UserPayloadOffset {
		return decodeErr(t, ErrTruncated, "length", offLength,
			"have "+itoa(len(b))+" bytes of the frame around a payload of "+itoa(len(payload))+
				", need the "+itoa(UserPayloadOffset)+" before it")
	}
	if err := decodeUserFixed(b, h, u); err != nil {
		return err
	}
	plen, left, err := userLengths(b, h)
	if err != nil {
		return err
	}
	if plen != len(payload) {
		return decodeErr(t, ErrBadLength, "payload length", offUserPayloadLen,
			"payload length "+itoa(plen)+" but "+itoa(len(payload))+" payload bytes given")
	}
	descs := offUserPayload + left - plen
	if err := checkZero(t, b, offUserPayload, descs, "padding"); err != nil {
		return err
	}
	u.Payload = nil
	if plen > 0 {
		u.Payload = payload
	}
	u.Ports, err = decodeDescriptors(t, b, descs, h.NumPorts, u.Ports[:0])
	return err
}
