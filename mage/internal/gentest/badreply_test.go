package gentest_test

import (
	"errors"
	"math"
	"os"
	"testing"

	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
	"github.com/mage-ipc/mage/mage/internal/gentest/everything"
)

// TestWrongInterface binds a Scalars remote to a pipe whose other end
// serves Variable: the first call is rejected as a bad message, not
// dispatched.
func TestWrongInterface(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	impl := &variableImpl{}
	rcv := everything.BindVariable(b, impl)
	defer rcv.Close()
	remote := everything.NewScalarsRemote(a)
	defer remote.Close()
	_, _, _, _, _, err := remote.Echo(ctx, true, 1, 2, 3, 4)
	if !errors.Is(err, bindings.ErrDisconnected) {
		t.Fatalf("Echo on the wrong interface = %v, want ErrDisconnected", err)
	}
	<-rcv.Done()
	if err := rcv.Err(); !errors.Is(err, bindings.ErrWrongInterface) {
		t.Fatalf("receiver stopped with %v, want ErrWrongInterface", err)
	}
	if impl.calls.Load() != 0 {
		t.Fatal("the implementation was called")
	}
}

// TestBadReplies answers calls with malformed replies from a hand-written
// peer and checks that each call fails with a bad-message error.
func TestBadReplies(t *testing.T) {
	scalars := everything.ScalarsDescriptor
	echo := ordinal(t, scalars, "Echo")
	nothing := ordinal(t, scalars, "Nothing")
	okEcho := payload(byte(0), byte(1), int32(2), int64(3), float64(4), byte(5))

	tests := []struct {
		name  string
		reply func(req *mage.Message) *mage.Message
		want  error
	}{
		{"valid control", func(req *mage.Message) *mage.Message {
			return &mage.Message{Interface: req.Interface, Method: req.Method, Flags: mage.FlagIsResponse, RequestID: req.RequestID, Payload: okEcho}
		}, nil},
		{"short", func(req *mage.Message) *mage.Message {
			return &mage.Message{Interface: req.Interface, Method: req.Method, Flags: mage.FlagIsResponse, RequestID: req.RequestID, Payload: okEcho[:5]}
		}, bindings.ErrBadMessage},
		{"empty", func(req *mage.Message) *mage.Message {
			return &mage.Message{Interface: req.Interface, Method: req.Method, Flags: mage.FlagIsResponse, RequestID: req.RequestID}
		}, bindings.ErrBadMessage},
		{"bad status", func(req *mage.Message) *mage.Message {
			p := append([]byte{7}, okEcho[1:]...)
			return &mage.Message{Interface: req.Interface, Method: req.Method, Flags: mage.FlagIsResponse, RequestID: req.RequestID, Payload: p}
		}, bindings.ErrBadMessage},
		{"error text with trailing bytes", func(req *mage.Message) *mage.Message {
			return &mage.Message{Interface: req.Interface, Method: req.Method, Flags: mage.FlagIsResponse, RequestID: req.RequestID,
				Payload: payload(byte(1), "oops", byte(0))}
		}, bindings.ErrBadMessage},
		{"other method", func(req *mage.Message) *mage.Message {
			return &mage.Message{Interface: req.Interface, Method: nothing, Flags: mage.FlagIsResponse, RequestID: req.RequestID, Payload: []byte{0}}
		}, bindings.ErrBadMessage},
		{"request id never sent", func(req *mage.Message) *mage.Message {
			return &mage.Message{Interface: req.Interface, Method: req.Method, Flags: mage.FlagIsResponse, RequestID: req.RequestID + 100, Payload: okEcho}
		}, bindings.ErrBadMessage},
		{"not a reply", func(req *mage.Message) *mage.Message {
			return &mage.Message{Interface: req.Interface, Method: req.Method, RequestID: req.RequestID, Payload: okEcho}
		}, bindings.ErrBadMessage},
		{"wrong fingerprint", func(req *mage.Message) *mage.Message {
			return &mage.Message{Interface: req.Interface + 1, Method: req.Method, Flags: mage.FlagIsResponse, RequestID: req.RequestID, Payload: okEcho}
		}, bindings.ErrWrongInterface},
		{"extra handle", func(req *mage.Message) *mage.Message {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			_ = r.Close()
			return &mage.Message{Interface: req.Interface, Method: req.Method, Flags: mage.FlagIsResponse, RequestID: req.RequestID,
				Payload: okEcho, Handles: []*os.File{w}}
		}, bindings.ErrBadMessage},
		{"bad double is fine, bad bool is not", func(req *mage.Message) *mage.Message {
			p := payload(byte(0), byte(9), int32(2), int64(3), math.NaN(), byte(5))
			return &mage.Message{Interface: req.Interface, Method: req.Method, Flags: mage.FlagIsResponse, RequestID: req.RequestID, Payload: p}
		}, bindings.ErrBadMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			a, b := mage.CreatePipe()
			defer b.Close()
			remote := everything.NewScalarsRemote(a)
			defer remote.Close()
			gone := make(chan error, 1)
			remote.SetDisconnectHandler(func(err error) { gone <- err })
			errc := make(chan error, 1)
			go func() {
				_, _, _, _, _, err := remote.Echo(ctx, true, 2, 3, 4, 5)
				errc <- err
			}()
			req := readOne(t, ctx, b)
			if req.Method != echo || req.Flags&mage.FlagExpectsResponse == 0 || req.RequestID == 0 {
				t.Fatalf("request header %+v", req)
			}
			if err := b.WriteMessage(tt.reply(req)); err != nil {
				t.Fatal(err)
			}
			err := <-errc
			if tt.want == nil {
				if err != nil {
					t.Fatalf("valid reply: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Echo = %v, want %v", err, tt.want)
			}
			// The remote is finished and says why.
			if err := <-gone; !errors.Is(err, bindings.ErrDisconnected) || !errors.Is(err, tt.want) {
				t.Fatalf("disconnect handler got %v", err)
			}
			t.Log(err)
		})
	}
}
