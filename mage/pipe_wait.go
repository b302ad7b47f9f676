package mage

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"

	"github.com/mage-ipc/mage/mage/internal/wake"
)

// readerBells lends WaitMessage its bells: the process's wake.Waiters,
// held by every open Node (a test hands over one of its own while a
// goroutine of an earlier test may still wait: hence the atomic).
var readerBells atomic.Pointer[wake.Pool]

func init() { readerBells.Store(&wake.Waiters) }

// WaitMessage returns the next message, in order, waiting for one until
// ctx ends (then it returns ctx.Err()). It returns what ReadMessage
// returns but ErrNoMessage: an error matching ErrPeerClosed once the peer
// is gone and every message it sent before going has been read,
// ErrPipeClosed once the end is closed (by this goroutine or another, or
// with its node), ErrPipeMoved once it has been sent away. Any number of
// goroutines may wait on one end; each message goes to one of them.
//
// It waits through the runtime's poller, on a descriptor lent by a small
// process-wide pool (an eventfd on Linux), not on a channel like Ready: a
// reader woken that way runs on the thread that delivered the message once
// that thread has nothing else to do, where one woken through a channel
// makes the runtime wake a second thread, which on a machine of few CPUs
// is most of a small message's latency between two processes (see
// docs/performance.md). When the pool has none to lend, it waits on a
// channel of its own.
func (p MessagePipe) WaitMessage(ctx context.Context) (*Message, error) {
	for {
		m, err := p.ReadMessage()
		if !errors.Is(err, ErrNoMessage) {
			return m, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p.waitReadable(ctx)
	}
}

// waitingReader is a goroutine in WaitMessage: woken by its bell, or by
// its channel when it has none.
type waitingReader struct {
	bell *wake.Bell
	ch   chan struct{}
}

// waitReadable waits until ReadMessage may have something new, or ctx
// ends; it may return early (a bell's ring without cause), and the caller
// checks both again.
func (p MessagePipe) waitReadable(ctx context.Context) {
	bells := readerBells.Load()
	w := waitingReader{bell: bells.Get()}
	if w.bell != nil {
		defer bells.Put(w.bell)
		w.bell.WatchContext(ctx)
	} else {
		w.ch = make(chan struct{}, 1)
	}
	n := p.e.node
	n.mu.Lock()
	if p.e.readyNowLocked() {
		n.unlock()
		return
	}
	if n.readers == nil {
		n.readers = make(map[*endpoint][]waitingReader)
	}
	readers, ok := n.readers[p.e]
	if !ok {
		readers = n.spareReaderListLocked()
	}
	n.readers[p.e] = append(readers, w)
	n.unlock()
	if w.bell != nil {
		// Only closing makes a bell fail, and none in use is closed; the
		// caller reads again either way.
		_ = w.bell.Wait()
	} else {
		select {
		case <-w.ch:
		case <-ctx.Done():
		}
	}
	n.mu.Lock()
	n.removeReaderLocked(p.e, w)
	n.unlock()
}

// removeReaderLocked takes w off e's waiting readers.
func (n *Node) removeReaderLocked(e *endpoint, w waitingReader) {
	readers := n.readers[e]
	if i := slices.Index(readers, w); i >= 0 {
		readers = slices.Delete(readers, i, i+1)
	}
	if len(readers) == 0 {
		delete(n.readers, e)
		if len(n.spareReaders) < maxSpareReaderLists {
			n.spareReaders = append(n.spareReaders, readers)
		}
		return
	}
	n.readers[e] = readers
}

// maxSpareReaderLists bounds the empty lists of waiting readers a node
// keeps for the next end that is waited on, so that a reader that waits
// message after message allocates none.
const maxSpareReaderLists = 16

// spareReaderListLocked returns an empty list of waiting readers, kept
// from an end that no one waits on any more, or nil.
func (n *Node) spareReaderListLocked() []waitingReader {
	k := len(n.spareReaders)
	if k == 0 {
		return nil
	}
	list := n.spareReaders[k-1]
	n.spareReaders[k-1] = nil
	n.spareReaders = n.spareReaders[:k-1]
	return list
}

// wakeReadersLocked wakes every goroutine waiting in WaitMessage on e.
// Bells are rung once n.mu is released (a ring is a write, a system call,
// so not under the lock; see unlock). Readers stay listed until each has
// woken and taken itself off, so a change while one is on its way wakes
// it again, which costs a ring, not a lost wake-up; and every reader is
// woken, not one, since a change that leaves the end readable (a message
// taken, the next one queued) is not signalled again.
func (n *Node) wakeReadersLocked(e *endpoint) {
	for _, r := range n.readers[e] {
		if r.bell != nil {
			n.runAfterUnlockLocked(r.bell.RingFunc())
			continue
		}
		select {
		case r.ch <- struct{}{}:
		default:
		}
	}
}
