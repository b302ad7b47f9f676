package bindings

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mage-ipc/mage/mage/internal/wake"
)

// gateDesc is an interface of one method, Hold() => (), whose
// implementation (gate.dispatch) reports that it runs, then returns when
// the gate opens or the call's context ends.
var gateDesc = &InterfaceDescriptor{Name: "test.Gate", Fingerprint: 0x47415445, Methods: []MethodDescriptor{
	{Ordinal: 1, Name: "Hold", HasReply: true},
}}

type gate struct {
	arrived chan struct{}
	mu      sync.Mutex
	open    chan struct{} // closed: calls return at once
}

func newGate(calls int) *gate {
	return &gate{arrived: make(chan struct{}, calls), open: make(chan struct{})}
}

// opened returns the gate's channel of the moment.
func (g *gate) opened() chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

// close opens the gate, and shut makes it closed again.
func (g *gate) close() { close(g.opened()) }
func (g *gate) shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = make(chan struct{})
}

func (g *gate) dispatch(ctx context.Context, method uint32, d *Decoder) (*Encoder, error) {
	if err := d.Finish(); err != nil {
		return nil, err
	}
	g.arrived <- struct{}{}
	select {
	case <-g.opened():
		return NewReplyEncoder(0), nil
	case <-ctx.Done():
		return ErrorReply(ctx.Err()), nil // as generated code returns an implementation's error
	}
}

func holdCall(ctx context.Context, r *Remote) error {
	return r.Call(ctx, 1, NewEncoder(0), new(Decoder))
}

// withBells makes calls take their bells from pool for the rest of the
// test (whose Remotes are to be closed by then), and the serving
// goroutines it starts make theirs with makeServerBell.
func withBells(t *testing.T, pool *wake.Pool, makeServerBell func() (*wake.Bell, error)) {
	savedPool := callBells.Swap(pool)
	savedServer := servers.setNewBell(makeServerBell)
	pool.Hold(1)
	t.Cleanup(func() {
		pool.Hold(-1)
		callBells.Store(savedPool)
		servers.setNewBell(savedServer)
	})
}

// withoutBells makes every bell fail to be made for the rest of the test,
// as in a process out of descriptors.
func withoutBells(t *testing.T) {
	fail := func() (*wake.Bell, error) { return nil, errors.New("no bells in this test") }
	withBells(t, &wake.Pool{Max: 16, New: fail}, fail)
}

// TestCallsWithAndWithoutBells: calls, calls whose context ends while
// they wait, and their Receivers' serving goroutines work alike whether
// they wait on bells or, when none can be made, on channels; a caller
// that moves from one context to another is woken by the one it waits
// with.
func TestCallsWithAndWithoutBells(t *testing.T) {
	for _, bells := range []bool{true, false} {
		for name, mk := range pipeMakers {
			t.Run(name+map[bool]string{true: "-bells", false: "-channels"}[bells], func(t *testing.T) {
				if !bells {
					withoutBells(t)
				}
				a, p := mk(t)
				g := newGate(4)
				rcv := NewReceiver(p, gateDesc, g.dispatch)
				defer rcv.Close()
				remote := NewRemote(a, gateDesc)
				defer remote.Close()

				long, cancelLong := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancelLong()
				g.close()
				for range 3 {
					if err := holdCall(long, remote); err != nil {
						t.Fatal(err)
					}
					<-g.arrived
				}

				// A closed gate: the next call waits until its context ends.
				g.shut()
				short, cancelShort := context.WithCancel(context.Background())
				errc := make(chan error, 1)
				go func() { errc <- holdCall(short, remote) }()
				<-g.arrived
				cancelShort()
				if err := <-errc; !errors.Is(err, context.Canceled) {
					t.Fatalf("a call whose context was canceled returned %v", err)
				}

				// And the first context still serves.
				g.close()
				if err := holdCall(long, remote); err != nil {
					t.Fatalf("after the canceled call: %v", err)
				}
				<-g.arrived
			})
		}
	}
}

// TestCallBellsAreBounded: however many calls wait at once, at most the
// pool's Max bells exist; the calls beyond wait on their channels; and
// after the last Remote stops, none is left open.
func TestCallBellsAreBounded(t *testing.T) {
	pool := &wake.Pool{Max: 2}
	withBells(t, pool, wake.New)
	a, p := pipeAcrossNodes(t)
	const calls = 6
	g := newGate(calls)
	rcv := NewReceiver(p, gateDesc, g.dispatch)
	defer rcv.Close()
	remote := NewRemote(a, gateDesc)

	// The Receiver serves one call at a time, so the gate opens for the
	// first and the rest queue behind it: all calls wait at once.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- holdCall(ctx, remote)
		}()
	}
	<-g.arrived
	for remote.PendingCalls() != calls {
		if ctx.Err() != nil {
			t.Fatalf("%d calls pending, want %d", remote.PendingCalls(), calls)
		}
		runtime.Gosched()
	}
	if made := pool.Made(); made > 2 {
		t.Errorf("%d bells with %d calls waiting, want at most the pool's Max (2)", made, calls)
	}
	g.close()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	remote.Close()
	pool.Hold(-1) // the test's own hold, taken back by the cleanup
	if made := pool.Made(); made != 0 {
		t.Errorf("%d bells open after the last holder left", made)
	}
	pool.Hold(1)
}
