package bindings

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/mage-ipc/mage/mage"
)

// holdDesc is a hand-made interface: Hold runs until it is told to end,
// Note records an int.
var holdDesc = &InterfaceDescriptor{Name: "test.Hold", Fingerprint: 0x484f4c44, Methods: []MethodDescriptor{
	{Ordinal: 1, Name: "Hold", HasReply: true},
	{Ordinal: 2, Name: "Note"},
}}

// quitSignal returns a channel closed when Close or Unbind begins on rcv.
func quitSignal(t *testing.T, rcv *Receiver) <-chan struct{} {
	t.Helper()
	quit := make(chan struct{})
	var once sync.Once
	quitHook = func(r *Receiver) {
		if r == rcv {
			once.Do(func() { close(quit) })
		}
	}
	t.Cleanup(func() { quitHook = nil })
	return quit
}

type holder struct {
	started chan struct{}
	release <-chan struct{} // set once the receiver exists
	// deaf makes Hold ignore its context: only release ends it.
	deaf  bool
	mu    sync.Mutex
	notes []int32
}

func (h *holder) dispatch(ctx context.Context, method uint32, d *Decoder) (*Encoder, error) {
	switch method {
	case 1:
		if err := d.Finish(); err != nil {
			return nil, err
		}
		h.started <- struct{}{}
		done := ctx.Done()
		if h.deaf {
			done = nil
		}
		select {
		case <-h.release:
		case <-done:
		}
		return NewReplyEncoder(0), nil
	case 2:
		n := d.ReadInt32()
		if err := d.Finish(); err != nil {
			return nil, err
		}
		h.mu.Lock()
		h.notes = append(h.notes, n)
		h.mu.Unlock()
		return nil, nil
	}
	return nil, ErrUnknownMethod
}

func (h *holder) all() []int32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int32(nil), h.notes...)
}

func note(t *testing.T, r *Remote, n int32) {
	t.Helper()
	e := NewEncoder(4)
	e.WriteInt32(n)
	if err := r.Send(2, e); err != nil {
		t.Fatal(err)
	}
}

// TestUnbindGivesBackTheBacklog: requests the Receiver read ahead while a
// method ran go back on the end at Unbind, ahead of those still on the
// pipe, in order. Hold ends only once Unbind has begun, so the notes are
// in the backlog, not on the pipe, when the Receiver stops.
func TestUnbindGivesBackTheBacklog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := mage.CreatePipe()
	h := &holder{started: make(chan struct{}, 1)}
	rcv := NewReceiver(b, holdDesc, nil)
	h.release = quitSignal(t, rcv)
	rcv.dispatch = h.dispatch
	remote := NewRemote(a, holdDesc)
	defer remote.Close()

	// The receiver is idle, with nothing queued, until the Hold below.
	holdDone := make(chan error, 1)
	go func() { holdDone <- remote.Call(ctx, 1, NewEncoder(0), new(Decoder)) }()
	<-h.started
	for n := int32(1); n <= 5; n++ {
		note(t, remote, n)
	}
	p, err := rcv.Unbind()
	if err != nil {
		t.Fatal(err)
	}
	if err := <-holdDone; err != nil {
		t.Fatalf("Hold, which Unbind let finish, = %v", err)
	}
	if got := h.all(); len(got) != 0 {
		t.Fatalf("notes handled before Unbind: %v", got)
	}
	note(t, remote, 6)
	released := make(chan struct{})
	close(released)
	h2 := &holder{started: make(chan struct{}, 1), release: released}
	rcv2 := NewReceiver(p, holdDesc, h2.dispatch)
	defer rcv2.Close()
	for n := int32(7); n <= 8; n++ {
		note(t, remote, n)
	}
	// The receiver handles one request at a time, in order: once Hold,
	// sent last, has its reply, every note before it was handled.
	if err := remote.Call(ctx, 1, NewEncoder(0), new(Decoder)); err != nil {
		t.Fatal(err)
	}
	if got, want := h2.all(), []int32{1, 2, 3, 4, 5, 6, 7, 8}; !reflect.DeepEqual(got, want) {
		t.Errorf("the end bound again served %v, want %v", got, want)
	}
}

// TestRemoteUnbindPipeCloses: when the pipe closes while Unbind waits for
// the replies of the calls it failed, Unbind says so, with ErrDisconnected,
// and hands back nothing.
func TestRemoteUnbindPipeCloses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := mage.CreatePipe()
	// Hold ignores the cancel Unbind sends, and ends when the receiver is
	// closed, without a reply.
	h := &holder{started: make(chan struct{}, 1), deaf: true}
	rcv := NewReceiver(b, holdDesc, nil)
	h.release = quitSignal(t, rcv)
	rcv.dispatch = h.dispatch
	remote := NewRemote(a, holdDesc)
	defer remote.Close()
	holdDone := make(chan error, 1)
	go func() { holdDone <- remote.Call(ctx, 1, NewEncoder(0), new(Decoder)) }()
	<-h.started
	type unbound struct {
		p   mage.MessagePipe
		err error
	}
	res := make(chan unbound, 1)
	go func() {
		p, err := remote.Unbind()
		res <- unbound{p, err}
	}()
	if err := <-holdDone; !errors.Is(err, ErrUnbound) {
		t.Fatalf("the call in flight = %v", err)
	}
	_ = rcv.Close()
	u := <-res
	if !errors.Is(u.err, ErrDisconnected) || u.p.IsValid() {
		t.Fatalf("Unbind = %v, %v; want ErrDisconnected and no end", u.p, u.err)
	}
	if _, err := remote.Unbind(); !errors.Is(err, ErrUnbound) {
		t.Errorf("Unbind again = %v", err)
	}
}
