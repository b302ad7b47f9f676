package wire

import (
	"encoding/binary"
	"fmt"
)

// PortDescriptor is a port on the move: everything the receiving node needs
// to create the port that takes over from the sent one.
type PortDescriptor struct {
	// Name is the name of the new port on the receiving node; never zero.
	Name PortName
	// PeerNode and PeerPort address the port's peer. Both are zero or
	// both are non-zero; both zero is allowed only when PeerClosed.
	PeerNode NodeName
	PeerPort PortName
	// NextSendSeq is the sequence number of the next message the port
	// sends; NextRecvSeq the next it expects to receive.
	NextSendSeq uint64
	NextRecvSeq uint64
	// PeerLastSeq is the last sequence number the peer sent before it
	// closed. Meaningful only when PeerClosed.
	PeerLastSeq uint64
	// PeerClosed is set when the peer has already closed.
	PeerClosed bool
	// PeerLost is set when that closure was a loss: the peer's node, or
	// one on the way, died. Only with PeerClosed.
	PeerLost bool
	// Proxy is the port the sending node leaves behind, which forwards to
	// the new port (a stint of it, see PeerMoved). Never zero.
	Proxy PortName
}

// validate reports what is wrong with d as a field name and a reason (for
// Decode) and the matching sentinel; sentinel is nil when d is fine. Shared
// by both directions so encode and decode agree on what is valid.
func (d *PortDescriptor) validate() (field string, reason string, sentinel error) {
	if d.Name.IsZero() {
		return "port name", "zero port name", ErrBadName
	}
	if d.PeerNode.IsZero() != d.PeerPort.IsZero() {
		return "peer node", "peer node and peer port must both be zero or both be set", ErrBadName
	}
	if d.PeerNode.IsZero() && !d.PeerClosed {
		return "peer node", "zero peer address on a port whose peer is open", ErrBadName
	}
	if d.Proxy.IsZero() {
		return "proxy", "zero proxy port name", ErrBadName
	}
	if d.PeerLost && !d.PeerClosed {
		return "port flags", "peer lost but not closed", ErrBadValue
	}
	return "", "", nil
}

func validateDescriptors(t FrameType, ds []PortDescriptor) error {
	for i := range ds {
		if field, reason, sentinel := ds[i].validate(); sentinel != nil {
			return fmt.Errorf("wire: cannot encode %s frame: port %d: %s %s: %w", t, i, field, reason, sentinel)
		}
	}
	return nil
}

// putDescriptor writes d into b[:DescriptorSize].
func putDescriptor(b []byte, d *PortDescriptor) {
	copy(b[offDescName:], d.Name[:])
	copy(b[offDescPeerNode:], d.PeerNode[:])
	copy(b[offDescPeerPort:], d.PeerPort[:])
	binary.LittleEndian.PutUint64(b[offDescNextSendSeq:], d.NextSendSeq)
	binary.LittleEndian.PutUint64(b[offDescNextRecvSeq:], d.NextRecvSeq)
	binary.LittleEndian.PutUint64(b[offDescPeerLastSeq:], d.PeerLastSeq)
	var flags uint32
	if d.PeerClosed {
		flags |= descriptorFlagPeerClosed
	}
	if d.PeerLost {
		flags |= descriptorFlagPeerLost
	}
	binary.LittleEndian.PutUint32(b[offDescFlags:], flags)
	binary.LittleEndian.PutUint32(b[offDescReserved:], 0)
	copy(b[offDescProxy:], d.Proxy[:])
}

// decodeDescriptors appends the n descriptors at frame[off:] to dst. The
// caller has checked that they fit.
func decodeDescriptors(t FrameType, frame []byte, off, n int, dst []PortDescriptor) ([]PortDescriptor, error) {
	for i := range n {
		d, err := decodeDescriptor(t, frame, off+i*DescriptorSize, i)
		if err != nil {
			return dst, err
		}
		dst = append(dst, d)
	}
	return dst, nil
}

// decodeDescriptor decodes the descriptor at frame[base:]; i numbers it in
// error messages.
func decodeDescriptor(t FrameType, frame []byte, base, i int) (PortDescriptor, error) {
	b := frame[base : base+DescriptorSize]
	var d PortDescriptor
	copy(d.Name[:], b[offDescName:])
	copy(d.PeerNode[:], b[offDescPeerNode:])
	copy(d.PeerPort[:], b[offDescPeerPort:])
	d.NextSendSeq = binary.LittleEndian.Uint64(b[offDescNextSendSeq:])
	d.NextRecvSeq = binary.LittleEndian.Uint64(b[offDescNextRecvSeq:])
	d.PeerLastSeq = binary.LittleEndian.Uint64(b[offDescPeerLastSeq:])
	copy(d.Proxy[:], b[offDescProxy:])
	flags := binary.LittleEndian.Uint32(b[offDescFlags:])
	const known = descriptorFlagPeerClosed | descriptorFlagPeerLost
	if flags&^known != 0 {
		return d, decodeErr(t, ErrReserved, "port flags", base+offDescFlags,
			"port "+itoa(i)+" has undefined flag bits 0x"+hex32(flags&^known))
	}
	d.PeerClosed = flags&descriptorFlagPeerClosed != 0
	d.PeerLost = flags&descriptorFlagPeerLost != 0
	if r := binary.LittleEndian.Uint32(b[offDescReserved:]); r != 0 {
		return d, decodeErr(t, ErrReserved, "port reserved", base+offDescReserved,
			"port "+itoa(i)+" reserved field is "+itoa(int(r)))
	}
	if field, reason, sentinel := d.validate(); sentinel != nil {
		fieldOff := offDescName
		switch field {
		case "port name":
		case "port flags":
			fieldOff = offDescFlags
		case "proxy":
			fieldOff = offDescProxy
		default:
			fieldOff = offDescPeerNode
		}
		return d, decodeErr(t, sentinel, field, base+fieldOff, "port "+itoa(i)+": "+reason)
	}
	return d, nil
}

func hex32(v uint32) string {
	return hex16(uint16(v>>16)) + hex16(uint16(v))
}
