package bindings

import (
	"fmt"

	"github.com/mage-ipc/mage/mage"
)

// Unbind stops the Remote and hands back its pipe end, with whatever is
// queued on it, to be bound again here or sent to another process, as
// Mojo's Remote::Unbind returns a PendingRemote. Calls waiting for a reply
// fail at once with ErrUnbound, and their implementations are told to
// cancel; Unbind then waits for their replies, so that none reaches the
// end's next owner, and returns the end. Calls made afterwards fail with
// ErrUnbound, and Close does nothing.
//
// Unbind fails with the Remote's error if it was already closed, unbound or
// disconnected, and with an error matching ErrDisconnected if the pipe
// closes while it waits (the end is closed then).
func (r *Remote) Unbind() (mage.MessagePipe, error) {
	if r == nil {
		return mage.MessagePipe{}, ErrNilRemote
	}
	r.mu.Lock()
	if r.err != nil {
		err := r.err
		r.mu.Unlock()
		return mage.MessagePipe{}, err
	}
	r.err = ErrUnbound
	r.bells.Hold(-1)
	pending := r.pending
	r.pending = nil
	if len(pending) == 0 {
		r.drained = true
		close(r.done)
	} else {
		r.owed = make(map[uint64]bool, len(pending))
		for id := range pending {
			r.owed[id] = true
		}
	}
	r.mu.Unlock()
	for id, pc := range pending {
		pc.complete(callResult{err: ErrUnbound})
		r.sendCancel(id)
	}
	// The reader takes the owed replies off the pipe, then done closes;
	// once no reader runs, nothing of this Remote touches the pipe again.
	<-r.done
	r.waitReaderIdle()
	r.mu.Lock()
	drained := r.drained
	r.mu.Unlock()
	if !drained {
		return mage.MessagePipe{}, fmt.Errorf("%w: %s: the pipe closed while Unbind waited for the replies of %d calls",
			ErrDisconnected, r.desc.Name, len(pending))
	}
	// The end is the caller's again, free to be sent away.
	r.pipe.SetBound(false)
	return r.pipe, nil
}
