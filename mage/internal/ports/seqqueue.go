package ports

import (
	"iter"
	"slices"
)

// seqQueue holds a port's messages by sequence number until they are
// released in order.
//
// Messages almost always arrive in order, so the queue keeps a run of
// consecutive sequence numbers in a ring (appending to it and taking from
// its front index nothing), and only the early arrivals that do not extend
// the run in a map. A map for every message cost about a sixth of a
// receiving process's CPU at 16 B one-way (hashing and probing per message,
// three times). Memory stays proportional to what is queued, not to how
// far ahead a sender numbers: a peer that sends one message at the far end
// of the reordering window adds one map entry, not a window-sized ring.
//
// A port holds its queue by pointer, made with the first message, so that
// a port that never received one (half of every idle pipe) costs a word.
// The methods that only look work on a nil queue.
type seqQueue struct {
	ring  []queuedMessage // len is zero or a power of two
	head  int             // index in ring of the run's first message
	count int             // messages in the run
	first uint64          // sequence number of the run's first message
	early map[uint64]queuedMessage
}

// minRing is the ring's first size. The ring is kept at its largest, as a
// map keeps its buckets, so that a port whose reader falls behind and
// catches up again and again allocates nothing per message: giving a
// burst's ring back when the queue emptied cost the one-way receiver 7% of
// its CPU in regrowing it. A run is consecutive queued messages, so the
// ring is at most as large as the most messages once queued at the port
// (itself bounded by the reordering window).
const minRing = 4

func (q *seqQueue) len() int {
	if q == nil {
		return 0
	}
	return q.count + len(q.early)
}

// inRun reports whether seq lies in the run.
func (q *seqQueue) inRun(seq uint64) bool {
	return q.count > 0 && seq >= q.first && seq-q.first < uint64(q.count)
}

func (q *seqQueue) at(i int) *queuedMessage {
	return &q.ring[(q.head+i)&(len(q.ring)-1)]
}

// has reports whether message seq is queued.
func (q *seqQueue) has(seq uint64) bool {
	if q == nil {
		return false
	}
	if q.inRun(seq) {
		return true
	}
	_, ok := q.early[seq]
	return ok
}

// get returns message seq without removing it.
func (q *seqQueue) get(seq uint64) (queuedMessage, bool) {
	if q == nil {
		return queuedMessage{}, false
	}
	if q.inRun(seq) {
		return *q.at(int(seq - q.first)), true
	}
	m, ok := q.early[seq]
	return m, ok
}

// put stores m, whose sequence number the caller has checked is not
// queued.
func (q *seqQueue) put(m queuedMessage) {
	switch {
	case q.count == 0:
		q.grow()
		q.head, q.first = 0, m.seq
		q.ring[0] = m
		q.count = 1
	case m.seq == q.first+uint64(q.count):
		q.grow()
		*q.at(q.count) = m
		q.count++
	case m.seq+1 == q.first:
		q.grow()
		q.head = (q.head - 1) & (len(q.ring) - 1)
		q.ring[q.head] = m
		q.first, q.count = m.seq, q.count+1
	default:
		if q.early == nil {
			q.early = map[uint64]queuedMessage{}
		}
		q.early[m.seq] = m
		return
	}
	// The run grew: early arrivals it now reaches join it.
	for len(q.early) > 0 {
		next := q.first + uint64(q.count)
		em, ok := q.early[next]
		if !ok {
			break
		}
		delete(q.early, next)
		q.grow()
		*q.at(q.count) = em
		q.count++
	}
}

// grow makes room in the ring for one more message.
func (q *seqQueue) grow() {
	if q.count < len(q.ring) {
		return
	}
	ring := make([]queuedMessage, max(minRing, 2*len(q.ring)))
	for i := range q.count {
		ring[i] = *q.at(i)
	}
	q.ring, q.head = ring, 0
}

// take removes and returns message seq.
func (q *seqQueue) take(seq uint64) (queuedMessage, bool) {
	if q == nil {
		return queuedMessage{}, false
	}
	if q.count > 0 && seq == q.first {
		slot := q.at(0)
		m := *slot
		*slot = queuedMessage{} // let the body and ports go
		q.head = (q.head + 1) & (len(q.ring) - 1)
		q.first++
		q.count--
		return m, true
	}
	if q.inRun(seq) {
		// Only the front is ever taken; keep the run consecutive anyway
		// by moving the rest of it to the map.
		m := *q.at(int(seq - q.first))
		q.splitAt(seq)
		delete(q.early, seq)
		return m, true
	}
	m, ok := q.early[seq]
	if ok {
		delete(q.early, seq)
	}
	return m, ok
}

// splitAt moves every message of the run from seq on into the map.
func (q *seqQueue) splitAt(seq uint64) {
	keep := int(seq - q.first)
	if q.early == nil {
		q.early = map[uint64]queuedMessage{}
	}
	for i := keep; i < q.count; i++ {
		slot := q.at(i)
		q.early[slot.seq] = *slot
		*slot = queuedMessage{}
	}
	q.count = keep
}

// takeAbove removes and returns, in sequence order, the messages after
// seq.
func (q *seqQueue) takeAbove(seq uint64) []queuedMessage {
	var out []queuedMessage
	if q == nil {
		return nil
	}
	if q.count > 0 && q.first+uint64(q.count)-1 > seq {
		from := q.first
		if seq >= from {
			from = seq + 1
		}
		for i := int(from - q.first); i < q.count; i++ {
			slot := q.at(i)
			out = append(out, *slot)
			*slot = queuedMessage{}
		}
		q.count = int(from - q.first)
	}
	for s, m := range q.early {
		if s > seq {
			out = append(out, m)
			delete(q.early, s)
		}
	}
	slices.SortFunc(out, func(a, b queuedMessage) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	return out
}

// all yields every queued message, in no particular order.
func (q *seqQueue) all() iter.Seq[queuedMessage] {
	return func(yield func(queuedMessage) bool) {
		if q == nil {
			return
		}
		for i := range q.count {
			if !yield(*q.at(i)) {
				return
			}
		}
		for _, m := range q.early {
			if !yield(m) {
				return
			}
		}
	}
}
