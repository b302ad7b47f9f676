package bindings

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/mage-ipc/mage/mage"
)

// DispatchFunc is the generated part of a Receiver: it decodes one request
// with d, calls the implementation, and returns the reply to send (nil for
// a method without one). An error means the request was bad; it must come
// from d (Finish) and is reported as a bad message.
type DispatchFunc func(ctx context.Context, method uint32, d *Decoder) (*Encoder, error)

// Receiver is the untyped core of a bound implementation: a goroutine of
// its own reads requests from a pipe, validates each (interface
// fingerprint, method ordinal, flags, payload) and hands it to the
// generated dispatch function, one at a time, in order, sending the reply
// of a method that has one. A request that fails validation never reaches
// the implementation: it is reported as a bad message, the pipe is
// closed and the Receiver stops.
//
// All methods are safe for concurrent use. The Receiver owns its pipe,
// which cannot be sent away while it does (mage.ErrPipeBound).
type Receiver struct {
	pipe     mage.MessagePipe
	desc     *InterfaceDescriptor
	dispatch DispatchFunc
	// ctx is given to methods with replies; it ends when the Receiver stops.
	ctx    context.Context
	cancel context.CancelFunc
	// quit is closed by Close to stop the loop.
	quit      chan struct{}
	closeOnce sync.Once
	// stopped is closed when the loop has finished.
	stopped chan struct{}

	// dec is reused for every request; only the loop touches it.
	dec Decoder

	// mu guards the fields below.
	mu sync.Mutex
	// err is why the loop stopped; nil while it runs.
	err          error
	disconnected bool // err came from the peer's side
	onDisconnect func(error)
}

// NewReceiver starts serving the interface desc describes on p, calling
// dispatch for each request. The Receiver owns p: it marks p bound, so that
// p can no longer be sent away (see mage.MessagePipe.SetBound).
func NewReceiver(p mage.MessagePipe, desc *InterfaceDescriptor, dispatch DispatchFunc) *Receiver {
	p.SetBound(true)
	ctx, cancel := context.WithCancel(context.Background())
	r := &Receiver{
		pipe: p, desc: desc, dispatch: dispatch,
		ctx: ctx, cancel: cancel,
		quit: make(chan struct{}), stopped: make(chan struct{}),
	}
	go r.loop()
	return r
}

// Descriptor describes the Receiver's interface.
func (r *Receiver) Descriptor() *InterfaceDescriptor { return r.desc }

func (r *Receiver) loop() {
	err := r.serve()
	r.cancel()
	_ = r.pipe.Close()
	r.mu.Lock()
	r.err = err
	r.disconnected = !errors.Is(err, ErrReceiverClosed)
	var handler func(error)
	if r.disconnected {
		handler = r.onDisconnect
	}
	r.mu.Unlock()
	close(r.stopped)
	// The handler runs after stopped is closed, so that it may call Close.
	if handler != nil {
		handler(err)
	}
}

// serve handles requests until Close (ErrReceiverClosed), the peer's
// closure (ErrDisconnected) or a bad message.
func (r *Receiver) serve() error {
	return readUntil(r.pipe, r.quit, ErrReceiverClosed, r.handle)
}

// handle validates and dispatches one request. An error is a bad message,
// already reported, or ErrReceiverClosed.
func (r *Receiver) handle(m *mage.Message) error {
	md, err := r.validate(m)
	if err != nil {
		r.pipe.ReportBadMessage(m, err)
		return err
	}
	r.dec.reset(m, 0, r.desc, false, r)
	reply, err := r.dispatch(r.ctx, m.Method, &r.dec)
	if err != nil {
		if !errors.Is(err, ErrBadMessage) {
			err = fmt.Errorf("%w: %s request: %w", ErrBadMessage, r.desc.MethodName(m.Method), err)
		}
		r.dec.reject(err) // reports unless Finish already did
		return err
	}
	if !md.HasReply {
		return nil
	}
	select {
	case <-r.quit:
		// Close ran while the method did: its caller learns of the
		// closure, not of a result computed under a cancelled context.
		if reply != nil {
			reply.release()
		}
		return ErrReceiverClosed
	default:
	}
	if reply == nil {
		reply = ErrorReply(errors.New("bindings: the implementation sent no reply"))
	}
	if reply.err != nil {
		reply.release()
		reply = ErrorReply(reply.err)
	}
	if err := r.reply(m, reply); err != nil && !closing(err) {
		// The results cannot travel (over a limit, a pipe that cannot be
		// sent, a file that cannot be duplicated): tell the caller why
		// rather than leave it waiting for a reply that never comes. Only
		// a payload limit too small for the error text makes this fail
		// too, and then the caller waits for its context.
		_ = r.reply(m, ErrorReply(fmt.Errorf("bindings: %s: reply not sent: %w", r.desc.MethodName(m.Method), err)))
	}
	// Otherwise our end is closing (Close raced with the call) or the
	// caller's is gone; a caller still there learns of it as a
	// disconnection.
	return nil
}

// reply sends the reply to request m, consuming e.
func (r *Receiver) reply(m *mage.Message, e *Encoder) error {
	out := &mage.Message{
		Interface: r.desc.Fingerprint, Method: m.Method, Flags: mage.FlagIsResponse, RequestID: m.RequestID,
		Payload: e.buf, Pipes: e.pipes, Handles: e.handles,
	}
	err := r.pipe.WriteMessage(out)
	if err != nil {
		e.release()
	}
	return err
}

// closing reports whether a write failed because the pipe is going away at
// either end, so that no reply can reach the caller anyway.
func closing(err error) bool {
	return errors.Is(err, mage.ErrPeerClosed) || errors.Is(err, mage.ErrPipeClosed) ||
		errors.Is(err, mage.ErrPipeMoved) || errors.Is(err, mage.ErrNodeClosed) || errors.Is(err, mage.ErrInvalidPipe)
}

// validate checks a request's header against the interface.
func (r *Receiver) validate(m *mage.Message) (MethodDescriptor, error) {
	if m.Interface != r.desc.Fingerprint {
		return MethodDescriptor{}, fmt.Errorf("%w: fingerprint 0x%08x (%s) reached a receiver of %s (0x%08x)", ErrWrongInterface,
			m.Interface, MethodName(m.Interface, m.Method), r.desc.Name, r.desc.Fingerprint)
	}
	md, ok := r.desc.Method(m.Method)
	if !ok {
		return md, fmt.Errorf("%w: %s has no method with ordinal %d", ErrUnknownMethod, r.desc.Name, m.Method)
	}
	if m.Flags&mage.FlagIsResponse != 0 {
		return md, fmt.Errorf("%w: %s: a reply (flags %#x) arrived at a receiver", ErrBadMessage, r.desc.MethodName(m.Method), m.Flags)
	}
	if expects := m.Flags&mage.FlagExpectsResponse != 0; expects != md.HasReply {
		if md.HasReply {
			return md, fmt.Errorf("%w: %s has a reply but the request does not ask for one", ErrBadMessage, r.desc.MethodName(m.Method))
		}
		return md, fmt.Errorf("%w: %s has no reply but the request asks for one", ErrBadMessage, r.desc.MethodName(m.Method))
	}
	return md, nil
}

func (r *Receiver) badMessage(m *mage.Message, err error) {
	r.pipe.ReportBadMessage(m, err)
}

// SetDisconnectHandler sets f to be called once, with the reason, when the
// Receiver stops for any cause but Close: the peer closed the pipe or its
// process died (an error matching ErrDisconnected), or a bad message
// arrived (an error matching ErrBadMessage). f runs on the Receiver's
// goroutine after it has stopped; it may call Close. If the Receiver has
// already stopped that way, f is called before SetDisconnectHandler
// returns.
func (r *Receiver) SetDisconnectHandler(f func(error)) {
	r.mu.Lock()
	if r.err != nil {
		err, disconnected := r.err, r.disconnected
		r.mu.Unlock()
		if disconnected && f != nil {
			f(err)
		}
		return
	}
	r.onDisconnect = f
	r.mu.Unlock()
}

// Done is closed when the Receiver has stopped.
func (r *Receiver) Done() <-chan struct{} { return r.stopped }

// Err says why the Receiver stopped: nil while it runs, ErrReceiverClosed
// after Close, else an error matching ErrDisconnected or ErrBadMessage.
func (r *Receiver) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Close stops the Receiver: it cancels the context of a method running
// now, waits for that method to return, and closes the pipe; requests not
// yet handled are dropped. The disconnect handler is not called. Close is
// idempotent and returns nil. It must not be called from the
// implementation's own methods, which it would wait for (call it from
// another goroutine, or from the disconnect handler).
func (r *Receiver) Close() error {
	r.closeOnce.Do(func() {
		close(r.quit)
		r.cancel()
	})
	<-r.stopped
	return nil
}
