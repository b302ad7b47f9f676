package gentest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
	"github.com/mage-ipc/mage/mage/internal/gentest/everything"
)

// FuzzGeneratedDecoders sends arbitrary payloads to receivers of generated
// interfaces. A payload is either rejected as a bad message, with the
// implementation never called, or accepted; an accepted request to an
// Echo method must come back byte for byte, which shows the generated
// decoder accepted exactly one encoding of the values it passed on.
func FuzzGeneratedDecoders(f *testing.F) {
	f.Add(uint8(0), []byte{1, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}, uint8(0))
	f.Add(uint8(3), []byte{1, 0, 0, 0, 'x', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(0))
	f.Add(uint8(3), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(0))
	f.Add(uint8(1), []byte{2, 0, 0, 0, 'n', 'o'}, uint8(1))
	f.Add(uint8(2), []byte{}, uint8(0))
	f.Add(uint8(4), []byte{1, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}, uint8(0))
	f.Fuzz(func(t *testing.T, which uint8, payload []byte, attach uint8) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		target := fuzzTargets[int(which)%len(fuzzTargets)]
		a, b := mage.CreatePipe()
		defer a.Close()
		var calls func() int32
		var rcv *bindings.Receiver
		var sets chan setArgs
		if target.desc == everything.ScalarsDescriptor {
			impl := newScalars()
			sets = impl.sets
			rcv, calls = everything.BindScalars(b, impl), impl.calls.Load
		} else {
			impl := &variableImpl{}
			rcv, calls = everything.BindVariable(b, impl), impl.calls.Load
		}
		defer rcv.Close()

		md, _ := target.desc.Method(ordinal(t, target.desc, target.method))
		m := &mage.Message{Interface: target.desc.Fingerprint, Method: md.Ordinal, Payload: payload}
		if md.HasReply {
			m.Flags, m.RequestID = mage.FlagExpectsResponse, 1
		}
		for i := 0; i < int(attach%3); i++ {
			p, q := mage.CreatePipe()
			_ = q.Close()
			m.Pipes = append(m.Pipes, p)
		}
		if err := a.WriteMessage(m); err != nil {
			t.Fatal(err)
		}
		for {
			select {
			case <-rcv.Done():
				if err := rcv.Err(); !errors.Is(err, bindings.ErrBadMessage) {
					t.Fatalf("receiver stopped with %v", err)
				}
				if calls() != 0 {
					t.Fatal("a rejected message reached the implementation")
				}
				return
			case <-sets:
				if attach%3 != 0 {
					t.Fatal("a message with extra pipes was accepted")
				}
				return
			case <-a.Ready():
				reply, err := a.ReadMessage()
				if errors.Is(err, mage.ErrNoMessage) {
					continue
				}
				if err != nil {
					// The receiver closed the pipe: a bad message.
					continue
				}
				if attach%3 != 0 {
					t.Fatal("a message with extra pipes was accepted")
				}
				if target.echoes && len(payload) < 4000 && !bytes.Equal(reply.Payload[1:], payload) { // error text over 4096 bytes is cut
					t.Fatalf("accepted %x but echoed %x", payload, reply.Payload[1:])
				}
				return
			case <-ctx.Done():
				t.Fatal("no outcome")
			}
		}
	})
}

var fuzzTargets = []struct {
	desc   *bindings.InterfaceDescriptor
	method string
	echoes bool // the reply repeats the request's payload after its status byte
}{
	{everything.ScalarsDescriptor, "Echo", true},
	{everything.ScalarsDescriptor, "Fail", true}, // the error text is the argument
	{everything.ScalarsDescriptor, "Nothing", true},
	{everything.VariableDescriptor, "Echo", true},
	{everything.ScalarsDescriptor, "Set", false},
	{everything.VariableDescriptor, "Sum", false},
}

// FuzzGeneratedAttachmentDecoders sends arbitrary payloads, with pipes and
// files attached, to a Carrier, whose methods take pipes, typed pipes and
// files, alone, in arrays and in nested arrays. Whatever the outcome, no
// attached file stays open in this process, except those the
// implementation was handed and closes: a rejected message's are closed by
// the decoder.
func FuzzGeneratedAttachmentDecoders(f *testing.F) {
	u32 := func(vs ...uint32) []byte {
		var b []byte
		for _, v := range vs {
			b = append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
		}
		return b
	}
	none := uint32(0xFFFFFFFF)
	f.Add(uint8(0), append(u32(0, 1), 'x'), uint8(1), uint8(0))      // TakePipe
	f.Add(uint8(1), u32(0), uint8(1), uint8(0))                      // PassPipe
	f.Add(uint8(2), u32(0, 1, 1, 0), uint8(0), uint8(2))             // Files
	f.Add(uint8(3), u32(1, 0, 1, 1, none), uint8(2), uint8(0))       // Mixed
	f.Add(uint8(4), u32(2, 1, 0, 1, 1, 1, 1, 0), uint8(1), uint8(2)) // Nested
	f.Add(uint8(4), u32(1, 2, 0, 1, 0), uint8(0), uint8(2))          // Nested, files only
	f.Add(uint8(4), u32(1, 2, 1, 0, 0), uint8(0), uint8(2))          // out of order
	f.Add(uint8(2), u32(none, 0, 0), uint8(0), uint8(0))             // Files, no file
	f.Fuzz(func(t *testing.T, which uint8, payload []byte, nPipes, nFiles uint8) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		target := carrierTargets[int(which)%len(carrierTargets)]
		a, b := mage.CreatePipe()
		defer a.Close()
		impl := newCarrier()
		defer impl.Close()
		rcv := everything.BindCarrier(b, impl)
		defer rcv.Close()

		md, _ := everything.CarrierDescriptor.Method(ordinal(t, everything.CarrierDescriptor, target))
		m := &mage.Message{Interface: everything.CarrierFingerprint, Method: md.Ordinal, Payload: payload}
		if md.HasReply {
			m.Flags, m.RequestID = mage.FlagExpectsResponse, 1
		}
		for i := 0; i < int(nPipes%4); i++ {
			p, q := mage.CreatePipe()
			defer q.Close()
			m.Pipes = append(m.Pipes, p)
		}
		var reads []*os.File
		for i := 0; i < int(nFiles%4); i++ {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			reads = append(reads, r)
			m.Handles = append(m.Handles, w)
		}
		if err := a.WriteMessage(m); err != nil {
			t.Fatal(err)
		}

		rejected := false
	wait:
		for {
			select {
			case <-rcv.Done():
				if err := rcv.Err(); !errors.Is(err, bindings.ErrBadMessage) {
					t.Fatalf("receiver stopped with %v", err)
				}
				if n := impl.calls.Load(); n != 0 {
					t.Fatalf("a rejected message made %d calls", n)
				}
				rejected = true
				break wait
			case tp := <-impl.pipes: // TakePipe accepted
				impl.pipes <- tp // for impl.Close
				break wait
			case <-a.Ready():
				reply, err := a.ReadMessage()
				if errors.Is(err, mage.ErrNoMessage) {
					continue
				}
				if err != nil {
					continue // closed by the receiver: rcv.Done is next
				}
				reply.Close() // the files Nested sends back
				break wait
			case <-ctx.Done():
				t.Fatal("no outcome")
			}
		}
		// Every copy of every file we sent is closed by now: reading the
		// read ends finds the end of the file (after what Files wrote).
		for i, r := range reads {
			if err := r.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadAll(r); err != nil {
				t.Fatalf("file %d of a %s message (rejected %v) still open: %v", i, target, rejected, err)
			}
		}
	})
}

// carrierTargets are the Carrier methods FuzzGeneratedAttachmentDecoders
// calls.
var carrierTargets = []string{"TakePipe", "PassPipe", "Files", "Mixed", "Nested"}
