package bindings

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/internal/wake"
)

// Remote is the untyped core of a generated FooRemote: it sends requests
// on a pipe and pairs replies with the calls waiting for them.
//
// Sending never blocks on the peer. A Remote holds no goroutine: from the
// first call that waits for a reply (or SetDisconnectHandler) on, it is
// armed on its pipe (mage.MessagePipe.Notify), and the goroutine that
// delivers a reply to the pipe (the connection's reader, or the
// implementation's goroutine in this process) hands it straight to the
// call waiting for it. When the pipe closes, every waiting call fails with
// an error matching ErrDisconnected.
//
// All methods are safe for concurrent use, and a nil *Remote's methods
// fail with ErrNilRemote (Close does nothing). The Remote owns its pipe
// until Unbind: while it does, the pipe cannot be sent away
// (mage.ErrPipeBound).
type Remote struct {
	pipe mage.MessagePipe
	desc *InterfaceDescriptor

	// done is closed when the Remote stops reading, for whatever reason.
	done chan struct{}
	// bells lends the Remote's calls their bells (callBells when made);
	// the Remote holds it until it stops.
	bells *wake.Pool

	// mu guards the fields below.
	mu sync.Mutex
	// lastID is the request id of the latest call; ids count from 1.
	lastID  uint64
	pending map[uint64]*pendingCall
	// reading is set once the reader is armed on the pipe. readerBusy is
	// true while readReplies runs (one at a time), readerWoken when the
	// pipe became ready again meanwhile, and readerIdle, when not nil, is
	// closed when readReplies returns, for Close and Unbind to wait on.
	reading     bool
	readerBusy  bool
	readerWoken bool
	readerIdle  chan struct{}
	// readFn is r.readReplies, made once (a method value is an allocation).
	readFn func()
	// err is why the Remote shut down; nil while it runs.
	err error
	// disconnected is true when err came from the peer's side, not Close
	// or Unbind.
	disconnected bool
	onDisconnect func(error)
	// owed holds the calls that Unbind failed whose replies have not come
	// yet: the reader takes them off the pipe before Unbind hands it back,
	// so that they never reach the end's next owner.
	owed map[uint64]bool
	// drained is true once Unbind's reader stopped with nothing owed.
	drained bool
	// peerVersion is the peer's interface version as far as this Remote
	// knows it: 0, or what QueryVersion or RequireVersion learnt.
	peerVersion uint32
}

// pendingCall is a call waiting for its reply.
type pendingCall struct {
	method uint32
	// done receives exactly one result; it has room for it, so the reader
	// never blocks on a caller.
	done chan callResult
	// bell, when not nil, is rung after done receives: the caller waits on
	// it rather than on done (a caller woken through the poller runs on
	// the thread of the connection's reader once that parks, where one
	// woken through its channel made the runtime wake a second thread:
	// about half of a 16 B round trip between two processes on 2 CPUs;
	// see package wake). Set before the call is in the pending table, read
	// by whoever completes it before it sends.
	bell *wake.Bell
}

// recycle gives pc back once the call has returned, and its bell to
// bells, the pool it came from.
func (pc *pendingCall) recycle(bells *wake.Pool) {
	if pc.bell != nil {
		bells.Put(pc.bell)
		pc.bell = nil
	}
	pendingCalls.Put(pc)
}

// complete hands the call its result and wakes the caller; the one who
// took pc off the pending table calls it, once.
func (pc *pendingCall) complete(res callResult) {
	b := pc.bell // before the send: after it, the caller may reuse pc
	pc.done <- res
	if b != nil {
		b.Ring()
	}
}

// await waits for the call's result; false means ctx ended first.
func (pc *pendingCall) await(ctx context.Context) (callResult, bool) {
	b := pc.bell
	if b != nil {
		b.WatchContext(ctx)
		for {
			select {
			case res := <-pc.done:
				return res, true
			default:
			}
			if ctx.Err() != nil {
				return callResult{}, false
			}
			if b.Wait() != nil {
				break // only closing fails a bell, and the pool closes none in use: wait as below
			}
		}
	}
	select {
	case res := <-pc.done:
		return res, true
	case <-ctx.Done():
		return callResult{}, false
	}
}

type callResult struct {
	msg *mage.Message
	err error
}

// pendingCalls recycles pendingCall values and their channels. A call
// returns its pendingCall once its channel is empty and no one else can
// send on it: after receiving the result, or after removing it from the
// pending table before a result was sent.
var pendingCalls = sync.Pool{New: func() any { return &pendingCall{done: make(chan callResult, 1)} }}

// callBells lends calls the bells they wait on for their replies: the
// process's wake.Waiters, held by every open Remote (tests use a pool of
// their own, and a goroutine of an earlier test may make a Remote
// meanwhile: hence the atomic). Each Remote keeps the pool it was made
// with, so that one made before a test swaps it gives back to the pool it
// holds.
var callBells atomic.Pointer[wake.Pool]

func init() { callBells.Store(&wake.Waiters) }

// NewRemote makes a Remote that sends the requests of the interface desc
// describes on p, and owns p: it marks p bound, so that p can no longer be
// sent away (see mage.MessagePipe.SetBound).
func NewRemote(p mage.MessagePipe, desc *InterfaceDescriptor) *Remote {
	p.SetBound(true)
	r := &Remote{
		pipe: p,
		desc: desc,
		done: make(chan struct{}),
	}
	r.readFn = r.readReplies
	r.bells = callBells.Load()
	r.bells.Hold(1)
	return r
}

// Descriptor describes the Remote's interface (nil for a nil Remote).
func (r *Remote) Descriptor() *InterfaceDescriptor {
	if r == nil {
		return nil
	}
	return r.desc
}

// Send sends a request that expects no reply. It consumes e: on failure it
// closes the pipes and files e holds. It fails if e could not encode an
// argument, if the Remote was closed or unbound or is known to be
// disconnected, or if the pipe refuses the message; a message sent before
// the peer's closure is noticed is discarded silently, as on a MessagePipe.
func (r *Remote) Send(method uint32, e *Encoder) error {
	if r == nil {
		e.release()
		return ErrNilRemote
	}
	if err := r.check(method, e); err != nil {
		return err
	}
	m := e.message(r.desc.Fingerprint, method, versionFlags(r.desc.Version), 0)
	if err := r.pipe.WriteMessage(m); err != nil {
		e.release()
		if shut := r.Err(); shut != nil {
			// The Remote shut down meanwhile, and may have closed the pipe
			// under the message: its reason is the message's.
			return shut
		}
		return r.writeError(method, err)
	}
	e.sent()
	return nil
}

// writeError is the error of a request the pipe refused. A pipe that is
// gone (the peer closed, its node was lost, the end is invalid or its node
// closed) fails the call with ErrDisconnected, as the reader would report
// it, so that the error does not depend on whether the reader was running.
func (r *Remote) writeError(method uint32, err error) error {
	if gone(err) {
		return fmt.Errorf("%w: %s: %w", ErrDisconnected, r.desc.MethodName(method), err)
	}
	return fmt.Errorf("bindings: %s: %w", r.desc.MethodName(method), err)
}

// gone reports whether a pipe error means the pipe will never carry a
// message again from this side's point of view, by no act of this side's
// bindings.
func gone(err error) bool {
	return errors.Is(err, mage.ErrPeerClosed) || errors.Is(err, mage.ErrInvalidPipe) ||
		errors.Is(err, mage.ErrNodeClosed) || errors.Is(err, mage.ErrPipeMoved)
}

// check fails a request that cannot be sent, releasing e.
func (r *Remote) check(method uint32, e *Encoder) error {
	if e.err != nil {
		e.release()
		return fmt.Errorf("bindings: %s: %w", r.desc.MethodName(method), e.err)
	}
	r.mu.Lock()
	err := r.err
	r.mu.Unlock()
	if err != nil {
		e.release()
		return err
	}
	return nil
}

// Call sends a request that expects a reply and waits for the reply, for
// ctx to end, or for the Remote to shut down. It consumes e. On success it
// points d at the results; the caller reads them and must call d.Finish.
//
// ctx's deadline travels with the request, so that the implementation's
// context has it too; when ctx ends first, Call sends the peer a cancel,
// which ends the implementation's context, and returns ctx.Err(). A reply
// carrying the implementation's error makes Call return a *Error (the
// error had a code) or a *RemoteError (it had none).
func (r *Remote) Call(ctx context.Context, method uint32, e *Encoder, d *Decoder) error {
	if r == nil {
		e.release()
		return ErrNilRemote
	}
	if err := ctx.Err(); err != nil {
		e.release()
		return err
	}
	if e.err != nil {
		return r.check(method, e)
	}
	pc := pendingCalls.Get().(*pendingCall)
	pc.method = method
	pc.bell = r.bells.Get() // nil when none is free: the channel serves
	defer pc.recycle(r.bells)
	r.mu.Lock()
	if r.err != nil {
		err := r.err
		r.mu.Unlock()
		e.release()
		return err
	}
	r.lastID++
	id := r.lastID
	if r.pending == nil {
		r.pending = map[uint64]*pendingCall{}
	}
	r.pending[id] = pc
	start := r.startReaderLocked()
	r.mu.Unlock()
	if start {
		r.readReplies()
	}

	m := e.message(r.desc.Fingerprint, method, mage.FlagExpectsResponse|versionFlags(r.desc.Version), id)
	if deadline, ok := ctx.Deadline(); ok {
		m.Flags |= flagTimeout
		m.Payload = e.putTimeout(deadline)
	}
	if err := r.pipe.WriteMessage(m); err != nil {
		e.release()
		if !r.forget(id) {
			// A shutdown or Unbind failed the call meanwhile, and may have
			// closed the pipe under it: its reason is the call's. No reply
			// will come for Unbind to wait for.
			r.disown(id)
			return (<-pc.done).err
		}
		return r.writeError(method, err)
	}
	e.sent()
	res, replied := pc.await(ctx)
	if replied {
		if res.err != nil {
			return res.err
		}
		err := r.openReply(res.msg, d)
		switch c := CodeOf(err); {
		case (c == Canceled || c == DeadlineExceeded) && ctx.Err() != nil:
			// The callee saw the caller's own deadline or cancel first:
			// the caller's error says it.
			return ctx.Err()
		case c == DeadlineExceeded && deadlinePassed(ctx):
			// The caller's deadline has passed, but its context's timer
			// has not run yet (a busy machine): the same.
			return context.DeadlineExceeded
		}
		return err
	}
	if r.forget(id) {
		r.sendCancel(id)
	} else {
		// The result was delivered as ctx ended; drop it.
		if res := <-pc.done; res.msg != nil {
			res.msg.Close()
		}
	}
	return ctx.Err()
}

// sendCancel tells the peer that the caller of request id gave up. A
// failure means the pipe is going, and the peer learns of that instead.
func (r *Remote) sendCancel(id uint64) {
	_ = r.pipe.WriteMessage(&mage.Message{
		Interface: r.desc.Fingerprint, Method: ordinalCancel, RequestID: id, Flags: versionFlags(r.desc.Version),
	})
}

// disown tells a waiting Unbind that the reply to request id will never
// come: the request was not sent.
func (r *Remote) disown(id uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.owed[id] {
		return
	}
	delete(r.owed, id)
	if len(r.owed) == 0 {
		r.drained = true
		close(r.done)
	}
}

// forget removes a pending call, reporting whether it was still pending.
// Once it is not, its result is in its channel.
func (r *Remote) forget(id uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.pending[id]
	delete(r.pending, id)
	return ok
}

// openReply reads a reply's status and points d at its results, or
// returns the implementation's error.
func (r *Remote) openReply(m *mage.Message, d *Decoder) error {
	d.reset(m, 1, r.desc, true, r)
	// Finish gives m back (a pooled message may serve another at once):
	// what is needed of it afterwards is read now.
	method := m.Method
	if len(m.Payload) == 0 {
		d.fail("empty reply payload")
		return d.Finish()
	}
	switch m.Payload[0] {
	case replyOK:
		return nil
	case replyError:
		text := d.ReadString()
		if err := d.Finish(); err != nil {
			return err
		}
		return &RemoteError{Method: r.desc.MethodName(method), Message: text}
	case replyCodedError:
		code := Code(d.ReadInt32())
		text := d.ReadString()
		if err := d.Finish(); err != nil {
			return err
		}
		if code == OK {
			code = Unknown // an error must not read as success
		}
		return &Error{Code: code, Message: text}
	}
	d.fail("reply status %d is not %d, %d or %d", m.Payload[0], replyOK, replyError, replyCodedError)
	return d.Finish()
}

// badMessage rejects a reply that failed to decode, and shuts the Remote
// down.
func (r *Remote) badMessage(m *mage.Message, bad error) {
	// Shut down before closing the pipe, so that the reader, woken by the
	// closure, does not report it as the cause.
	err := fmt.Errorf("%w: %w", ErrDisconnected, bad)
	handler := r.shutdown(err, true)
	r.pipe.ReportBadMessage(m, bad)
	if handler != nil {
		handler(err)
	}
}

// startReaderLocked reports whether the reader is to be started (once):
// the caller calls readReplies once r.mu is released, which reads what is
// queued and arms itself on the pipe.
func (r *Remote) startReaderLocked() bool {
	if r.reading || r.err != nil {
		return false
	}
	r.reading = true
	return true
}

// readReplies is armed on the pipe with Notify: it delivers the replies
// queued on the pipe to their calls, then arms itself again. It runs on
// the goroutine that made the pipe ready, so it never waits: only one runs
// at a time, and one that finds another running tells it to read again.
// When the pipe closes it shuts the Remote down; the disconnect handler
// then runs on a goroutine of its own.
func (r *Remote) readReplies() {
	r.mu.Lock()
	if r.readerBusy {
		r.readerWoken = true
		r.mu.Unlock()
		return
	}
	r.readerBusy = true
	r.mu.Unlock()
	for {
		stop, err := r.readQueued()
		if stop {
			handler := r.shutdown(err, err != nil)
			if err != nil {
				_ = r.pipe.Close()
			}
			r.readerStopped()
			if handler != nil {
				go handler(err)
			}
			return
		}
		armed := r.pipe.Notify(r.readFn)
		r.mu.Lock()
		if !armed || r.readerWoken {
			r.readerWoken = false
			r.mu.Unlock()
			continue
		}
		r.mu.Unlock()
		r.readerStopped()
		return
	}
}

// readerStopped marks readReplies as no longer running and wakes who waits
// for that.
func (r *Remote) readerStopped() {
	r.mu.Lock()
	r.readerBusy = false
	idle := r.readerIdle
	r.readerIdle = nil
	r.mu.Unlock()
	if idle != nil {
		close(idle)
	}
}

// waitReaderIdle disarms the reader and waits until readReplies is not
// running, once the Remote has stopped (done is closed): a readReplies that
// starts afterwards finds done closed and reads nothing.
func (r *Remote) waitReaderIdle() {
	r.pipe.Notify(nil)
	r.mu.Lock()
	for r.readerBusy {
		if r.readerIdle == nil {
			r.readerIdle = make(chan struct{})
		}
		idle := r.readerIdle
		r.mu.Unlock()
		<-idle
		r.mu.Lock()
	}
	r.mu.Unlock()
}

// readQueued delivers what is queued on the pipe. It returns false when the
// pipe is empty; true when the reader is to stop: with nil once the Remote
// has stopped reading (done), else with why the pipe is gone (an error
// matching ErrDisconnected; a bad reply is reported and closes the pipe).
func (r *Remote) readQueued() (stop bool, err error) {
	if !r.pipe.IsValid() {
		// No pipe: nothing will ever arrive.
		return true, fmt.Errorf("%w: %w", ErrDisconnected, mage.ErrInvalidPipe)
	}
	for {
		select {
		case <-r.done:
			return true, nil
		default:
		}
		m, err := r.pipe.ReadMessage()
		if errors.Is(err, mage.ErrNoMessage) {
			return false, nil
		}
		if err != nil {
			return true, fmt.Errorf("%w: %w", ErrDisconnected, err)
		}
		if err := r.deliver(m); err != nil {
			r.pipe.ReportBadMessage(m, err)
			return true, fmt.Errorf("%w: %w", ErrDisconnected, err)
		}
	}
}

// deliver hands a reply to the call waiting for it. An error means m is a
// bad message.
func (r *Remote) deliver(m *mage.Message) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s reply: %s", ErrBadMessage, r.desc.MethodName(m.Method), fmt.Sprintf(format, args...))
	}
	if m.Flags&mage.FlagIsResponse == 0 {
		return bad("a request (flags %#x) arrived at a remote", m.Flags)
	}
	if m.Flags&^knownFlags != 0 || m.Flags&(mage.FlagExpectsResponse|flagTimeout) != 0 {
		return bad("flags %#x do not fit a reply", m.Flags)
	}
	if m.Interface != r.desc.Fingerprint {
		return fmt.Errorf("%w: fingerprint 0x%08x (%s) reached a remote of %s (0x%08x)", ErrWrongInterface,
			m.Interface, MethodName(m.Interface, m.Method), r.desc.Name, r.desc.Fingerprint)
	}
	r.mu.Lock()
	pc, ok := r.pending[m.RequestID]
	if !ok {
		sent := m.RequestID != 0 && m.RequestID <= r.lastID
		r.mu.Unlock()
		r.disown(m.RequestID) // Unbind may hand the pipe back once none is owed
		if sent {
			// The reply to a call that gave up (its context ended, or
			// Unbind failed it).
			m.Close()
			return nil
		}
		return bad("request id %d was never sent", m.RequestID)
	}
	if pc.method != m.Method {
		r.mu.Unlock()
		return bad("reply to request %d of method %s", m.RequestID, r.desc.MethodName(pc.method))
	}
	delete(r.pending, m.RequestID)
	r.mu.Unlock()
	pc.complete(callResult{msg: m})
	return nil
}

// shutdown stops the Remote with err (if it still runs): it fails every
// waiting call and wakes the reader. It returns the disconnect handler to
// call when the cause is the peer's side.
func (r *Remote) shutdown(err error, peer bool) func(error) {
	if err == nil {
		return nil
	}
	r.mu.Lock()
	if r.err != nil {
		if r.err == ErrUnbound && len(r.owed) > 0 {
			// Unbind is waiting for replies that will not come now.
			r.owed = nil
			close(r.done)
		}
		r.mu.Unlock()
		return nil
	}
	r.err, r.disconnected = err, peer
	pending := r.pending
	r.pending = nil
	var handler func(error)
	if peer {
		handler = r.onDisconnect
	}
	close(r.done)
	r.mu.Unlock()
	r.bells.Hold(-1)
	for _, pc := range pending {
		pc.complete(callResult{err: err})
	}
	return handler
}

// SetDisconnectHandler sets f to be called once, with the reason, when the
// pipe closes from the peer's side (the peer closed it or its process
// died) or a bad reply closes it; not after Close or Unbind. f runs after
// every waiting call has failed, on a goroutine of its own (or, when a call
// found its reply bad, on that call's goroutine); it may call Close. If the
// Remote is already disconnected, f is called before SetDisconnectHandler
// returns. Setting a handler arms the Remote on the pipe, so that it
// hears of the pipe's closure.
//
// Whether or not a handler is set, calls fail alike: with an error matching
// ErrDisconnected once the pipe is known to be gone.
func (r *Remote) SetDisconnectHandler(f func(error)) {
	if r == nil {
		if f != nil {
			f(ErrNilRemote)
		}
		return
	}
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
	start := r.startReaderLocked()
	r.mu.Unlock()
	if start {
		r.readReplies()
	}
}

// Err returns why the Remote shut down: nil while it runs, ErrRemoteClosed
// after Close, ErrUnbound after Unbind, or an error matching
// ErrDisconnected (ErrNilRemote for a nil Remote).
func (r *Remote) Err() error {
	if r == nil {
		return ErrNilRemote
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Close closes the pipe, fails every waiting call with ErrRemoteClosed and
// waits until no reply is being delivered. The disconnect handler is not
// called. Close is idempotent and always returns nil; after Unbind it does
// nothing, as the pipe is no longer the Remote's.
func (r *Remote) Close() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	drained := r.drained
	r.mu.Unlock()
	if drained {
		return nil
	}
	r.shutdown(ErrRemoteClosed, false)
	_ = r.pipe.Close()
	r.waitReaderIdle()
	return nil
}

// PendingCalls is the number of calls waiting for their replies; the
// table it counts empties as calls return, whatever ends them.
func (r *Remote) PendingCalls() int {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// deadlinePassed reports whether ctx has a deadline that has passed.
func deadlinePassed(ctx context.Context) bool {
	deadline, ok := ctx.Deadline()
	return ok && !time.Now().Before(deadline)
}
