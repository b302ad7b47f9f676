package wire

import (
	"crypto/sha256"
	"fmt"
	"io"
)

// nameDomain separates the hash that makes a node name from every other
// use of SHA-256 over 32 random bytes.
const nameDomain = "mage node name v2\x00"

// NameProof is the secret a node's name is derived from: whoever shows it
// owns the name, and nobody can find it from the name. A node shows it to
// its broker only, in its Hello (docs/protocol.md, "Node names").
type NameProof [NameProofSize]byte

// Node returns the node name p proves: the first NameSize bytes of
// SHA-256(nameDomain ‖ p).
func (p *NameProof) Node() NodeName {
	h := sha256.New()
	h.Write([]byte(nameDomain))
	h.Write(p[:])
	var sum [sha256.Size]byte
	var n NodeName
	copy(n[:], h.Sum(sum[:0]))
	return n
}

// NewNameProof draws a fresh proof from r (crypto/rand.Reader in every
// real use) and returns it with the name it proves, which is never zero.
func NewNameProof(r io.Reader) (NameProof, NodeName, error) {
	for {
		var p NameProof
		if _, err := io.ReadFull(r, p[:]); err != nil {
			return NameProof{}, NodeName{}, fmt.Errorf("wire: drawing a name proof: %w", err)
		}
		if n := p.Node(); !n.IsZero() {
			return p, n, nil
		}
	}
}
