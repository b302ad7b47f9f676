package gentest_test

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
	"github.com/mage-ipc/mage/mage/internal/gentest/everything"
)

// Implementations of the test interfaces. Each records what it was called
// with, so that tests can tell whether a message reached it.

type setArgs struct {
	b bool
	i int32
	l int64
	d float64
	c byte
}

type scalarsImpl struct {
	sets    chan setArgs // one-way Set calls, in arrival order
	calls   atomic.Int32 // every call
	running atomic.Int32 // calls in progress, to catch overlap
	overlap atomic.Bool
	block   chan struct{} // when not nil, Nothing waits for it or ctx
	entered chan struct{} // when not nil, Nothing signals here on entry
}

func newScalars() *scalarsImpl { return &scalarsImpl{sets: make(chan setArgs, 4096)} }

func (s *scalarsImpl) enter() func() {
	s.calls.Add(1)
	if s.running.Add(1) > 1 {
		s.overlap.Store(true)
	}
	return func() { s.running.Add(-1) }
}

func (s *scalarsImpl) Set(b bool, i int32, l int64, d float64, c byte) {
	defer s.enter()()
	s.sets <- setArgs{b, i, l, d, c}
}

func (s *scalarsImpl) Echo(_ context.Context, b bool, i int32, l int64, d float64, c byte) (bool, int32, int64, float64, byte, error) {
	defer s.enter()()
	return b, i, l, d, c, nil
}

func (s *scalarsImpl) Nothing(ctx context.Context) error {
	defer s.enter()()
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (s *scalarsImpl) Fail(_ context.Context, why string) (int32, error) {
	defer s.enter()()
	return 0, errors.New(why)
}

type variableImpl struct {
	calls atomic.Int32
	// last holds the arguments of the last Echo, for the fuzz target.
	last variableArgs
}

type variableArgs struct {
	s      string
	b      []byte
	ints   []int32
	nested [][]string
	flags  []bool
}

func (v *variableImpl) Echo(_ context.Context, s string, b []byte, ints []int32, nested [][]string, flags []bool) (string, []byte, []int32, [][]string, []bool, error) {
	v.calls.Add(1)
	v.last = variableArgs{s, b, ints, nested, flags}
	return s, b, ints, nested, flags, nil
}

func (v *variableImpl) Sum(_ context.Context, values []int64) (int64, error) {
	v.calls.Add(1)
	var t int64
	for _, x := range values {
		t += x
	}
	return t, nil
}

type observerImpl struct {
	mu     sync.Mutex
	events []string
	seen   chan string
}

func newObserver() *observerImpl { return &observerImpl{seen: make(chan string, 100)} }

func (o *observerImpl) Notify(event string, seq int64) {
	o.mu.Lock()
	o.events = append(o.events, event)
	o.mu.Unlock()
	o.seen <- event
}

func (o *observerImpl) Count(context.Context) (int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return int64(len(o.events)), nil
}

// carrierImpl keeps what it is sent and binds what it is asked to. Tests
// close it to release everything.
type carrierImpl struct {
	calls atomic.Int32
	pipes chan taggedPipe

	mu        sync.Mutex
	observers []*everything.ObserverRemote
	receivers []*bindings.Receiver
}

type taggedPipe struct {
	p   mage.MessagePipe
	tag string
}

func newCarrier() *carrierImpl { return &carrierImpl{pipes: make(chan taggedPipe, 16)} }

func (c *carrierImpl) TakePipe(p mage.MessagePipe, tag string) {
	c.calls.Add(1)
	c.pipes <- taggedPipe{p, tag}
}

func (c *carrierImpl) PassPipe(_ context.Context, p mage.MessagePipe) (mage.MessagePipe, error) {
	c.calls.Add(1)
	return p, nil
}

func (c *carrierImpl) Observe(o everything.ObserverPendingRemote) {
	c.calls.Add(1)
	r := o.Bind()
	_ = r.Notify("observed", 1)
	c.mu.Lock()
	c.observers = append(c.observers, r)
	c.mu.Unlock()
}

func (c *carrierImpl) Serve(s everything.ScalarsPendingReceiver) {
	c.calls.Add(1)
	rcv := s.Bind(newScalars())
	c.mu.Lock()
	c.receivers = append(c.receivers, rcv)
	c.mu.Unlock()
}

func (c *carrierImpl) MakeScalars(context.Context) (everything.ScalarsPendingRemote, error) {
	c.calls.Add(1)
	remote, receiver := everything.NewScalarsPipe()
	rcv := receiver.Bind(newScalars())
	c.mu.Lock()
	c.receivers = append(c.receivers, rcv)
	c.mu.Unlock()
	return remote, nil
}

// Files writes note into f, closes it, and sends back a file whose content
// is the number of files it got.
func (c *carrierImpl) Files(_ context.Context, f *os.File, more []*os.File, note string) (*os.File, int32, error) {
	c.calls.Add(1)
	count := int32(len(more))
	if f != nil {
		count++
		if _, err := io.WriteString(f, note); err != nil {
			return nil, 0, err
		}
		_ = f.Close()
	}
	for _, g := range more {
		_ = g.Close()
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, 0, err
	}
	_, _ = w.Write([]byte{byte(count)})
	_ = w.Close()
	return r, count, nil
}

func (c *carrierImpl) Mixed(_ context.Context, observers []everything.ObserverPendingRemote, pipes []mage.MessagePipe, maybe *os.File) (int32, int32, bool, error) {
	c.calls.Add(1)
	for _, o := range observers {
		r := o.Bind()
		_ = r.Notify("mixed", 2)
		_ = r.Close()
	}
	for _, p := range pipes {
		_ = p.Close()
	}
	had := maybe != nil
	if had {
		_ = maybe.Close()
	}
	return int32(len(observers)), int32(len(pipes)), had, nil
}

func (c *carrierImpl) Ping() { c.calls.Add(1) }

// Nested closes the pipes it got and sends the files back, last first, in
// one inner array.
func (c *carrierImpl) Nested(_ context.Context, files [][]*os.File, pipes [][]mage.MessagePipe) ([][]*os.File, int32, error) {
	c.calls.Add(1)
	var back []*os.File
	for i := len(files) - 1; i >= 0; i-- {
		for j := len(files[i]) - 1; j >= 0; j-- {
			back = append(back, files[i][j])
		}
	}
	n := int32(0)
	for _, inner := range pipes {
		for _, p := range inner {
			n++
			_ = p.Close()
		}
	}
	if back == nil {
		return nil, n, nil
	}
	return [][]*os.File{back}, n, nil
}

func (c *carrierImpl) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.observers {
		_ = r.Close()
	}
	for _, r := range c.receivers {
		_ = r.Close()
	}
	for {
		select {
		case tp := <-c.pipes:
			_ = tp.p.Close()
		default:
			return
		}
	}
}

type keywordsImpl struct{}

func (keywordsImpl) Go(_ context.Context, type_ int32, func_ string, range_ bool, len_ int64, e_ byte, r_ int32, ctx_ int32, err_ int32, r0_ int32) (int32, int32, int32, error) {
	return type_ + int32(len(func_)), r_ + ctx_, err_ + r0_, nil
}

// Shadow sends back the first observer it got, closes the others, and
// adds their count to n.
func (keywordsImpl) Shadow(_ context.Context, observers []everything.ObserverPendingRemote, n int32) (everything.ObserverPendingRemote, int32, error) {
	if len(observers) == 0 {
		return everything.ObserverPendingRemote{}, n, nil
	}
	for _, o := range observers[1:] {
		_ = o.PassPipe().Close()
	}
	return observers[0], n + int32(len(observers)), nil
}

// Compile-time checks that the implementations satisfy the interfaces.
var (
	_ everything.Scalars  = (*scalarsImpl)(nil)
	_ everything.Variable = (*variableImpl)(nil)
	_ everything.Observer = (*observerImpl)(nil)
	_ everything.Carrier  = (*carrierImpl)(nil)
	_ everything.Keywords = keywordsImpl{}
)
