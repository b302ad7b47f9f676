package magen

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
)

// DeriveOrdinal is the ordinal of a method declared without @N: the 32-bit
// FNV-1a hash of its name. It depends on nothing but the name, so it is
// the same in every build and every process.
func DeriveOrdinal(method string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(method))
	return h.Sum32()
}

// CanonicalText is the text an interface's fingerprint hashes: the
// interface's full name on the first line, then one line per method in
// ordinal order, "<ordinal> <Name>(<types>)" with "=>(<types>)" appended
// for a method with a reply. Types are spelled as in the language, with
// interfaces named in full; parameter names, comments and declaration
// order do not count. Types must be resolved (Load does that).
//
// Only the interface's stable part counts: what its first version has.
// Methods, parameters and results with a [MinVersion=N] are left out, so
// that every version of an interface has one fingerprint and old and new
// peers accept each other's messages.
func (i *Interface) CanonicalText() string {
	var methods []*Method
	for _, m := range i.Methods {
		if m.MinVersion == 0 {
			methods = append(methods, m)
		}
	}
	sort.SliceStable(methods, func(a, b int) bool { return methods[a].Ordinal < methods[b].Ordinal })
	var b strings.Builder
	fmt.Fprintf(&b, "interface %s\n", i.FullName())
	for _, m := range methods {
		fmt.Fprintf(&b, "%d %s(%s)", m.Ordinal, m.Name, canonicalParams(m.Params))
		if m.HasReply {
			fmt.Fprintf(&b, "=>(%s)", canonicalParams(m.Results))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// fingerprint is the first four bytes, big-endian, of the SHA-256 of the
// interface's canonical text.
func fingerprint(i *Interface) uint32 {
	sum := sha256.Sum256([]byte(i.CanonicalText()))
	return binary.BigEndian.Uint32(sum[:4])
}

func canonicalParams(params []*Param) string {
	types := make([]string, 0, len(params))
	for _, p := range params {
		if p.MinVersion == 0 {
			types = append(types, canonicalType(p.Type))
		}
	}
	return strings.Join(types, ",")
}

func canonicalType(t *Type) string {
	switch t.Kind {
	case KindArray:
		return "array<" + canonicalType(t.Elem) + ">"
	case KindPendingRemote, KindPendingReceiver:
		name := t.Name
		if t.Interface != nil {
			name = t.Interface.FullName()
		}
		return t.Kind.String() + "<" + name + ">"
	}
	return t.String()
}
