package mage

import (
	"os"
	"testing"
	"time"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/mage/internal/ports"
	"github.com/mage-ipc/mage/mage/internal/wire"
)

// FuzzBrokerControlSequences plays a hostile direct client that sends the
// broker a sequence of registrations and introduction requests chosen by
// the fuzzer, over a pool of names that includes the broker's, its own, an
// innocent client's and names nobody holds, and completes some of the
// registrations itself: proving the name when it knows the proof (its own
// and those it made up), else with a proof of the wrong name, or with none.
// Whatever the sequence, every report is charged to the hostile client,
// the innocent client is still served, and once the hostile client and
// everything it registered are gone the broker keeps nothing of them.
//
// An op's high nibble (mod 6) picks the action: 0 introduction request,
// 1 registration, 2 registration completed with the best proof known,
// 3 counters request, 4 registration completed without a proof, 5
// registration completed with the proof of the pool's next name. Its low
// nibble picks the name.
func FuzzBrokerControlSequences(f *testing.F) {
	f.Add([]byte{0x00, 0x01, 0x02, 0x13, 0x14, 0x25, 0x30})
	f.Add([]byte{0x14, 0x14, 0x14, 0x14, 0x24})
	f.Add([]byte{0x05, 0x06, 0x07, 0x05, 0x03, 0x02})
	f.Add([]byte{0x24, 0x25, 0x26, 0x27, 0x28})
	f.Add([]byte{0x11, 0x10, 0x12})
	// Forgeries: a name registered twice, forged first and then proved;
	// the innocent client's name and the broker's, forged.
	f.Add([]byte{0x43, 0x23, 0x30})
	f.Add([]byte{0x53, 0x23, 0x44})
	f.Add([]byte{0x12, 0x52, 0x40})
	f.Add([]byte{0x23, 0x43, 0x33})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 24 {
			ops = ops[:24]
		}
		h := newBrokerHarness(t, BrokerLimits{
			MaxChildrenPerNode:      3,
			MaxPendingRegistrations: 2,
			RegistrationTimeout:     200 * time.Millisecond,
			MaxPendingIntroductions: 3,
			IntroductionWait:        50 * time.Millisecond,
		})
		innocent := h.direct()
		hostile := h.direct()
		// The hostile client knows the proofs of its own name and of
		// those it made up, not of the broker's or the innocent client's.
		pool := []rawID{{name: h.node.name}, {name: hostile.name, proof: hostile.proof}, {name: innocent.name}}
		for range 5 {
			pool = append(pool, newRawID(t))
		}
		var registered []*rawPeer
		for i, op := range ops {
			k := int(op&0x0f) % len(pool)
			id := pool[k]
			name := id.name
			var err error
			switch op >> 4 % 6 {
			case 0:
				err = hostile.ch.Send(wire.AppendRequestIntroduction(nil, &wire.RequestIntroduction{Node: wire.NodeName(name)}), nil)
			case 1:
				_, err = hostile.tryRegister(name)
			case 2, 4, 5:
				hello := id.hello()
				switch op >> 4 % 6 {
				case 4:
					hello.HasProof, hello.Proof = false, wire.NameProof{}
				case 5:
					hello.Proof = pool[(k+1)%len(pool)].proof
				}
				var end *os.File
				if end, err = hostile.tryRegister(name); err == nil {
					registered = append(registered, playRegistered(t, end, hello))
				}
			case 3:
				err = hostile.ch.Send(wire.AppendCountersRequest(nil, &wire.CountersRequest{ID: uint64(i + 1)}), nil)
			}
			if err != nil {
				break // cut off
			}
		}
		innocent.alive(h.ctx, 1<<40)
		_ = hostile.ch.Close()
		for _, p := range registered {
			_ = p.ch.Close()
		}
		h.waitFor(func() bool {
			return len(h.node.broker.registrations) == 0 && h.tablesEmpty(innocent.name) &&
				h.node.links[hostile.name] == nil
		})
		for {
			select {
			case bad := <-h.bad:
				if bad.Responsible != NodeName(hostile.name) {
					t.Fatalf("report %v charged to %s, not to the hostile client %s", bad, bad.Responsible, NodeName(hostile.name))
				}
				continue
			default:
			}
			break
		}
		innocent.alive(h.ctx, 1<<41)
	})
}

// tryRegister is register that reports a failed send (the broker cut the
// peer off) instead of failing the test.
func (p *rawPeer) tryRegister(child ports.NodeName) (*os.File, error) {
	mine, theirs, err := sockets.Pair()
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = theirs.Close() })
	fd, err := dupFile(mine)
	_ = mine.Close()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.ch.Send(wire.AppendIntroduce(nil, &wire.Introduce{Node: wire.NodeName(child)}), []int{fd}); err != nil {
		return nil, err
	}
	return theirs, nil
}

// playRegistered answers on a registration socket with hello, without
// waiting for the outcome: the registration may have been refused.
func playRegistered(t *testing.T, end *os.File, hello *wire.Hello) *rawPeer {
	t.Helper()
	return startRawPeerHello(t, endConn(t, end), hello)
}
