package ports

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSeqQueueMatchesMap drives a seqQueue and a plain map, the structure
// it replaced, through the same random operations a port makes (in-order
// and early arrivals, taking the next, giving back to the front, cutting
// above a sequence number) and checks they always hold the same messages.
func TestSeqQueueMatchesMap(t *testing.T) {
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 1))
		var q seqQueue
		model := map[uint64]queuedMessage{}
		next := uint64(1) // the port's nextRecv
		for step := range 400 {
			switch op := rng.IntN(10); {
			case op < 5: // arrival, mostly in order
				seq := next + uint64(len(model))
				if rng.IntN(4) == 0 {
					seq = next + uint64(rng.IntN(40))
				}
				if _, dup := model[seq]; dup {
					continue
				}
				m := queuedMessage{seq: seq, body: seq * 7}
				q.put(m)
				model[seq] = m
			case op < 8: // the port releases the next one
				got, ok := q.take(next)
				want, wantOK := model[next]
				if ok != wantOK || got.seq != want.seq || got.body != want.body {
					t.Fatalf("seed %d step %d: take(%d) = %v %v, want %v %v", seed, step, next, got, ok, want, wantOK)
				}
				if ok {
					delete(model, next)
					next++
				}
			case op < 9: // a reader gives the last one back
				if next > 1 {
					next--
					m := queuedMessage{seq: next, body: next * 7}
					q.put(m)
					model[next] = m
				}
			default: // a closure or an ack cuts what lies beyond it
				cut := next + uint64(rng.IntN(20))
				got := q.takeAbove(cut)
				var want []uint64
				for s := range model {
					if s > cut {
						want = append(want, s)
						delete(model, s)
					}
				}
				slices.Sort(want)
				var gotSeqs []uint64
				for _, m := range got {
					gotSeqs = append(gotSeqs, m.seq)
				}
				if !slices.Equal(gotSeqs, want) {
					t.Fatalf("seed %d step %d: takeAbove(%d) = %v, want %v", seed, step, cut, gotSeqs, want)
				}
			}
			if q.len() != len(model) {
				t.Fatalf("seed %d step %d: len %d, want %d", seed, step, q.len(), len(model))
			}
			for s := next; s < next+50; s++ {
				_, want := model[s]
				if q.has(s) != want {
					t.Fatalf("seed %d step %d: has(%d) = %v, want %v", seed, step, s, !want, want)
				}
			}
			seen := 0
			for m := range q.all() {
				if model[m.seq].body != m.body {
					t.Fatalf("seed %d step %d: all yields %d, which is not queued", seed, step, m.seq)
				}
				seen++
			}
			if seen != len(model) {
				t.Fatalf("seed %d step %d: all yields %d messages, want %d", seed, step, seen, len(model))
			}
		}
	}
}

// TestSeqQueueFarAheadStaysSmall: a message numbered at the far end of the
// reordering window costs one entry, not a ring that spans the window.
func TestSeqQueueFarAheadStaysSmall(t *testing.T) {
	var q seqQueue
	q.put(queuedMessage{seq: 1})
	q.put(queuedMessage{seq: DefaultReorderWindow})
	if len(q.ring) > minRing || len(q.early) != 1 {
		t.Fatalf("ring %d slots, %d early; want at most %d and 1", len(q.ring), len(q.early), minRing)
	}
}
