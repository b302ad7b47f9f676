package bindings

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"testing"

	"github.com/mage-ipc/mage/mage"
)

// TestBindingsFormatConstants pins the payload format's constants: they
// are on the wire, so changing one breaks every peer built before.
func TestBindingsFormatConstants(t *testing.T) {
	for name, c := range map[string]struct{ got, want uint64 }{
		"noIndex":      {uint64(noIndex), 0xFFFFFFFF},
		"replyOK":      {uint64(replyOK), 0},
		"replyError":   {uint64(replyError), 1},
		"maxErrorText": {maxErrorText, 4096},
		"maxLen":       {maxLen, 0xFFFFFFFF},
		// The bindings' control (control.go, docs/protocol.md).
		"replyCodedError":       {uint64(replyCodedError), 2},
		"flagTimeout":           {uint64(flagTimeout), 1 << 2},
		"versionShift":          {versionShift, 16},
		"knownFlags":            {uint64(knownFlags), 0xFFFF0007},
		"timeoutSize":           {timeoutSize, 8},
		"ReservedOrdinals":      {uint64(ReservedOrdinals), 0xFFFFFF00},
		"ordinalCancel":         {uint64(ordinalCancel), 0xFFFFFFFF},
		"ordinalQueryVersion":   {uint64(ordinalQueryVersion), 0xFFFFFFFE},
		"ordinalRequireVersion": {uint64(ordinalRequireVersion), 0xFFFFFFFD},
		"MaxVersion":            {MaxVersion, 0xFFFF},
		"NotFound":              {uint64(NotFound), 5},
		"Unauthenticated":       {uint64(Unauthenticated), 16},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", name, c.got, c.want)
		}
	}
}

// TestEncodeLayout pins the bytes of every kind of value.
func TestEncodeLayout(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e := NewEncoder(0)
	e.WriteBool(true)
	e.WriteBool(false)
	e.WriteChar('A')
	e.WriteInt32(-2)
	e.WriteInt64(0x0102030405060708)
	e.WriteFloat64(1.5)
	e.WriteString("hi")
	e.WriteBytes(nil)
	WriteArray(e, []int32{7, 8}, (*Encoder).WriteInt32)
	e.WriteHandle(nil)
	e.WriteHandle(f)
	e.WritePipe(mage.MessagePipe{})
	want := "01" + "00" + "41" + "feffffff" + "0807060504030201" + "000000000000f83f" +
		"02000000" + "6869" + "00000000" + "02000000" + "07000000" + "08000000" +
		"ffffffff" + "00000000" + "ffffffff"
	if got := hex.EncodeToString(e.payload()); got != want {
		t.Errorf("payload\n got %s\nwant %s", got, want)
	}
	if len(e.handles) != 1 || e.handles[0] != f || len(e.pipes) != 0 || e.Err() != nil {
		t.Errorf("attachments %v %v, err %v", e.handles, e.pipes, e.Err())
	}
	if got := hex.EncodeToString(NewReplyEncoder(0).buf); got != "00" {
		t.Errorf("reply start %s", got)
	}
	if got := hex.EncodeToString(ErrorReply(NewError(NotFound, "no")).buf); got != "02"+"05000000"+"02000000"+"6e6f" {
		t.Errorf("coded error reply = %s", got)
	}
	if got := hex.EncodeToString(ErrorReply(errString("no")).buf); got != "01"+"02000000"+"6e6f" {
		t.Errorf("error reply %s", got)
	}
	long := ErrorReply(errString(string(make([]byte, 10000))))
	if len(long.buf) != 1+4+maxErrorText {
		t.Errorf("error text not cut: %d bytes", len(long.buf))
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestEncoderSameFileTwice(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	e := NewEncoder(0)
	e.WriteHandle(w)
	e.WriteHandle(w)
	if e.Err() == nil {
		t.Fatal("one file twice accepted")
	}
	e.release()
	if _, err := w.Write([]byte{1}); err == nil {
		t.Fatal("release did not close the file")
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	e := NewEncoder(0)
	e.WriteBool(true)
	e.WriteChar(0xff)
	e.WriteInt32(math.MinInt32)
	e.WriteInt64(math.MaxInt64)
	e.WriteFloat64(math.Inf(-1))
	e.WriteString("héllo")
	e.WriteBytes([]byte{1, 2, 3})
	e.WriteBytes(nil)
	WriteArray(e, [][]string{{"a"}, nil, {"b", "c"}}, func(e *Encoder, v []string) { WriteArray(e, v, (*Encoder).WriteString) })
	d := NewDecoder(&mage.Message{Payload: e.payload()})
	if v := d.ReadBool(); !v {
		t.Error("bool")
	}
	if v := d.ReadChar(); v != 0xff {
		t.Error("char")
	}
	if v := d.ReadInt32(); v != math.MinInt32 {
		t.Error("int")
	}
	if v := d.ReadInt64(); v != math.MaxInt64 {
		t.Error("long")
	}
	if v := d.ReadFloat64(); !math.IsInf(v, -1) {
		t.Error("double")
	}
	if v := d.ReadString(); v != "héllo" {
		t.Error("string")
	}
	if v := d.ReadBytes(); !bytes.Equal(v, []byte{1, 2, 3}) {
		t.Error("bytes")
	}
	if v := d.ReadBytes(); v != nil {
		t.Error("empty bytes are not nil")
	}
	nested := ReadArray(d, 4, func(d *Decoder) []string { return ReadArray(d, 4, (*Decoder).ReadString) })
	if len(nested) != 3 || nested[0][0] != "a" || nested[1] != nil || nested[2][1] != "c" {
		t.Errorf("nested %q", nested)
	}
	if err := d.Finish(); err != nil {
		t.Fatal(err)
	}
}

func TestDecoderRejects(t *testing.T) {
	le32 := func(v uint32) string {
		return hex.EncodeToString([]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)})
	}
	tests := []struct {
		name    string
		payload string
		read    func(d *Decoder)
	}{
		{"short int", "010203", func(d *Decoder) { d.ReadInt32() }},
		{"short long", "01020304050607", func(d *Decoder) { d.ReadInt64() }},
		{"short double", "", func(d *Decoder) { d.ReadFloat64() }},
		{"bool 2", "02", func(d *Decoder) { d.ReadBool() }},
		{"bool 255", "ff", func(d *Decoder) { d.ReadBool() }},
		{"string past end", le32(5) + "6869", func(d *Decoder) { d.ReadString() }},
		{"huge string", le32(0xFFFFFFFF), func(d *Decoder) { d.ReadString() }},
		{"huge array", le32(0x40000000) + "00000000", func(d *Decoder) { ReadArray(d, 4, (*Decoder).ReadInt32) }},
		{"array of longs too long", le32(2) + "0000000000000000", func(d *Decoder) { ReadArray(d, 8, (*Decoder).ReadInt64) }},
		{"bad element", le32(2) + "0102", func(d *Decoder) { ReadArray(d, 1, (*Decoder).ReadBool) }},
		{"trailing", "00000000" + "00", func(d *Decoder) { d.ReadInt32() }},
		{"missing pipe", le32(0), func(d *Decoder) { d.ReadPipe() }},
		{"missing handle", le32(0), func(d *Decoder) { d.ReadHandle() }},
		{"handle index skips", le32(1), func(d *Decoder) { d.ReadHandle() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := hex.DecodeString(tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			d := NewDecoder(&mage.Message{Payload: p})
			tt.read(d)
			err = d.Finish()
			if !errors.Is(err, ErrBadMessage) {
				t.Fatalf("Finish = %v, want a bad message", err)
			}
			if again := d.Finish(); again != err {
				t.Errorf("second Finish = %v", again)
			}
			// After a failure reads return zero values and do not panic.
			if d.ReadInt64() != 0 || d.ReadString() != "" || d.ReadHandle() != nil || d.ReadPipe().IsValid() {
				t.Error("reads after failure returned values")
			}
		})
	}
}

// TestDecoderClosesOnFailure: a rejected message's handles are closed, so
// a hostile peer cannot leak descriptors into this process.
func TestDecoderClosesOnFailure(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d := NewDecoder(&mage.Message{Payload: []byte{0, 0, 0, 0, 9}, Handles: []*os.File{w}})
	if d.ReadHandle() != w {
		t.Fatal("handle 0 not returned")
	}
	if err := d.Finish(); err == nil {
		t.Fatal("trailing byte accepted")
	}
	if _, err := w.Write([]byte{1}); err == nil {
		t.Fatal("handle of a rejected message left open")
	}
}

// FuzzDecoder decodes an arbitrary payload as an arbitrary sequence of
// types. It must never panic, and whatever it accepts must encode back to
// exactly the same bytes: the format has one encoding per value, so the
// decoder can accept nothing else.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6}, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{7, 8}, []byte{2, 0, 0, 0, 'h', 'i', 1, 0, 0, 0, 5, 0, 0, 0})
	f.Add([]byte{9}, []byte{2, 0, 0, 0, 1, 0, 0, 0, 'a', 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, program, payload []byte) {
		if len(program) > 64 {
			return
		}
		d := NewDecoder(&mage.Message{Payload: payload})
		e := NewEncoder(len(payload))
		for _, op := range program {
			decodeAndEncode(op%10, d, e)
		}
		if d.Finish() != nil {
			return
		}
		if !bytes.Equal(e.payload(), payload) {
			t.Fatalf("accepted %x, which re-encodes as %x", payload, e.payload())
		}
	})
}

func decodeAndEncode(op byte, d *Decoder, e *Encoder) {
	switch op {
	case 0:
		e.WriteBool(d.ReadBool())
	case 1:
		e.WriteChar(d.ReadChar())
	case 2:
		e.WriteInt32(d.ReadInt32())
	case 3:
		e.WriteInt64(d.ReadInt64())
	case 4:
		e.WriteInt64(int64(math.Float64bits(d.ReadFloat64()))) // NaN payloads kept bit for bit
	case 5:
		e.WriteString(d.ReadString())
	case 6:
		e.WriteBytes(d.ReadBytes())
	case 7:
		WriteArray(e, ReadArray(d, 4, (*Decoder).ReadString), (*Encoder).WriteString)
	case 8:
		WriteArray(e, ReadArray(d, 1, (*Decoder).ReadBool), (*Encoder).WriteBool)
	case 9:
		nested := ReadArray(d, 4, func(d *Decoder) []int32 { return ReadArray(d, 4, (*Decoder).ReadInt32) })
		WriteArray(e, nested, func(e *Encoder, v []int32) { WriteArray(e, v, (*Encoder).WriteInt32) })
	}
}
