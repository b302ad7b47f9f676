package magen

import (
	"fmt"
	"strings"
)

// check verifies the meaning of parsed files (given in load order) and
// fills in what the parser leaves open: resolved interface references,
// derived ordinals and fingerprints.
func check(files []*File, errs *ErrorList) {
	c := &checker{errs: errs, index: map[*File]int{}}
	for i, f := range files {
		c.index[f] = i
	}
	for _, f := range files {
		c.checkPackage(f)
		for _, iface := range f.Interfaces {
			c.checkInterface(iface)
		}
	}
	for _, f := range files {
		c.checkScope(f)
	}
	if len(*errs) > 0 {
		return // fingerprints need every reference resolved
	}
	for _, f := range files {
		for _, iface := range f.Interfaces {
			iface.Fingerprint = fingerprint(iface)
		}
	}
}

type checker struct {
	errs  *ErrorList
	index map[*File]int // load order, to decide which of two is "later"
}

func (c *checker) errorf(pos Position, format string, args ...any) {
	c.errs.Addf(pos, format, args...)
}

func (c *checker) checkPackage(f *File) {
	if f.Package != nil {
		for _, part := range strings.Split(f.Package.Name, ".") {
			if !startsWithLetter(part) {
				c.errorf(f.Package.Pos, "package name %s: each element must begin with a letter", f.Package.Name)
				break
			}
		}
	}
	for _, imp := range f.Imports {
		g := imp.File
		if g == nil || g.Package == nil || f.Package == nil || g.Package.Name == f.Package.Name {
			continue
		}
		c.errorf(imp.Pos, "%s declares package %s but this file declares package %s: imported files share the importing file's Go package",
			g.Name, g.Package.Name, f.Package.Name)
	}
}

func (c *checker) checkInterface(iface *Interface) {
	if !startsWithUpper(iface.Name) {
		c.errorf(iface.Pos, "interface name %s must begin with an upper-case letter (it becomes an exported Go name)", iface.Name)
	}
	byName := map[string]*Method{}
	for _, m := range iface.Methods {
		switch {
		case !startsWithUpper(m.Name):
			c.errorf(m.Pos, "method name %s must begin with an upper-case letter (it becomes an exported Go name)", m.Name)
		case m.Name == reservedMethod:
			c.errorf(m.Pos, "method name %s is reserved: %s%s embeds *bindings.%s under that name", m.Name, iface.Name, reservedMethod, reservedMethod)
		}
		if prev, ok := byName[m.Name]; ok {
			c.errorf(m.Pos, "method %s.%s redeclared (the first is at %s)", iface.Name, m.Name, prev.Pos)
			continue
		}
		byName[m.Name] = m
		c.checkParams(m, "parameter", m.Params)
		c.checkParams(m, "result", m.Results)
		c.checkVersions(m, "parameter", m.Params)
		c.checkVersions(m, "result", m.Results)
	}
	c.assignOrdinals(iface)
	for _, m := range iface.Methods {
		if m.Ordinal >= ReservedOrdinals {
			pos := m.Pos
			if m.HasOrdinal {
				pos = m.OrdinalPos
			}
			c.errorf(pos, "method %s has ordinal %d, in the range %d and up that mage/bindings keeps for control messages; give it an explicit ordinal below it with @N",
				m.Name, m.Ordinal, uint32(ReservedOrdinals))
		}
	}
}

// ReservedOrdinals is bindings.ReservedOrdinals: the method ordinals from
// it up are the bindings' control messages (cancel, QueryVersion, ...),
// and no method may have one. magen does not import the bindings; a test
// in mage/internal/gentest checks that the two agree.
const ReservedOrdinals = 0xFFFFFF00

// checkVersions checks the [MinVersion=N] attributes of m's parameters or
// results: the versioned ones come after every unversioned one, in
// versions that never decrease, and none is older than m itself, so that an
// old reader finds the values it knows first and a new reader knows from
// the message's version where the values it knows end.
func (c *checker) checkVersions(m *Method, what string, params []*Param) {
	var last *Param
	for _, p := range params {
		switch {
		case p.MinVersion == 0 && last != nil:
			c.errorf(p.Pos, "%s %s of method %s has no [MinVersion] but follows %s %s of [MinVersion=%d] (at %s): versioned %ss must come last",
				what, p.Name, m.Name, what, last.Name, last.MinVersion, last.MinVersionPos, what)
			continue
		case p.MinVersion == 0:
			continue
		case last != nil && p.MinVersion < last.MinVersion:
			c.errorf(p.MinVersionPos, "%s %s of method %s has [MinVersion=%d], below the %d of %s %s before it: versions must not decrease",
				what, p.Name, m.Name, p.MinVersion, last.MinVersion, what, last.Name)
		case p.MinVersion < m.MinVersion:
			c.errorf(p.MinVersionPos, "%s %s has [MinVersion=%d], below the [MinVersion=%d] of its method %s",
				what, p.Name, p.MinVersion, m.MinVersion, m.Name)
		}
		last = p
	}
}

func (c *checker) checkParams(m *Method, what string, params []*Param) {
	seen := map[string]*Param{}
	for _, p := range params {
		if !startsWithLetter(p.Name) {
			c.errorf(p.Pos, "%s name %s must begin with a letter", what, p.Name)
		}
		if prev, ok := seen[p.Name]; ok {
			c.errorf(p.Pos, "duplicate %s %s in method %s (the first is at %s)", what, p.Name, m.Name, prev.Pos)
		}
		seen[p.Name] = p
	}
}

// assignOrdinals derives the ordinals of methods without @N and rejects any
// two methods that share one.
func (c *checker) assignOrdinals(iface *Interface) {
	byOrdinal := map[uint32]*Method{}
	// Explicit ordinals first, so that a derived ordinal that collides with
	// an explicit one is the one reported.
	for _, m := range iface.Methods {
		if !m.HasOrdinal {
			continue
		}
		if prev, ok := byOrdinal[m.Ordinal]; ok {
			c.errorf(m.OrdinalPos, "method %s has ordinal %d, already used by method %s at %s", m.Name, m.Ordinal, prev.Name, prev.Pos)
			continue
		}
		byOrdinal[m.Ordinal] = m
	}
	for _, m := range iface.Methods {
		if m.HasOrdinal {
			continue
		}
		m.Ordinal = DeriveOrdinal(m.Name)
		prev, ok := byOrdinal[m.Ordinal]
		switch {
		case ok && prev.Name == m.Name:
			// A redeclared method; already reported.
		case ok:
			c.errorf(m.Pos, "the derived ordinal of method %s (%d) is already used by method %s at %s; give one of them an explicit ordinal with @N",
				m.Name, m.Ordinal, prev.Name, prev.Pos)
		default:
			byOrdinal[m.Ordinal] = m
		}
	}
}

// checkScope resolves f's type references against the interfaces f can see
// (its own and those of the files it imports directly) and checks that the
// interfaces of f and every file it reaches, which all generate into one Go
// package, have distinct names and generate distinct Go names.
func (c *checker) checkScope(f *File) {
	visible := map[string]*Interface{}
	for _, iface := range f.Interfaces {
		visible[iface.Name] = iface
	}
	for _, imp := range f.Imports {
		if imp.File == nil {
			continue
		}
		for _, iface := range imp.File.Interfaces {
			if _, ok := visible[iface.Name]; !ok {
				visible[iface.Name] = iface
			}
		}
	}
	reach := c.reachable(f)
	for _, iface := range f.Interfaces {
		for _, m := range iface.Methods {
			for _, p := range m.Params {
				c.resolve(p, p.Type, visible, reach)
			}
			for _, p := range m.Results {
				c.resolve(p, p.Type, visible, reach)
			}
		}
	}
	c.checkNames(reach)
}

// reachable lists f and every file it imports, directly or not, in load
// order.
func (c *checker) reachable(f *File) []*File {
	seen := map[*File]bool{}
	var walk func(*File)
	walk = func(g *File) {
		if g == nil || seen[g] {
			return
		}
		seen[g] = true
		for _, imp := range g.Imports {
			walk(imp.File)
		}
	}
	walk(f)
	out := make([]*File, 0, len(seen))
	for g := range seen {
		out = append(out, g)
	}
	for i := 1; i < len(out); i++ { // insertion sort by load order; lists are short
		for j := i; j > 0 && c.index[out[j]] < c.index[out[j-1]]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func (c *checker) resolve(p *Param, t *Type, visible map[string]*Interface, reach []*File) {
	switch t.Kind {
	case KindArray:
		c.resolve(p, t.Elem, visible, reach)
	case KindPendingRemote, KindPendingReceiver:
		if iface, ok := visible[t.Name]; ok {
			t.Interface = iface
			return
		}
		msg := fmt.Sprintf("undefined interface %s in %s", t.Name, t)
		for _, g := range reach {
			for _, iface := range g.Interfaces {
				if iface.Name == t.Name {
					msg += fmt.Sprintf(" (it is declared in %s, which this file does not import directly)", g.Name)
				}
			}
		}
		c.errorf(t.Pos, "%s", msg)
	case KindInvalid:
		c.errorf(t.Pos, "unknown type %s%s", t.Name, typeHint(p, t, visible))
	}
}

// typeHint guesses what an unknown type name was meant to be.
func typeHint(p *Param, t *Type, visible map[string]*Interface) string {
	if _, ok := visible[t.Name]; ok {
		return fmt.Sprintf("; pass an interface as pending_remote<%s> or pending_receiver<%s>", t.Name, t.Name)
	}
	if _, ok := basicKinds[p.Name]; ok || p.Name == "array" || p.Name == "pending_remote" || p.Name == "pending_receiver" {
		return fmt.Sprintf(" (write the type first: %s %s)", p.Name, t.Name)
	}
	if want, ok := typeAliases[t.Name]; ok {
		return fmt.Sprintf(" (did you mean %s?)", want)
	}
	for word := range basicKinds {
		if strings.EqualFold(word, t.Name) {
			return fmt.Sprintf(" (did you mean %s?)", word)
		}
	}
	for _, word := range []string{"array", "pending_remote", "pending_receiver"} {
		if strings.EqualFold(word, t.Name) {
			return fmt.Sprintf(" (did you mean %s<...>?)", word)
		}
	}
	return ""
}

// typeAliases maps type names from Go and C to the magen type meant.
var typeAliases = map[string]string{
	"int32": "int", "int64": "long", "float64": "double", "float": "double",
	"byte": "char", "uint8": "char", "boolean": "bool", "str": "string",
	"file": "handle", "fd": "handle",
}

// checkNames checks that the interfaces of files generated into one Go
// package have distinct names and generate distinct Go names.
func (c *checker) checkNames(files []*File) {
	byName := map[string]*Interface{}
	byGoName := map[string]*Interface{}
	for _, f := range files {
		for _, iface := range f.Interfaces {
			if prev, ok := byName[iface.Name]; ok {
				c.errorf(iface.Pos, "interface %s redeclared (the first is at %s)", iface.Name, prev.Pos)
				continue
			}
			byName[iface.Name] = iface
			names := packageLevelNames(iface)
			for _, name := range names {
				if prev, ok := byGoName[name]; ok {
					c.errorf(iface.Pos, "interface %s conflicts with interface %s at %s: both generate the Go name %s",
						iface.Name, prev.Name, prev.Pos, name)
					break
				}
			}
			for _, name := range names {
				if _, ok := byGoName[name]; !ok {
					byGoName[name] = iface
				}
			}
		}
	}
}

func startsWithLetter(s string) bool {
	return s != "" && (s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z')
}

func startsWithUpper(s string) bool { return s != "" && s[0] >= 'A' && s[0] <= 'Z' }
