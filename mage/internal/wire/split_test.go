package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// splitFrame cuts a User frame into what a reader of large frames holds:
// the frame without its payload, and the payload, whose length it takes
// from the frame's own field.
func splitFrame(b []byte) (rest, payload []byte, ok bool) {
	if len(b) < UserPayloadOffset {
		return nil, nil, false
	}
	plen := int(binary.LittleEndian.Uint32(b[offUserPayloadLen:]))
	if plen > len(b)-UserPayloadOffset {
		return nil, nil, false
	}
	rest = append(append([]byte(nil), b[:UserPayloadOffset]...), b[UserPayloadOffset+plen:]...)
	return rest, append([]byte(nil), b[UserPayloadOffset:UserPayloadOffset+plen]...), true
}

func TestDecodeUserWithoutPayload(t *testing.T) {
	for _, size := range []int{0, 1, 7, 8, 13, 4096, 70000} {
		for _, ports := range [][]PortDescriptor{nil, {desc(1), desc(9)}} {
			payload := bytes.Repeat([]byte{0xa5}, size)
			u := User{Target: port(3), Sender: port(2), Seq: 4, Interface: 5, Method: 6, Flags: 7, RequestID: 8, Payload: payload, Ports: ports, NumHandles: 2}
			rest := AppendUserWithoutPayload(nil, &u)
			n, err := UserPayloadLen(rest[:UserPayloadOffset])
			if err != nil || n != size {
				t.Fatalf("%d bytes, %d ports: UserPayloadLen = %d, %v", size, len(ports), n, err)
			}
			own := append([]byte(nil), payload...)
			var got User
			if err := DecodeUserWithoutPayload(rest, own, &got); err != nil {
				t.Fatalf("%d bytes, %d ports: %v", size, len(ports), err)
			}
			want := Frame{Type: TypeUser, NumPorts: len(ports), NumHandles: 2, User: u}
			if !sameBody(&Frame{Type: TypeUser, NumPorts: len(got.Ports), NumHandles: got.NumHandles, User: got}, &want) {
				t.Fatalf("%d bytes, %d ports: decoded %+v, want %+v", size, len(ports), got, u)
			}
			if size > 0 && &got.Payload[0] != &own[0] {
				t.Fatalf("%d bytes: the payload was copied, not handed over", size)
			}
			if size == 0 && got.Payload != nil {
				t.Fatalf("empty payload decoded as %v, want nil", got.Payload)
			}
			// The rest is not aliased: changing it changes nothing decoded.
			clear(rest)
			if !sameBody(&Frame{Type: TypeUser, NumPorts: len(got.Ports), NumHandles: got.NumHandles, User: got}, &want) {
				t.Fatalf("%d bytes, %d ports: the decoded frame aliases the bytes around the payload", size, len(ports))
			}
		}
	}
}

func TestDecodeUserWithoutPayloadRefuses(t *testing.T) {
	u := User{Target: port(3), Sender: port(2), Payload: bytes.Repeat([]byte{1}, 20), Ports: []PortDescriptor{desc(1)}}
	rest := AppendUserWithoutPayload(nil, &u)
	closure := AppendClosure(nil, &Closure{Target: port(1), Sender: port(2), LastSeq: 2})
	padded := append([]byte(nil), rest...)
	padded[UserPayloadOffset+1] = 9 // the payload's padding (20 pads to 24)
	for _, tc := range []struct {
		name    string
		rest    []byte
		payload []byte
		want    error
	}{
		{"payload one byte short", rest, u.Payload[:19], ErrTruncated},
		{"payload one byte long", rest, append(append([]byte(nil), u.Payload...), 0), ErrBadLength},
		{"payload of another length in the same frame length", rest[:len(rest)-8], append(append([]byte(nil), u.Payload...), make([]byte, 8)...), ErrBadLength},
		{"fixed part cut short", rest[:UserPayloadOffset-8], make([]byte, len(rest)+len(u.Payload)-(UserPayloadOffset-8)), ErrTruncated},
		{"not a user frame", closure, nil, ErrUnknownType},
		{"non-zero padding", padded, u.Payload, ErrReserved},
		{"no header", rest[:4], nil, ErrTruncated},
	} {
		var got User
		err := DecodeUserWithoutPayload(tc.rest, tc.payload, &got)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
		var de *DecodeError
		if err != nil && !errors.As(err, &de) {
			t.Errorf("%s: %T is not a *DecodeError", tc.name, err)
		}
	}
}

func TestUserPayloadLenRefuses(t *testing.T) {
	u := User{Target: port(3), Sender: port(2), Payload: make([]byte, 100)}
	frame := AppendUser(nil, &u)
	over := append([]byte(nil), frame[:UserPayloadOffset]...)
	binary.LittleEndian.PutUint32(over[offUserPayloadLen:], 1<<31)
	badPad := append([]byte(nil), frame[:UserPayloadOffset]...)
	binary.LittleEndian.PutUint32(badPad[offUserPayloadLen:], 90) // pads to 96, frame leaves 104
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"payload longer than the frame", over, ErrBadLength},
		{"payload that pads to another length", badPad, ErrBadLength},
		{"only the header", frame[:HeaderSize], ErrTruncated},
		{"not a user frame", AppendClosure(nil, &Closure{Target: port(1), Sender: port(2)}), ErrUnknownType},
	} {
		if n, err := UserPayloadLen(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: UserPayloadLen = %d, %v; want %v", tc.name, n, err, tc.want)
		}
	}
}

// FuzzDecodeUserWithoutPayload checks that decoding a User frame in two
// parts accepts exactly what Decode accepts, with the same result.
func FuzzDecodeUserWithoutPayload(f *testing.F) {
	frames := sampleFrames()
	for i := range frames {
		if b := AppendFrame(nil, &frames[i]); len(b) <= 1024 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var whole Frame
		werr := Decode(b, &whole)
		n, nerr := UserPayloadLen(b)
		if nerr != nil {
			if werr == nil && whole.Type == TypeUser {
				t.Fatalf("UserPayloadLen refused a frame Decode accepted: %v", nerr)
			}
			return
		}
		rest, payload, ok := splitFrame(b)
		if !ok {
			if werr == nil {
				t.Fatalf("UserPayloadLen %d does not fit a frame Decode accepted", n)
			}
			return
		}
		if n != len(payload) {
			t.Fatalf("UserPayloadLen = %d, the frame's field says %d", n, len(payload))
		}
		var split User
		serr := DecodeUserWithoutPayload(rest, payload, &split)
		switch {
		case werr == nil && serr != nil:
			t.Fatalf("Decode accepted what DecodeUserWithoutPayload refused: %v", serr)
		case werr != nil && serr == nil:
			t.Fatalf("DecodeUserWithoutPayload accepted what Decode refused: %v", werr)
		case werr == nil:
			got := Frame{Type: TypeUser, NumPorts: len(split.Ports), NumHandles: split.NumHandles, User: split}
			if !sameBody(&got, &whole) {
				t.Fatalf("decoded in two parts as %+v, whole as %+v", split, whole.User)
			}
		}
	})
}
