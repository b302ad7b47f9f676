package wire

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"testing"
)

// TestNameProofNode pins the derivation of a node name from its proof: a
// change is a protocol change.
func TestNameProofNode(t *testing.T) {
	var seq NameProof
	for i := range seq {
		seq[i] = byte(i)
	}
	for _, tt := range []struct {
		proof NameProof
		want  string
	}{
		{NameProof{}, "035fbcb00a7dedb71f2b179668121ac9"},
		{seq, "1af0234c2fb2578defa0ffa1d0b44baa"},
	} {
		n := tt.proof.Node()
		if got := hex.EncodeToString(n[:]); got != tt.want {
			t.Errorf("proof %x proves %s, want %s", tt.proof, got, tt.want)
		}
	}
}

func TestNewNameProof(t *testing.T) {
	p, n, err := NewNameProof(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if n.IsZero() || p.Node() != n {
		t.Fatalf("NewNameProof gave name %s for a proof of %s", n, p.Node())
	}
	q, m, err := NewNameProof(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if q == p || m == n {
		t.Fatal("two proofs drawn alike")
	}
	// Fixed input gives a fixed proof; a short reader fails.
	src := bytes.Repeat([]byte{7}, NameProofSize)
	if p, _, err := NewNameProof(bytes.NewReader(src)); err != nil || !bytes.Equal(p[:], src) {
		t.Fatalf("NewNameProof(fixed) = %x, %v", p, err)
	}
	if _, _, err := NewNameProof(bytes.NewReader(src[:5])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("NewNameProof(short) error %v, want io.ErrUnexpectedEOF", err)
	}
}
