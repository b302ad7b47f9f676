package control

import (
	"errors"
	"sync"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/tree"
)

// maxEventSinks is how many clients may follow the events at once.
const maxEventSinks = 16

// ErrTooManySinks refuses an Events client over the bound.
var ErrTooManySinks = errors.New("control: too many clients follow the events already")

// Hub hands the tree's events to the clients of Control.Events. Observe
// is the tree's observer; the other methods are called by control
// clients' goroutines.
type Hub struct {
	// mu guards the fields below.
	mu     sync.Mutex
	sinks  []*EventSinkRemote
	closed bool
}

// Observe sends ev to every sink, dropping those that fail (gone, or too
// far behind: the pipe's queue is bounded). It never blocks.
func (h *Hub) Observe(ev tree.Event) {
	state := ev.State.String()
	switch {
	case ev.State == tree.StateEnded:
		state = ev.Outcome.String()
	case ev.State == tree.StateRunning && ev.Ready:
		state = "ready"
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	kept := h.sinks[:0]
	for _, s := range h.sinks {
		if err := s.Event(ev.Time.UnixMilli(), ev.Instance, state, int32(ev.Pid), int32(ev.Restarts), ev.Detail); err != nil {
			_ = s.Close()
			continue
		}
		kept = append(kept, s)
	}
	h.sinks = kept
}

// add registers sink.
func (h *Hub) add(sink *EventSinkRemote) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		_ = sink.Close()
		return ErrNoTree
	case len(h.sinks) >= maxEventSinks:
		_ = sink.Close()
		return ErrTooManySinks
	}
	h.sinks = append(h.sinks, sink)
	return nil
}

// Close ends every sink, after the events already sent: the tree has
// ended.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, s := range h.sinks {
		_ = s.Close()
	}
	h.sinks = nil
}
