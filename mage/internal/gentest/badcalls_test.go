package gentest_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
	"github.com/mage-ipc/mage/mage/internal/gentest/calcv1"
)

// Header bits of the bindings (docs/protocol.md, "Bindings control"),
// spelled out as a hostile peer would.
const (
	expects        = mage.FlagExpectsResponse
	isReply        = mage.FlagIsResponse
	timeoutFlag    = uint32(1 << 2)
	version1       = uint32(1 << 16)
	cancelOrdinal  = uint32(0xFFFFFFFF)
	queryOrdinal   = uint32(0xFFFFFFFE)
	requireOrdinal = uint32(0xFFFFFFFD)
)

// badCalls are requests that break the rules of cancels, timeouts,
// versions and control messages, each with a phrase of the error it must
// get. A child sends one to the parent's Calc receiver (version 1).
var badCalls = map[string]struct {
	msg  func() *mage.Message
	want string
}{
	"cancel with payload": {func() *mage.Message {
		return &mage.Message{Method: cancelOrdinal, RequestID: 1, Payload: []byte{1}}
	}, "a cancel carries nothing but a request id"},
	"timeout flag without a timeout": {func() *mage.Message {
		return &mage.Message{Method: 1, Flags: expects | timeoutFlag | version1, RequestID: 1, Payload: payload(int32(1))}
	}, "no valid timeout"},
	"negative timeout": {func() *mage.Message {
		return &mage.Message{Method: 1, Flags: expects | timeoutFlag | version1, RequestID: 1, Payload: payload(int64(-1), int32(1), int32(2), int32(3))}
	}, "no valid timeout"},
	"timeout on a one-way method": {func() *mage.Message {
		return &mage.Message{Method: 6, Flags: timeoutFlag | version1, Payload: payload(int64(1), int32(1), "x")}
	}, "has no reply but the request has a timeout"},
	"unknown flag": {func() *mage.Message {
		return &mage.Message{Method: 1, Flags: expects | 1<<3 | version1, RequestID: 1, Payload: payload(int32(1), int32(2), int32(3))}
	}, "unknown flags 0x8"},
	"method newer than its message": {func() *mage.Message {
		return &mage.Message{Method: 8, Flags: expects, RequestID: 1, Payload: payload(int32(1), int32(2))}
	}, "was added in version 1 but the request is of version 0"},
	"unknown method at the receiver's version": {func() *mage.Message {
		return &mage.Message{Method: 77, Flags: expects | version1, RequestID: 1}
	}, "has no method with ordinal 77"},
	"unknown flag on a control message": {func() *mage.Message {
		return &mage.Message{Method: queryOrdinal, Flags: expects | 1<<4, RequestID: 1}
	}, "unknown flags 0x10"},
	"unknown control method": {func() *mage.Message {
		return &mage.Message{Method: 0xFFFFFF00, Flags: version1}
	}, "has no control method"},
	"query without a reply": {func() *mage.Message {
		return &mage.Message{Method: queryOrdinal}
	}, "a query has a reply and no payload"},
	"requirement without a version": {func() *mage.Message {
		return &mage.Message{Method: requireOrdinal}
	}, "a requirement carries one int"},
}

func init() {
	for name, bad := range badCalls {
		childRoles["bad-call "+name] = func(ctx context.Context, p mage.MessagePipe) error {
			m := bad.msg()
			m.Interface = calcv1.CalcFingerprint
			if err := p.WriteMessage(m); err != nil {
				return err
			}
			return waitPeerClosed(ctx, p)
		}
	}
	// bad-reply answers the parent's first call with a reply whose flags
	// carry a timeout, which replies never have.
	childRoles["bad-reply"] = func(ctx context.Context, p mage.MessagePipe) error {
		for {
			m, err := p.ReadMessage()
			if errors.Is(err, mage.ErrNoMessage) {
				select {
				case <-p.Ready():
					continue
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if err != nil {
				return err
			}
			reply := &mage.Message{Interface: m.Interface, Method: m.Method, RequestID: m.RequestID,
				Flags: isReply | timeoutFlag | version1, Payload: payload(byte(0), int32(3), byte(0))}
			if err := p.WriteMessage(reply); err != nil {
				return err
			}
			return waitPeerClosed(ctx, p)
		}
	}
}

// waitPeerClosed reads p until its peer has closed it.
func waitPeerClosed(ctx context.Context, p mage.MessagePipe) error {
	for {
		_, err := p.ReadMessage()
		if errors.Is(err, mage.ErrPeerClosed) {
			return nil
		}
		if err != nil && !errors.Is(err, mage.ErrNoMessage) {
			return err
		}
		select {
		case <-p.Ready():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// badMessageNode is a node whose bad-message hook records its reports.
type badMessageNode struct {
	*mage.Node
	mu      sync.Mutex
	from    []mage.NodeName
	reports []error
}

func newBadMessageNode(t *testing.T) *badMessageNode {
	n := &badMessageNode{}
	n.Node = mage.NewNode(mage.NodeOptions{OnBadMessage: func(from mage.NodeName, err error) {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.from = append(n.from, from)
		n.reports = append(n.reports, err)
	}})
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// checkCharged checks that exactly one bad message was reported, from
// peer, with want in its text.
func (n *badMessageNode) checkCharged(t *testing.T, peer mage.NodeName, want string) {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.reports) != 1 || n.from[0] != peer || !errors.Is(n.reports[0], bindings.ErrBadMessage) || !strings.Contains(n.reports[0].Error(), want) {
		t.Errorf("reports %v from %v; want one bad message from the child %v saying %q", n.reports, n.from, peer, want)
	}
}

// TestBadCallsFromAnotherProcess: each broken rule of the call protocol is
// a bad message charged to the process that sent it; the implementation is
// never called.
func TestBadCallsFromAnotherProcess(t *testing.T) {
	for name, bad := range badCalls {
		t.Run(name, func(t *testing.T) {
			node := newBadMessageNode(t)
			a, b := node.CreatePipe()
			impl := &calc1{}
			impl.noted = make(chan int32, 1)
			rcv := calcv1.BindCalc(a, impl)
			defer rcv.Close()
			ch := startChild(t, node.Node, "bad-call "+name, b)
			<-rcv.Done()
			if err := rcv.Err(); !errors.Is(err, bindings.ErrBadMessage) || !strings.Contains(err.Error(), bad.want) {
				t.Fatalf("receiver stopped with %v, want a bad message saying %q", err, bad.want)
			}
			if len(impl.noted) != 0 || len(impl.allNotes()) != 0 {
				t.Error("the implementation was called")
			}
			node.checkCharged(t, ch.conn.Peer(), bad.want)
			if err := ch.wait(); err != nil {
				t.Fatalf("child: %v", err)
			}
		})
	}
}

// TestBadReplyFlagsFromAnotherProcess: a reply whose flags do not fit a
// reply fails the call with ErrDisconnected and ErrBadMessage, charged to
// the process that sent it.
func TestBadReplyFlagsFromAnotherProcess(t *testing.T) {
	ctx := testContext(t)
	node := newBadMessageNode(t)
	a, b := node.CreatePipe()
	ch := startChild(t, node.Node, "bad-reply", b)
	remote := calcv1.NewCalcRemote(a)
	defer remote.Close()
	_, _, err := remote.Add(ctx, 1, 2, 0)
	if !errors.Is(err, bindings.ErrDisconnected) || !errors.Is(err, bindings.ErrBadMessage) {
		t.Fatalf("Add = %v", err)
	}
	node.checkCharged(t, ch.conn.Peer(), "do not fit a reply")
	if err := ch.wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
}

// TestStrayCancelIgnored: a cancel for a call that is not running (done
// already, or never made) is no fault.
func TestStrayCancelIgnored(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	rcv := calcv1.BindCalc(b, &calc1{})
	defer rcv.Close()
	if err := a.WriteMessage(&mage.Message{Interface: calcv1.CalcFingerprint, Method: cancelOrdinal, RequestID: 12345}); err != nil {
		t.Fatal(err)
	}
	remote := calcv1.NewCalcRemote(a)
	defer remote.Close()
	if sum, _, err := remote.Add(ctx, 1, 2, 3); err != nil || sum != 6 {
		t.Fatalf("Add after a stray cancel = %d, %v", sum, err)
	}
}
