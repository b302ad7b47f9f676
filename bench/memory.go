package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"time"

	"github.com/mage-ipc/mage/bench/benchmagen"
	"github.com/mage-ipc/mage/mage"
)

// Kinds of idle pipe the idle command measures. Both ends of each pipe are
// in the measuring process, so a figure is the cost of a whole pipe.
const (
	idlePipe     = "pipe"     // a pipe alone
	idleReceiver = "receiver" // a pipe with a Receiver bound to one end
	idleRemote   = "remote"   // a Remote and a Receiver, after one call
)

// idleServerLinger is more than the bindings' serving goroutines linger
// with nothing to do (5 ms).
const idleServerLinger = 20 * time.Millisecond

// maxIdlePipes bounds the idle command's count.
const maxIdlePipes = 100000

var errIdle = errors.New("bench: idle")

// idleHandler answers "idle <kind> <n>" with the bytes (live heap plus
// goroutine stacks) and goroutines per pipe, measured after garbage
// collection over n pipes of kind.
func idleHandler(args []string) (string, error) {
	if len(args) != 2 {
		return "", fmt.Errorf("%w: want a kind and a count, got %q", errIdle, args)
	}
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 1 || n > maxIdlePipes {
		return "", fmt.Errorf("%w: count %q is not 1 to %d", errIdle, args[1], maxIdlePipes)
	}
	bytes, goroutines, err := measureIdle(args[0], n)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%.1f %.3f", bytes, goroutines), nil
}

// settledMemory is the live heap plus goroutine stacks after collection.
// It collects four times: the payload buffers mage keeps for reuse
// (mage.NewPayload) are dropped after two collections unused, and the
// bytes the earlier workloads left there must be gone from both readings.
// Before that it waits out the bindings' serving goroutines, which linger
// 5 ms after their last request (bindings/servers.go), so that neither
// reading counts one that the other does not.
func settledMemory() (int64, int) {
	time.Sleep(idleServerLinger)
	for range 4 {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc) + int64(ms.StackInuse), runtime.NumGoroutine()
}

// measureIdle makes n idle pipes of kind and returns the memory and
// goroutines each adds, then closes them. Each kind gets a node of its
// own, so that every row counts the growth of the node's maps (maps do not
// shrink: pipes made on a node that held pipes before cost less).
func measureIdle(kind string, n int) (float64, float64, error) {
	ctx := context.Background()
	node := mage.NewNode(mage.NodeOptions{})
	defer node.Close()
	closers := make([]func() error, 0, 3*n)
	defer func() {
		for _, c := range closers {
			_ = c()
		}
	}()
	payload := make([]byte, 16)
	mem0, g0 := settledMemory()
	for range n {
		a, b := node.CreatePipe()
		switch kind {
		case idlePipe:
			closers = append(closers, a.Close, b.Close)
		case idleReceiver:
			rcv := benchmagen.BindBench(b, &benchImpl{})
			closers = append(closers, a.Close, rcv.Close)
		case idleRemote:
			rcv := benchmagen.BindBench(b, &benchImpl{})
			r := benchmagen.NewBenchRemote(a)
			closers = append(closers, r.Close, rcv.Close)
			if _, err := r.Echo(ctx, payload); err != nil {
				return 0, 0, fmt.Errorf("%w: a call on a %s: %w", errIdle, kind, err)
			}
		default:
			return 0, 0, fmt.Errorf("%w: unknown kind %q (want %s, %s or %s)", errIdle, kind, idlePipe, idleReceiver, idleRemote)
		}
	}
	mem1, g1 := settledMemory()
	return float64(mem1-mem0) / float64(n), float64(g1-g0) / float64(n), nil
}
