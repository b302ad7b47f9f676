package bindings

import "context"

// QueryVersion asks the implementation for its version of the interface,
// as Mojo's Remote::QueryVersion: the reply says which methods and values
// ([MinVersion=N]) it knows. The Remote remembers the answer (Version).
// A peer built before versioning existed rejects the query as a bad
// message, and the call fails with ErrDisconnected.
func (r *Remote) QueryVersion(ctx context.Context) (uint32, error) {
	if r == nil {
		return 0, ErrNilRemote
	}
	d := new(Decoder)
	if err := r.Call(ctx, ordinalQueryVersion, NewEncoder(0), d); err != nil {
		return 0, err
	}
	v := uint32(d.ReadInt32())
	if err := d.Finish(); err != nil {
		return 0, err
	}
	r.mu.Lock()
	r.peerVersion = v
	r.mu.Unlock()
	return v, nil
}

// RequireVersion makes the pipe close if the implementation's version of
// the interface is older than v, as Mojo's Remote::RequireVersion: it
// sends the requirement and returns without waiting. A peer too old closes
// the pipe, and calls fail with ErrDisconnected from then on; one new
// enough goes on as before. The Remote takes v as the peer's version. A v
// the Remote already knows the peer to have sends nothing.
func (r *Remote) RequireVersion(v uint32) error {
	if r == nil {
		return ErrNilRemote
	}
	r.mu.Lock()
	if v <= r.peerVersion {
		r.mu.Unlock()
		return nil
	}
	r.peerVersion = v
	r.mu.Unlock()
	e := NewEncoder(4)
	e.WriteInt32(int32(v))
	return r.Send(ordinalRequireVersion, e)
}

// Version is the implementation's version of the interface as far as the
// Remote knows it: 0 until QueryVersion or RequireVersion says more.
func (r *Remote) Version() uint32 {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peerVersion
}
