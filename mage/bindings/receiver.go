package bindings

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mage-ipc/mage/mage"
)

// DispatchFunc is the generated part of a Receiver: it decodes one request
// with d, calls the implementation, and returns the reply to send (nil for
// a method without one). An error means the request was bad; it must come
// from d (Finish) and is reported as a bad message.
type DispatchFunc func(ctx context.Context, method uint32, d *Decoder) (*Encoder, error)

// Receiver is the untyped core of a bound implementation: it reads
// requests from a pipe, validates each (interface
// fingerprint, method ordinal, flags, payload) and hands it to the
// generated dispatch function, one at a time, in order, sending the reply
// of a method that has one. An idle Receiver holds no goroutine: it is
// armed on its pipe (mage.MessagePipe.Notify), and when requests arrive
// one of the process's serving goroutines, shared by every Receiver,
// handles them and moves on (see servers.go: while any Receiver is bound,
// up to maxIdleServers serving goroutines, shared by all, wait for the
// next requests; they end with the last Receiver). A request that fails
// validation never reaches
// the implementation: it is reported as a bad message, the pipe is
// closed and the Receiver stops.
//
// A method with a reply runs with a context of its own, which has the
// caller's deadline and ends when the caller cancels (its context ended),
// when the caller's end closes, or when the Receiver is closed.
//
// All methods are safe for concurrent use. The Receiver owns its pipe
// until Unbind: while it does, the pipe cannot be sent away
// (mage.ErrPipeBound).
type Receiver struct {
	// An idle Receiver is this record alone, 64 bytes: what it needs to
	// wake, and the flags its setters write. Everything a Receiver needs
	// once it serves, stops or is asked for its state is in receiverState,
	// made then (stateLocked), so that an idle pipe with a bound Receiver
	// costs little more than the pipe.
	pipe     mage.MessagePipe
	desc     *InterfaceDescriptor
	dispatch DispatchFunc
	// wakeFn is r.wake, made once by NewReceiver (a method value made at
	// each use is an allocation).
	wakeFn func()

	// mu guards serving, woken, the pointer to receiverState and the
	// fields of receiverState said to be under it.
	mu sync.Mutex
	// flags holds flagQuit, set by the first Close or Unbind to stop
	// serving (under mu, read anywhere), flagInline, set by
	// SetDispatchInline, and flagBorrowed, by SetBorrowedBytes.
	flags atomic.Uint32
	// serving is true while a goroutine serves the pipe (serve), and from
	// Close or Unbind on; woken is set when wake fires while it does, so
	// that it reads again before going idle.
	serving, woken bool

	// receiverState is nil until the Receiver first serves, stops, or is
	// asked for its state; from then on it is never nil. Its fields are
	// promoted, so r.dec is r.receiverState.dec: code that runs only once
	// it exists (serving, stopping) reads them as the Receiver's own.
	*receiverState
}

// Bits of Receiver.flags.
const (
	flagQuit uint32 = 1 << iota
	flagInline
	flagBorrowed
)

// flag reports whether bit f of r.flags is set.
func (r *Receiver) flag(f uint32) bool { return r.flags.Load()&f != 0 }

// setFlag sets or clears bit f of r.flags.
func (r *Receiver) setFlag(f uint32, on bool) {
	if on {
		r.flags.Or(f)
	} else {
		r.flags.And(^f)
	}
}

// receiverState is the part of a Receiver that an idle one, never used,
// does not need (see Receiver).
type receiverState struct {
	// dec is reused for every request, made for the first; only the
	// serving goroutine touches it, or the method it starts while it waits.
	dec *Decoder
	// backlog holds the requests read ahead while a method ran, to find
	// the cancels behind them, in order; only the serving goroutine touches
	// it. It is handled before the pipe is read again, given back to the
	// pipe by Unbind, and dropped by Close.
	backlog []*mage.Message

	// serveFn and aheadFn are r.serve and r.readAheadNotified, each made
	// once, when first needed: serveFn by wake under mu, and aheadFn under
	// aheadMu.
	serveFn, aheadFn func()

	// aheadMu guards ahead, and the backlog while a method runs: the
	// serving goroutine and readAheadNotified, on the goroutines that
	// deliver to the pipe, both read ahead then.
	aheadMu sync.Mutex
	ahead   aheadCall

	// The fields below are under Receiver.mu.
	//
	// err is why the Receiver stopped; nil while it runs.
	err          error
	onDisconnect func(error)
	// ctx is the parent of the contexts of one-way methods and of methods
	// with a deadline; it ends when the Receiver is closed or stops. It is
	// made when first needed (rootContext), as most Receivers sit idle;
	// cancelled says it has ended, or is to be born ended.
	ctx    context.Context
	cancel context.CancelFunc
	// stopped is closed when the Receiver has stopped (see stop); it is
	// made when first asked for (Done), and hasStopped says it is to be
	// born closed.
	stopped chan struct{}
	// disconnected: err came from the peer's side.
	disconnected bool
	// unbinding is set by Unbind: serve lets the running method finish
	// and reply, and leaves the pipe open.
	unbinding  bool
	cancelled  bool
	hasStopped bool
}

// stateLocked returns r's receiverState, making it on first use. r.mu is
// held. Every path into the state's fields passes here first under r.mu
// (wake before it starts serving, the root context's functions, Close,
// Unbind and the getters), so that the goroutines that use them later see
// it made.
func (r *Receiver) stateLocked() *receiverState {
	if r.receiverState == nil {
		r.receiverState = &receiverState{}
	}
	return r.receiverState
}

// NewReceiver starts serving the interface desc describes on p, calling
// dispatch for each request. The Receiver owns p: it marks p bound, so that
// p can no longer be sent away (see mage.MessagePipe.SetBound).
func NewReceiver(p mage.MessagePipe, desc *InterfaceDescriptor, dispatch DispatchFunc) *Receiver {
	p.SetBound(true)
	servers.bind(1)
	r := &Receiver{pipe: p, desc: desc, dispatch: dispatch}
	r.wakeFn = r.wake
	if !p.Notify(r.wakeFn) {
		// Requests are queued already, or the pipe is gone: serve (or
		// stop) now.
		r.wake()
	}
	return r
}

// Descriptor describes the Receiver's interface.
func (r *Receiver) Descriptor() *InterfaceDescriptor { return r.desc }

// wake is armed on the pipe with Notify while the Receiver is idle: a
// request (or the pipe's end) has arrived, so one of the process's serving
// goroutines (servers: one lingering from earlier work, else a new one)
// serves what is queued. It runs on the goroutine that made the pipe
// ready, so it only hands the work over; if a goroutine is serving already,
// it tells it to look again before it goes idle.
func (r *Receiver) wake() {
	r.mu.Lock()
	if r.serving {
		r.woken = true
		r.mu.Unlock()
		return
	}
	r.serving = true
	r.stateLocked()
	if r.serveFn == nil {
		r.serveFn = r.serve
	}
	serve := r.serveFn
	r.mu.Unlock()
	if r.flag(flagInline) {
		r.serve()
		return
	}
	servers.run(serve)
}

// rootContext returns the Receiver's context (see Receiver.ctx), making
// it on first use.
func (r *Receiver) rootContext() context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stateLocked()
	if r.ctx == nil {
		r.ctx, r.cancel = context.WithCancel(context.Background())
		if r.cancelled {
			r.cancel()
		}
	}
	return r.ctx
}

// cancelRoot ends the Receiver's context, now or, if it was never made,
// from its birth.
func (r *Receiver) cancelRoot() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stateLocked()
	r.cancelled = true
	if r.cancel != nil {
		r.cancel()
	}
}

// rootCancelled reports whether cancelRoot ran.
func (r *Receiver) rootCancelled() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stateLocked()
	return r.cancelled
}

// SetDispatchInline makes the Receiver, when on, run its implementation on
// the goroutine that delivers requests to its pipe instead of on a
// goroutine of its own: the connection's reader for a caller in another
// process, the caller's own goroutine (inside its Send or Call) for one in
// this process. That saves a goroutine hand-off per burst of requests
// (since serving goroutines wait on bells, see servers.go, the hand-off
// costs about a microsecond and the gain is within the benchmark's noise),
// and is for implementations that return at once and never wait: while
// one runs, the connection it arrived on delivers nothing else, to any
// pipe, so a method
// that waits for another message from that connection (a cancel, a reply
// to a call of its own) waits forever, and a caller's cancel does not
// reach it until it returns. The disconnect handler runs there too.
// Requests are still handled one at a time, in order. Off by default; the
// change applies from the next request that finds the Receiver idle.
func (r *Receiver) SetDispatchInline(on bool) { r.setFlag(flagInline, on) }

// SetBorrowedBytes makes the Receiver, when on, lend the bytes arguments of
// each request to the implementation only until its method returns: the
// method must not keep them, nor anything sliced from them, after it
// returns (it copies what it keeps), and the request's payload, which they
// are part of, then goes back to the process's buffers for a later message
// to be read into (mage.Message.Release). Off (the default), the bytes are
// the implementation's to keep (a short one, of up to
// mage.MaxInlinePayload bytes, as a copy: see Decoder.ReadBytes), and a
// request from which any was lent is never given back. A one-way stream of large bytes arguments needs it on to run
// without making a fresh buffer per message. A reply's results may be
// returned from the arguments (an echo): they are encoded before the
// request goes back. The change applies from the next request.
func (r *Receiver) SetBorrowedBytes(on bool) { r.setFlag(flagBorrowed, on) }

// serve handles what is queued, then arms wake and returns, holding
// nothing while the pipe is empty. Only one serve runs at a time (serving),
// so requests are handled one at a time, in order. It stops the Receiver
// at Close or Unbind, the peer's closure or a bad message.
func (r *Receiver) serve() {
	for {
		if err := r.serveQueued(); err != nil {
			r.stop(err)
			return
		}
		armed := r.pipe.Notify(r.wakeFn)
		r.mu.Lock()
		if !armed || r.woken {
			// More came meanwhile.
			r.woken = false
			r.mu.Unlock()
			continue
		}
		if r.flag(flagQuit) {
			// Close or Unbind found this goroutine serving, and left the
			// stopping to it.
			r.mu.Unlock()
			r.pipe.Notify(nil)
			r.stop(ErrReceiverClosed)
			return
		}
		r.serving = false
		r.mu.Unlock()
		return
	}
}

// stop ends the Receiver with err: it gives the requests read ahead back to
// the pipe (Unbind) or closes it, records why, and calls the disconnect
// handler when the cause is the peer's side. It runs once, on the goroutine
// that serves, or on Close's or Unbind's when none does.
func (r *Receiver) stop(err error) {
	r.cancelRoot()
	r.mu.Lock()
	unbound := r.unbinding && errors.Is(err, ErrReceiverClosed)
	if unbound {
		err = ErrUnbound
		if uerr := r.pipe.Unread(r.backlog); uerr != nil {
			// Not expected: the backlog holds only messages without
			// attachments, the last ones read. Say so rather than hand back
			// an end that lost requests.
			err = fmt.Errorf("%w: %s: the requests read ahead could not be put back: %w", ErrDisconnected, r.desc.Name, uerr)
			unbound = false
		}
	}
	if !unbound {
		for _, m := range r.backlog {
			m.Close()
		}
		_ = r.pipe.Close()
	}
	r.backlog = nil
	r.err = err
	r.disconnected = !errors.Is(err, ErrReceiverClosed) && !unbound
	var handler func(error)
	if r.disconnected {
		handler = r.onDisconnect
	}
	r.hasStopped = true
	if r.stopped != nil {
		close(r.stopped)
	}
	r.mu.Unlock()
	servers.bind(-1)
	// The handler runs after stopped is closed, so that it may call Close.
	if handler != nil {
		handler(err)
	}
}

// serveQueued handles the requests queued on the pipe until it is empty
// (nil), Close or Unbind (ErrReceiverClosed), the peer's closure
// (ErrDisconnected) or a bad message.
func (r *Receiver) serveQueued() error {
	if !r.pipe.IsValid() {
		// No pipe (a zero MessagePipe, or a pending end that travelled as
		// "no pipe"): nothing will ever arrive, so it is disconnected from
		// the start rather than waited on forever.
		return fmt.Errorf("%w: %w", ErrDisconnected, mage.ErrInvalidPipe)
	}
	for {
		if r.flag(flagQuit) {
			return ErrReceiverClosed
		}
		m, err := r.pipe.ReadMessage()
		if errors.Is(err, mage.ErrNoMessage) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrDisconnected, err)
		}
		if err := r.handle(m); err != nil {
			return err
		}
		// What was read ahead while m ran comes before the rest of the
		// pipe.
		for len(r.backlog) > 0 {
			if r.flag(flagQuit) {
				return ErrReceiverClosed
			}
			next := r.backlog[0]
			r.backlog[0] = nil
			r.backlog = r.backlog[1:]
			if err := r.handle(next); err != nil {
				return err
			}
		}
		r.backlog = nil // let the array go
	}
}

// handle validates and dispatches one request. An error is a bad message,
// already reported, ErrReceiverClosed, or a pipe closed by RequireVersion.
func (r *Receiver) handle(m *mage.Message) error {
	if m.Method >= ReservedOrdinals && m.Flags&mage.FlagIsResponse == 0 && m.Interface == r.desc.Fingerprint {
		return r.control(m)
	}
	md, known, err := r.validate(m)
	if err != nil {
		r.pipe.ReportBadMessage(m, err)
		return err
	}
	if !known {
		return r.newerMethod(m)
	}
	off := 0
	var ctx context.Context
	if m.Flags&flagTimeout != 0 || !md.HasReply {
		ctx = r.rootContext()
	}
	if m.Flags&flagTimeout != 0 {
		if len(m.Payload) < timeoutSize || int64(binary.LittleEndian.Uint64(m.Payload)) < 0 {
			err := fmt.Errorf("%w: %s request: flag %#x but no valid timeout", ErrBadMessage, r.desc.MethodName(m.Method), flagTimeout)
			r.pipe.ReportBadMessage(m, err)
			return err
		}
		off = timeoutSize
	}
	if r.dec == nil {
		r.dec = new(Decoder)
	}
	r.dec.reset(m, off, r.desc, false, r)
	r.dec.borrowed = r.flag(flagBorrowed)
	var reply *Encoder
	if md.HasReply {
		call := aheadCall{id: m.RequestID, active: true}
		if off != 0 {
			left := time.Duration(binary.LittleEndian.Uint64(m.Payload))
			ctx, call.cancel = context.WithTimeout(ctx, left)
		} else {
			call.mc = newMethodContext()
			ctx = call.mc
		}
		reply, err = r.run(ctx, call, m)
		call.cancelCall()
	} else {
		reply, err = r.dispatch(ctx, m.Method, r.dec)
	}
	if err != nil {
		if !errors.Is(err, ErrBadMessage) {
			err = fmt.Errorf("%w: %s request: %w", ErrBadMessage, r.desc.MethodName(m.Method), err)
		}
		r.dec.reject(err) // reports unless Finish already did
		return err
	}
	if !md.HasReply {
		r.dec.release(r.flag(flagBorrowed))
		return nil
	}
	if r.flag(flagQuit) && !r.isUnbinding() {
		// Close ran while the method did: its caller learns of the
		// closure, not of a result computed under a cancelled context.
		// (Unbind lets the method finish and its reply go.)
		if reply != nil {
			reply.release()
		}
		return ErrReceiverClosed
	}
	if reply == nil {
		reply = ErrorReply(errors.New("bindings: the implementation sent no reply"))
	}
	if reply.err != nil {
		reply.release()
		reply = ErrorReply(reply.err)
	}
	r.sendReply(m, reply)
	r.dec.release(r.flag(flagBorrowed))
	return nil
}

// run calls the method of request m on the serving goroutine and, while
// it runs, reads ahead from the goroutines that deliver to the pipe
// (readAheadNotified, armed with Notify): it takes the cancels that come,
// ending ctx when one is for m and dropping the request it cancels
// otherwise, and puts the requests it passes in the backlog, which is
// handled, in order, before the pipe is read again. A pipe whose caller end
// has gone ends ctx too. Close ends ctx through the Receiver's own context;
// Unbind lets the method finish, reading ahead meanwhile, since the method
// may wait for its caller's cancel.
func (r *Receiver) run(ctx context.Context, call aheadCall, m *mage.Message) (*Encoder, error) {
	r.aheadMu.Lock()
	r.ahead = call
	r.aheadMu.Unlock()
	if r.rootCancelled() {
		// Close ran before the call was registered, so it did not end it.
		call.cancelCall()
	}
	// What is queued already, then whatever comes.
	r.readAheadNotified()
	reply, err := r.dispatch(ctx, m.Method, r.dec)
	r.pipe.Notify(nil)
	r.aheadMu.Lock()
	if r.ahead.active {
		// Take what came since the last notification too, so that the
		// backlog holds, in order, every request that arrived while the
		// method ran (up to its bound).
		r.readAhead(m.RequestID, false)
	}
	r.ahead = aheadCall{}
	r.aheadMu.Unlock()
	return reply, err
}

// aheadCall is the call whose method runs while readAheadNotified reads
// ahead.
type aheadCall struct {
	id uint64
	// mc is the context of a call without a deadline, cancel the end of
	// one with a deadline's.
	mc     *methodContext
	cancel context.CancelFunc
	// active is false once reading ahead stopped for this call (see
	// readAhead), or when no method runs.
	active bool
}

// cancelCall ends the call's context.
func (c *aheadCall) cancelCall() {
	if c.mc != nil {
		c.mc.cancel()
	}
	if c.cancel != nil {
		c.cancel()
	}
}

// readAheadNotified reads ahead for the method running now, then arms
// itself on the pipe again; with none running (a notification that fired
// as the method returned) it does nothing.
func (r *Receiver) readAheadNotified() {
	r.aheadMu.Lock()
	defer r.aheadMu.Unlock()
	for r.ahead.active {
		if !r.readAhead(r.ahead.id, true) {
			r.ahead.active = false // the method's to finish before more is read
			return
		}
		if r.aheadFn == nil {
			r.aheadFn = r.readAheadNotified
		}
		if r.pipe.Notify(r.aheadFn) {
			return
		}
	}
}

// readAhead reads what is queued while request id runs, until the pipe is
// empty (it returns true: more may come) or it stops at a message it
// leaves to serveQueued (false): one with attachments, which cannot be given
// back if the Receiver is unbound, one past the backlog's bound, or a
// cancel that is not valid. A cancel of id, or the pipe's end, ends the
// method's context when mayCancel (the method still runs). r.aheadMu is
// held.
func (r *Receiver) readAhead(id uint64, mayCancel bool) bool {
	for {
		h, ok, err := r.pipe.PeekHeader()
		if err != nil {
			r.cancelAheadLocked(mayCancel) // no one is left to take the reply
			return false
		}
		if !ok {
			return true
		}
		isCancel := h.Method == ordinalCancel && h.Interface == r.desc.Fingerprint && h.Flags&mage.FlagIsResponse == 0
		if h.Pipes+h.Handles != 0 || !isCancel && len(r.backlog) >= maxBacklog {
			return false
		}
		m, err := r.pipe.ReadMessage()
		if err != nil {
			r.cancelAheadLocked(mayCancel)
			return false
		}
		if !isCancel {
			r.backlog = append(r.backlog, m)
			continue
		}
		if r.checkCancel(m) != nil {
			// serveQueued finds it and rejects it once the method is done.
			r.backlog = append(r.backlog, m)
			return false
		}
		if m.RequestID == id {
			r.cancelAheadLocked(mayCancel)
			continue
		}
		r.dropCancelled(m.RequestID)
	}
}

// cancelAheadLocked ends the context of the call being read ahead for,
// when mayCancel (the method still runs). r.aheadMu is held.
func (r *Receiver) cancelAheadLocked(mayCancel bool) {
	if mayCancel {
		r.ahead.cancelCall()
	}
}

// maxBacklog bounds the requests read ahead while one method runs: past
// it, the rest wait on the pipe, where the runtime's limits bound them,
// and cancels behind them wait with them.
const maxBacklog = 64

// dropCancelled drops a request of the backlog that its caller cancelled
// before it ran.
func (r *Receiver) dropCancelled(id uint64) {
	for i, m := range r.backlog {
		if m.RequestID == id && m.Flags&mage.FlagExpectsResponse != 0 && m.Method < ReservedOrdinals {
			m.Close()
			r.backlog = append(r.backlog[:i], r.backlog[i+1:]...)
			return
		}
	}
}

// checkCancel validates a cancel message.
func (r *Receiver) checkCancel(m *mage.Message) error {
	if len(m.Payload) != 0 || len(m.Pipes) != 0 || len(m.Handles) != 0 || m.Flags&^knownFlags != 0 ||
		m.Flags&(mage.FlagExpectsResponse|flagTimeout) != 0 {
		return fmt.Errorf("%w: %s: a cancel carries nothing but a request id", ErrBadMessage, r.desc.MethodName(ordinalCancel))
	}
	return nil
}

// control handles a control message: a cancel for a call that is not
// running (ignored), QueryVersion or RequireVersion.
func (r *Receiver) control(m *mage.Message) error {
	name := r.desc.MethodName(m.Method)
	var err error
	switch {
	case m.Flags&^knownFlags != 0:
		err = fmt.Errorf("%w: %s: unknown flags %#x", ErrBadMessage, name, m.Flags&^knownFlags)
	case m.Method == ordinalCancel:
		if err = r.checkCancel(m); err == nil {
			return nil // the call it cancels is over
		}
	case m.Method == ordinalQueryVersion:
		// The query's deadline, if it has one, is of no use here.
		size := 0
		if m.Flags&flagTimeout != 0 {
			size = timeoutSize
		}
		if m.Flags&mage.FlagExpectsResponse == 0 || len(m.Payload) != size || len(m.Pipes)+len(m.Handles) != 0 {
			err = fmt.Errorf("%w: %s: a query has a reply and no payload", ErrBadMessage, name)
			break
		}
		e := NewReplyEncoder(4)
		e.WriteInt32(int32(r.desc.Version))
		r.sendReply(m, e)
		return nil
	case m.Method == ordinalRequireVersion:
		if m.Flags&(mage.FlagExpectsResponse|flagTimeout) != 0 || len(m.Payload) != 4 || len(m.Pipes)+len(m.Handles) != 0 {
			err = fmt.Errorf("%w: %s: a requirement carries one int and has no reply", ErrBadMessage, name)
			break
		}
		want := binary.LittleEndian.Uint32(m.Payload)
		if want <= r.desc.Version {
			return nil
		}
		// Not a fault of the peer's: it asked for a version this side does
		// not have, and Mojo's answer is to close the pipe.
		return fmt.Errorf("%w: %s: the peer requires version %d, this side has %d", ErrDisconnected, name, want, r.desc.Version)
	default:
		err = fmt.Errorf("%w: %s has no control method with ordinal %#x", ErrUnknownMethod, r.desc.Name, m.Method)
	}
	r.pipe.ReportBadMessage(m, err)
	return err
}

// newerMethod answers a request for a method this side does not have but
// the sender's newer version of the interface does: a call fails with
// Unimplemented, a message without a reply is dropped. Neither is a fault.
func (r *Receiver) newerMethod(m *mage.Message) error {
	m.Close()
	if m.Flags&mage.FlagExpectsResponse != 0 {
		r.sendReply(m, ErrorReply(Errorf(Unimplemented, "%s has no method with ordinal %d at version %d (the caller has version %d)",
			r.desc.Name, m.Method, r.desc.Version, messageVersion(m.Flags))))
	}
	return nil
}

// sendReply sends the reply to request m, consuming e.
func (r *Receiver) sendReply(m *mage.Message, reply *Encoder) {
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
}

// reply sends the reply to request m, consuming e.
func (r *Receiver) reply(m *mage.Message, e *Encoder) error {
	out := e.message(r.desc.Fingerprint, m.Method, mage.FlagIsResponse|versionFlags(r.desc.Version), m.RequestID)
	err := r.pipe.WriteMessage(out)
	if err != nil {
		e.release()
		return err
	}
	e.sent()
	return nil
}

// closing reports whether a write failed because the pipe is going away at
// either end, so that no reply can reach the caller anyway.
func closing(err error) bool {
	return errors.Is(err, mage.ErrPeerClosed) || errors.Is(err, mage.ErrPipeClosed) ||
		errors.Is(err, mage.ErrPipeMoved) || errors.Is(err, mage.ErrNodeClosed) || errors.Is(err, mage.ErrInvalidPipe)
}

// validate checks a request's header against the interface. known is false
// for a method this side does not have that a newer version may.
func (r *Receiver) validate(m *mage.Message) (md MethodDescriptor, known bool, err error) {
	if m.Interface != r.desc.Fingerprint {
		return md, false, fmt.Errorf("%w: fingerprint 0x%08x (%s) reached a receiver of %s (0x%08x)", ErrWrongInterface,
			m.Interface, MethodName(m.Interface, m.Method), r.desc.Name, r.desc.Fingerprint)
	}
	if m.Flags&mage.FlagIsResponse != 0 {
		return md, false, fmt.Errorf("%w: %s: a reply (flags %#x) arrived at a receiver", ErrBadMessage, r.desc.MethodName(m.Method), m.Flags)
	}
	if m.Flags&^knownFlags != 0 {
		return md, false, fmt.Errorf("%w: %s: unknown flags %#x", ErrBadMessage, r.desc.MethodName(m.Method), m.Flags&^knownFlags)
	}
	md, ok := r.desc.Method(m.Method)
	if !ok {
		if v := messageVersion(m.Flags); v > r.desc.Version && m.Method < ReservedOrdinals {
			return md, false, nil
		}
		return md, false, fmt.Errorf("%w: %s has no method with ordinal %d", ErrUnknownMethod, r.desc.Name, m.Method)
	}
	if v := messageVersion(m.Flags); md.MinVersion > v {
		return md, false, fmt.Errorf("%w: %s was added in version %d but the request is of version %d", ErrBadMessage,
			r.desc.MethodName(m.Method), md.MinVersion, v)
	}
	if expects := m.Flags&mage.FlagExpectsResponse != 0; expects != md.HasReply {
		if md.HasReply {
			return md, false, fmt.Errorf("%w: %s has a reply but the request does not ask for one", ErrBadMessage, r.desc.MethodName(m.Method))
		}
		return md, false, fmt.Errorf("%w: %s has no reply but the request asks for one", ErrBadMessage, r.desc.MethodName(m.Method))
	}
	if !md.HasReply && m.Flags&flagTimeout != 0 {
		return md, false, fmt.Errorf("%w: %s has no reply but the request has a timeout", ErrBadMessage, r.desc.MethodName(m.Method))
	}
	return md, true, nil
}

func (r *Receiver) badMessage(m *mage.Message, err error) {
	r.pipe.ReportBadMessage(m, err)
}

func (r *Receiver) isUnbinding() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stateLocked()
	return r.unbinding
}

// SetDisconnectHandler sets f to be called once, with the reason, when the
// Receiver stops for any cause but Close or Unbind: the peer closed the
// pipe or its process died (an error matching ErrDisconnected), or a bad
// message arrived (an error matching ErrBadMessage). f runs on the
// goroutine that was serving the Receiver, after it has stopped; it may
// call Close. If the
// Receiver has already stopped that way, f is called before
// SetDisconnectHandler returns.
func (r *Receiver) SetDisconnectHandler(f func(error)) {
	r.mu.Lock()
	r.stateLocked()
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
func (r *Receiver) Done() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stateLocked()
	if r.stopped == nil {
		r.stopped = make(chan struct{})
		if r.hasStopped {
			close(r.stopped)
		}
	}
	return r.stopped
}

// Err says why the Receiver stopped: nil while it runs, ErrReceiverClosed
// after Close, ErrUnbound after Unbind, else an error matching
// ErrDisconnected or ErrBadMessage.
func (r *Receiver) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.receiverState == nil {
		return nil // never served nor stopped
	}
	return r.err
}

// Close stops the Receiver: it cancels the context of a method running
// now, waits for that method to return, and closes the pipe; requests not
// yet handled are dropped. The disconnect handler is not called. Close is
// idempotent and returns nil. It must not be called from the
// implementation's own methods, which it would wait for (call it from
// another goroutine, or from the disconnect handler).
func (r *Receiver) Close() error {
	r.quitServing(false)
	<-r.Done()
	return nil
}

// quitHook, when set (by tests only, before any Receiver exists), is
// told when Close or Unbind begins on a Receiver: a method a test holds
// may then return.
var quitHook func(*Receiver)

// quitServing sets quit, and stops the Receiver here if no goroutine
// serves it (one that does stops it when it sees quit). Only the first
// call, of Close or Unbind, does anything; it reports whether it was the
// first.
func (r *Receiver) quitServing(unbinding bool) (first bool) {
	r.mu.Lock()
	if r.flag(flagQuit) {
		// Close or Unbind came first.
		r.mu.Unlock()
		return false
	}
	r.stateLocked().unbinding = unbinding
	r.setFlag(flagQuit, true)
	idle := !r.serving
	r.serving = true // no serve starts from now on
	r.mu.Unlock()
	if quitHook != nil {
		quitHook(r)
	}
	if !unbinding {
		r.cancelRoot()
		// The running method's context, if it has no deadline, is not a
		// child of r.ctx.
		r.aheadMu.Lock()
		r.ahead.cancelCall()
		r.aheadMu.Unlock()
	}
	if idle {
		r.pipe.Notify(nil)
		r.stop(ErrReceiverClosed)
	}
	return true
}

// Unbind stops the Receiver and hands back its pipe end, as Mojo's
// Receiver::Unbind returns a PendingReceiver: it lets the method running
// now finish and send its reply (its context is not cancelled), then
// returns the end with every request not yet handled still queued on it,
// in order, to be bound again here or in another process. Like Close, it
// must not be called from the implementation's own methods.
//
// Unbind fails with the Receiver's error if it had already stopped (closed,
// unbound, disconnected or killed by a bad message).
func (r *Receiver) Unbind() (mage.MessagePipe, error) {
	first := r.quitServing(true)
	<-r.Done()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !first || r.err != ErrUnbound {
		if r.err == ErrUnbound {
			return mage.MessagePipe{}, ErrUnbound
		}
		return mage.MessagePipe{}, r.err
	}
	// The end is the caller's again, free to be sent away.
	r.pipe.SetBound(false)
	return r.pipe, nil
}
