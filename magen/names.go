package magen

import (
	gotoken "go/token"
	"strconv"
)

// reservedMethod is the one method name an interface may not declare: the
// generated FooRemote embeds *bindings.Remote, whose field takes this name.
const reservedMethod = "Remote"

// generatedNames lists the package-level Go names the generator declares
// for an interface. Two interfaces in one Go package must not share any.
func generatedNames(iface string) []string {
	return []string{
		iface,
		iface + "Remote",
		"New" + iface + "Remote",
		"Bind" + iface,
		iface + "PendingRemote",
		iface + "PendingReceiver",
		"New" + iface + "PendingRemote",
		"New" + iface + "PendingReceiver",
		"New" + iface + "Pipe",
		iface + "Fingerprint",
		iface + "Descriptor",
	}
}

// packageNames lists the package-level names generated for the interfaces
// of f and of every file it reaches by imports, which share f's Go package.
// Method bodies refer to some of them (FooPendingRemote, NewFooPendingRemote),
// so a parameter must not shadow any.
func packageNames(f *File) map[string]bool {
	names := map[string]bool{}
	seen := map[*File]bool{}
	var walk func(*File)
	walk = func(g *File) {
		if g == nil || seen[g] {
			return
		}
		seen[g] = true
		for _, iface := range g.Interfaces {
			for _, name := range generatedNames(iface.Name) {
				names[name] = true
			}
		}
		for _, imp := range g.Imports {
			walk(imp.File)
		}
	}
	walk(f)
	return names
}

// ordinalName is the name of the constant that holds m's ordinal.
func ordinalName(iface *Interface, m *Method) string {
	return "_" + iface.Name + "_" + m.Name + "_ordinal"
}

// dispatchName is the name of iface's dispatch function.
func dispatchName(iface *Interface) string { return "_" + iface.Name + "_dispatch" }

// packageLevelNames lists every package-level Go name the generator declares
// for iface: the exported ones and its unexported helpers, whose names are
// ambiguous once '_' is in names (interface A_B with method C and
// interface A with method B_C would share _A_B_C_ordinal).
func packageLevelNames(iface *Interface) []string {
	names := append(generatedNames(iface.Name), dispatchName(iface))
	for _, m := range iface.Methods {
		names = append(names, ordinalName(iface, m))
	}
	return names
}

// predeclared are Go's predeclared identifiers. A parameter that took one
// of these names would shadow it inside generated code.
var predeclared = map[string]bool{
	"any": true, "append": true, "bool": true, "byte": true, "cap": true, "clear": true,
	"close": true, "comparable": true, "complex": true, "complex64": true, "complex128": true,
	"copy": true, "delete": true, "error": true, "false": true, "float32": true, "float64": true,
	"imag": true, "int": true, "int8": true, "int16": true, "int32": true, "int64": true,
	"iota": true, "len": true, "make": true, "max": true, "min": true, "new": true, "nil": true,
	"panic": true, "print": true, "println": true, "real": true, "recover": true, "rune": true,
	"string": true, "true": true, "uint": true, "uint8": true, "uint16": true, "uint32": true,
	"uint64": true, "uintptr": true,
}

// localNames are the names generated code gives its own variables and
// imports, which parameters must not shadow.
var localNames = map[string]bool{
	"ctx": true, "err": true, "e": true, "d": true, "r": true,
	"mage": true, "bindings": true, "context": true, "os": true,
}

// goNames turns IDL parameter names into Go identifiers that are neither
// keywords, predeclared identifiers, names of generated code's own, package
// names in pkg, nor any name in taken; it appends '_' until that holds. The
// result names are added to taken.
func goNames(params []*Param, pkg, taken map[string]bool) []string {
	out := make([]string, len(params))
	for i, p := range params {
		name := p.Name
		for gotoken.IsKeyword(name) || predeclared[name] || localNames[name] || pkg[name] || taken[name] || isResultLocal(name) {
			name += "_"
		}
		taken[name] = true
		out[i] = name
	}
	return out
}

// isResultLocal reports whether name has the form r<digits>, which
// generated Remote methods use for decoded results.
func isResultLocal(name string) bool {
	if len(name) < 2 || name[0] != 'r' {
		return false
	}
	_, err := strconv.Atoi(name[1:])
	return err == nil
}
