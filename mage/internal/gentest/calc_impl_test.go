package gentest_test

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
	"github.com/mage-ipc/mage/mage/internal/gentest/calcv0"
	"github.com/mage-ipc/mage/mage/internal/gentest/calcv1"
)

// calcState is what both versions of the Calc implementation record.
type calcState struct {
	// block, when set, holds every Note until it is closed; noted
	// receives each note as it starts.
	block chan struct{}
	noted chan int32
	// waiting, when set, receives a value as each Wait starts waiting;
	// ended, when set, how each ended.
	waiting chan struct{}
	ended   chan string

	mu      sync.Mutex
	endings []string
	notes   []int32
	labels  []string
}

func (s *calcState) wait(ctx context.Context) {
	if s.waiting != nil {
		s.waiting <- struct{}{}
	}
	<-ctx.Done()
	s.mu.Lock()
	s.endings = append(s.endings, ctx.Err().Error())
	s.mu.Unlock()
	if s.ended != nil {
		s.ended <- ctx.Err().Error()
	}
}

func (s *calcState) waits() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.endings...)
}

func deadline(ctx context.Context) (bool, int64) {
	d, ok := ctx.Deadline()
	if !ok {
		return false, 0
	}
	return true, time.Until(d).Milliseconds()
}

// fail returns the error Fail is asked for: a *bindings.Error, or for a
// negative code a plain error (-1) or a context error (-2, -3).
func fail(code int32, message string) error {
	switch code {
	case -1:
		return errors.New(message)
	case -2:
		return context.DeadlineExceeded
	case -3:
		return context.Canceled
	}
	return bindings.NewError(bindings.Code(code), message)
}

func (s *calcState) note(n int32, label string) {
	if s.noted != nil {
		s.noted <- n
	}
	if s.block != nil {
		<-s.block
	}
	s.mu.Lock()
	s.notes = append(s.notes, n)
	s.labels = append(s.labels, label)
	s.mu.Unlock()
}

func (s *calcState) allNotes() []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int32(nil), s.notes...)
}

// calc0 implements version 0 of Calc.
type calc0 struct{ calcState }

func (c *calc0) Add(_ context.Context, a, b int32) (int32, error) { return a + b, nil }
func (c *calc0) Wait(ctx context.Context, started calcv0.CalcPendingRemote) error {
	r := started.Bind()
	defer r.Close()
	if err := r.Note(0); err != nil {
		return err
	}
	c.wait(ctx)
	return ctx.Err()
}
func (c *calc0) Waits(context.Context) ([]string, error) { return c.waits(), nil }
func (c *calc0) Deadline(ctx context.Context) (bool, int64, error) {
	has, left := deadline(ctx)
	return has, left, nil
}
func (c *calc0) Fail(_ context.Context, code int32, message string) error { return fail(code, message) }
func (c *calc0) Note(n int32)                                             { c.note(n, "") }
func (c *calc0) Notes(context.Context) ([]int32, error)                   { return c.allNotes(), nil }

// calc1 implements version 1 of Calc.
type calc1 struct{ calcState }

func (c *calc1) Add(_ context.Context, a, b, x int32) (int32, bool, error) {
	return a + b + x, x != 0, nil
}
func (c *calc1) Wait(ctx context.Context, started calcv1.CalcPendingRemote) error {
	r := started.Bind()
	defer r.Close()
	if err := r.Note(0, "started"); err != nil {
		return err
	}
	c.wait(ctx)
	return ctx.Err()
}
func (c *calc1) Waits(context.Context) ([]string, error) { return c.waits(), nil }
func (c *calc1) Deadline(ctx context.Context) (bool, int64, error) {
	has, left := deadline(ctx)
	return has, left, nil
}
func (c *calc1) Fail(_ context.Context, code int32, message string) error { return fail(code, message) }
func (c *calc1) Note(n int32, label string)                               { c.note(n, label) }
func (c *calc1) Notes(context.Context) ([]int32, error)                   { return c.allNotes(), nil }
func (c *calc1) Sub(_ context.Context, a, b int32) (int32, error)         { return a - b, nil }
func (c *calc1) Ping()                                                    {}

// The child roles of the Calc tests: serve one version of Calc on p until
// the parent lets go.
func init() {
	childRoles["calc-v0"] = func(ctx context.Context, p mage.MessagePipe) error {
		return serveUntilDisconnect(ctx, calcv0.BindCalc(p, &calc0{}))
	}
	childRoles["calc-v1"] = func(ctx context.Context, p mage.MessagePipe) error {
		return serveUntilDisconnect(ctx, calcv1.BindCalc(p, &calc1{}))
	}
	// calc-waiter calls Wait on the parent's Calc and waits for it
	// forever: the parent kills it in the middle of the call.
	childRoles["calc-waiter"] = func(ctx context.Context, p mage.MessagePipe) error {
		remote := calcv1.NewCalcRemote(p)
		defer remote.Close()
		started, _, stop := startedSignal()
		defer stop()
		return remote.Wait(ctx, started)
	}
}

// startedSignal is a local Calc (version 1) whose Note(0) says that a
// Wait has started; pass it as Wait's started.
func startedSignal() (calcv1.CalcPendingRemote, <-chan int32, func()) {
	impl := &calc1{}
	impl.noted = make(chan int32, 16)
	pr, rcv := calcv1.NewCalcPipe()
	receiver := rcv.Bind(impl)
	return pr, impl.noted, func() { _ = receiver.Close() }
}
