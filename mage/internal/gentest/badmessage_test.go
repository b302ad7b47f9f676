package gentest_test

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"sync"
	"testing"

	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
	"github.com/mage-ipc/mage/mage/internal/gentest/everything"
)

// ordinal looks a method's ordinal up in a descriptor.
func ordinal(t testing.TB, d *bindings.InterfaceDescriptor, name string) uint32 {
	t.Helper()
	for _, m := range d.Methods {
		if m.Name == name {
			return m.Ordinal
		}
	}
	t.Fatalf("%s has no method %s", d.Name, name)
	return 0
}

// payload concatenates little-endian encodings of its arguments.
func payload(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case byte:
			b = append(b, v)
		case int32:
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		case uint32:
			b = binary.LittleEndian.AppendUint32(b, v)
		case int64:
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		case float64:
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		case string:
			b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
			b = append(b, v...)
		case []byte:
			b = append(b, v...)
		default:
			panic("payload: bad part")
		}
	}
	return b
}

// TestBadRequests sends malformed requests to receivers and checks that
// each is rejected as a bad message without reaching the implementation.
func TestBadRequests(t *testing.T) {
	scalars := everything.ScalarsDescriptor
	variable := everything.VariableDescriptor
	carrier := everything.CarrierDescriptor
	set := ordinal(t, scalars, "Set")
	echo := ordinal(t, scalars, "Echo")
	sum := ordinal(t, variable, "Sum")
	take := ordinal(t, carrier, "TakePipe")
	files := ordinal(t, carrier, "Files")
	mixed := ordinal(t, carrier, "Mixed")
	okSet := payload(byte(1), int32(2), int64(3), float64(4), byte(5))

	tests := []struct {
		name    string
		desc    *bindings.InterfaceDescriptor
		msg     func() *mage.Message
		wantErr error
	}{
		{"valid control", scalars, func() *mage.Message {
			return &mage.Message{Interface: scalars.Fingerprint, Method: set, Payload: okSet}
		}, nil},
		{"short payload", scalars, func() *mage.Message {
			return &mage.Message{Interface: scalars.Fingerprint, Method: set, Payload: okSet[:len(okSet)-1]}
		}, bindings.ErrBadMessage},
		{"empty payload", scalars, func() *mage.Message {
			return &mage.Message{Interface: scalars.Fingerprint, Method: set}
		}, bindings.ErrBadMessage},
		{"trailing bytes", scalars, func() *mage.Message {
			return &mage.Message{Interface: scalars.Fingerprint, Method: set, Payload: append(okSet, 0)}
		}, bindings.ErrBadMessage},
		{"bool not 0 or 1", scalars, func() *mage.Message {
			p := append([]byte(nil), okSet...)
			p[0] = 2
			return &mage.Message{Interface: scalars.Fingerprint, Method: set, Payload: p}
		}, bindings.ErrBadMessage},
		{"unknown ordinal", scalars, func() *mage.Message {
			return &mage.Message{Interface: scalars.Fingerprint, Method: 999, Payload: okSet}
		}, bindings.ErrUnknownMethod},
		{"wrong fingerprint", scalars, func() *mage.Message {
			return &mage.Message{Interface: variable.Fingerprint, Method: set, Payload: okSet}
		}, bindings.ErrWrongInterface},
		{"one-way method asks for a reply", scalars, func() *mage.Message {
			return &mage.Message{Interface: scalars.Fingerprint, Method: set, Flags: mage.FlagExpectsResponse, RequestID: 1, Payload: okSet}
		}, bindings.ErrBadMessage},
		{"method with reply does not ask for one", scalars, func() *mage.Message {
			return &mage.Message{Interface: scalars.Fingerprint, Method: echo, Payload: okSet}
		}, bindings.ErrBadMessage},
		{"reply sent to a receiver", scalars, func() *mage.Message {
			return &mage.Message{Interface: scalars.Fingerprint, Method: set, Flags: mage.FlagIsResponse, Payload: okSet}
		}, bindings.ErrBadMessage},
		{"count larger than payload", variable, func() *mage.Message {
			return &mage.Message{Interface: variable.Fingerprint, Method: sum, Flags: mage.FlagExpectsResponse, RequestID: 1,
				Payload: payload(uint32(math.MaxUint32), int64(1))}
		}, bindings.ErrBadMessage},
		{"string length past the end", carrier, func() *mage.Message {
			p1, p2 := mage.CreatePipe()
			_ = p2.Close()
			return &mage.Message{Interface: carrier.Fingerprint, Method: take, Pipes: []mage.MessagePipe{p1},
				Payload: payload(uint32(0), uint32(100), "short")}
		}, bindings.ErrBadMessage},
		{"missing pipe", carrier, func() *mage.Message {
			return &mage.Message{Interface: carrier.Fingerprint, Method: take, Payload: payload(uint32(0), "tag")}
		}, bindings.ErrBadMessage},
		{"extra pipe", carrier, func() *mage.Message {
			p1, p2 := mage.CreatePipe()
			_ = p2.Close()
			return &mage.Message{Interface: carrier.Fingerprint, Method: take, Pipes: []mage.MessagePipe{p1},
				Payload: payload(uint32(math.MaxUint32), "tag")}
		}, bindings.ErrBadMessage},
		{"pipe index out of order", carrier, func() *mage.Message {
			p1, p2 := mage.CreatePipe()
			q1, q2 := mage.CreatePipe()
			_, _ = p2.Close(), q2.Close()
			return &mage.Message{Interface: carrier.Fingerprint, Method: mixed, Flags: mage.FlagExpectsResponse, RequestID: 1,
				Pipes: []mage.MessagePipe{p1, q1}, Payload: payload(uint32(0), uint32(2), uint32(1), uint32(0), uint32(math.MaxUint32))}
		}, bindings.ErrBadMessage},
		{"missing handle", carrier, func() *mage.Message {
			return &mage.Message{Interface: carrier.Fingerprint, Method: files, Flags: mage.FlagExpectsResponse, RequestID: 1,
				Payload: payload(uint32(0), uint32(0), "note")}
		}, bindings.ErrBadMessage},
		{"extra handle", carrier, func() *mage.Message {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			_ = r.Close()
			return &mage.Message{Interface: carrier.Fingerprint, Method: files, Flags: mage.FlagExpectsResponse, RequestID: 1,
				Handles: []*os.File{w}, Payload: payload(uint32(math.MaxUint32), uint32(0), "note")}
		}, bindings.ErrBadMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			a, b := mage.CreatePipe()
			defer a.Close()
			var calls func() int32
			var rcv *bindings.Receiver
			switch tt.desc {
			case scalars:
				impl := newScalars()
				rcv, calls = everything.BindScalars(b, impl), impl.calls.Load
			case variable:
				impl := &variableImpl{}
				rcv, calls = everything.BindVariable(b, impl), impl.calls.Load
			case carrier:
				impl := newCarrier()
				defer impl.Close()
				rcv, calls = everything.BindCarrier(b, impl), impl.calls.Load
			}
			defer rcv.Close()
			if err := a.WriteMessage(tt.msg()); err != nil {
				t.Fatal(err)
			}
			if tt.wantErr == nil {
				// Follow with a bad message, so that the receiver stops
				// after handling the good one.
				_ = a.WriteMessage(&mage.Message{Interface: 1})
			}
			select {
			case <-rcv.Done():
			case <-ctx.Done():
				t.Fatal("receiver did not stop")
			}
			err := rcv.Err()
			if tt.wantErr == nil {
				if calls() != 1 {
					t.Fatalf("the valid message made %d calls", calls())
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !errors.Is(err, bindings.ErrBadMessage) {
				t.Fatalf("receiver stopped with %v, want %v", err, tt.wantErr)
			}
			if n := calls(); n != 0 {
				t.Fatalf("the implementation was called %d times", n)
			}
			t.Log(err)
		})
	}
}

// TestBadMessageReportedOnce: each bad message reaches the node's
// bad-message hook exactly once, naming the node it came from, whether a
// receiver or a remote caught it.
func TestBadMessageReportedOnce(t *testing.T) {
	ctx := testContext(t)
	var mu sync.Mutex
	var reports []mage.NodeName
	node := mage.NewNode(mage.NodeOptions{OnBadMessage: func(from mage.NodeName, err error) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, from)
	}})
	defer node.Close()
	count := func() []mage.NodeName {
		mu.Lock()
		defer mu.Unlock()
		return append([]mage.NodeName(nil), reports...)
	}

	// A receiver rejects a request whose payload fails to decode.
	a, b := node.CreatePipe()
	rcv := everything.BindScalars(b, newScalars())
	if err := a.WriteMessage(&mage.Message{Interface: everything.ScalarsFingerprint, Method: ordinal(t, everything.ScalarsDescriptor, "Set"), Payload: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	<-rcv.Done()
	_ = a.Close()
	if got := count(); len(got) != 1 || got[0] != node.Name() {
		t.Fatalf("reports %v, want one from %v", got, node.Name())
	}

	// A remote rejects a reply that fails to decode.
	a, b = node.CreatePipe()
	defer b.Close()
	remote := everything.NewScalarsRemote(a)
	defer remote.Close()
	errc := make(chan error, 1)
	go func() { _, err := remote.Fail(ctx, "x"); errc <- err }()
	req := readOne(t, ctx, b)
	if err := b.WriteMessage(&mage.Message{Interface: req.Interface, Method: req.Method, Flags: mage.FlagIsResponse, RequestID: req.RequestID, Payload: []byte{0}}); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, bindings.ErrBadMessage) {
		t.Fatalf("Fail = %v", err)
	}
	if got := count(); len(got) != 2 {
		t.Fatalf("reports %v, want two", got)
	}
}
