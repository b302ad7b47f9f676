package bindings

import (
	"runtime"
	"testing"

	"github.com/mage-ipc/mage/mage"
)

// idlePipes is how many idle pipes the memory tests make: enough that the
// node's maps grow in many small steps and the cost per pipe settles.
const idlePipes = 5000

// Bounds on the live heap an idle pipe adds, both ends on a fresh node,
// its maps counted. They sit about 11% above what the pipes cost when
// they were set (pipe alone 787 bytes, with a bound Receiver 866), and
// well below what they cost before each port kept the state only moved
// ports, proxies and vouching use apart (1383 and 2102), before the
// Receiver made its context, channels and method values when first
// needed and packed its fields into a smaller allocation (with a
// Receiver 1506, then 1154, then 1010), and before an idle Receiver was
// a 64-byte record with the rest made when it first serves (1010):
// going back fails.
const (
	maxIdlePipeBytes         = 880
	maxIdleReceiverPipeBytes = 960
)

// idleBytesPerPipe makes idlePipes pipes on a fresh node, binding a
// Receiver to one end of each when withReceiver, and returns the live heap
// each adds after garbage collection, and the goroutines each adds.
func idleBytesPerPipe(t *testing.T, withReceiver bool) (float64, float64) {
	t.Helper()
	node := mage.NewNode(mage.NodeOptions{})
	defer node.Close()
	h := &holder{started: make(chan struct{}, 1), release: make(chan struct{})}
	dispatch := h.dispatch
	closers := make([]func() error, 0, 2*idlePipes)
	defer func() {
		for _, c := range closers {
			_ = c()
		}
	}()
	before, goroutines := liveHeap(), runtime.NumGoroutine()
	for range idlePipes {
		a, b := node.CreatePipe()
		closers = append(closers, a.Close)
		if withReceiver {
			r := NewReceiver(b, holdDesc, dispatch)
			closers = append(closers, r.Close)
		} else {
			closers = append(closers, b.Close)
		}
	}
	after := liveHeap()
	return float64(after-before) / idlePipes, float64(runtime.NumGoroutine()-goroutines) / idlePipes
}

// liveHeap returns the bytes of live heap objects once garbage collection
// has settled.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestIdlePipeMemory pins what an idle pipe costs, alone and with a bound
// Receiver: its ports, the node's records and map entries for them, and
// the Receiver. The closures that close the pipes (two of 16 bytes per
// pipe) are counted too.
func TestIdlePipeMemory(t *testing.T) {
	for _, tc := range []struct {
		name         string
		withReceiver bool
		max          float64
	}{
		{"pipe alone", false, maxIdlePipeBytes},
		{"with a bound Receiver", true, maxIdleReceiverPipeBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bytes, goroutines := idleBytesPerPipe(t, tc.withReceiver)
			t.Logf("%.0f bytes and %.2f goroutines per idle pipe", bytes, goroutines)
			if bytes > tc.max {
				t.Errorf("an idle pipe %s costs %.0f bytes, want at most %.0f", tc.name, bytes, tc.max)
			}
			if goroutines > 0 {
				t.Errorf("an idle pipe %s holds %.2f goroutines, want none", tc.name, goroutines)
			}
		})
	}
}
