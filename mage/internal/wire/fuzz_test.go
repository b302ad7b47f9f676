package wire

import (
	"bytes"
	"testing"
)

// FuzzDecode feeds Decode arbitrary bytes. Decode must never panic, and a
// frame it accepts must re-encode to exactly the bytes it came from: there
// is one encoding per value, so nothing a peer sends can smuggle data past
// the checks.
func FuzzDecode(f *testing.F) {
	frames := sampleFrames()
	for i := range frames {
		// Big seeds make the fuzzer spend its time minimizing them; the
		// 64-port frame stays in TestRoundTrip instead.
		if b := AppendFrame(nil, &frames[i]); len(b) <= 1024 {
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Add([]byte("GM"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fr Frame
		h, herr := ParseHeader(b)
		err := Decode(b, &fr)
		if err != nil {
			return
		}
		if herr != nil {
			t.Fatalf("Decode accepted what ParseHeader refused: %v", herr)
		}
		if h.Type != fr.Type || h.Length != len(b) || h.NumPorts != fr.NumPorts || h.NumHandles != fr.NumHandles {
			t.Fatalf("header %+v disagrees with frame type %s ports %d handles %d", h, fr.Type, fr.NumPorts, fr.NumHandles)
		}
		again := AppendFrame(nil, &fr)
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, b)
		}
	})
}
