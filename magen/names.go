package magen

import (
	gotoken "go/token"
	"strconv"
)

// reservedMethod is the one method name an interface may not declare: the
// generated FooRemote embeds *mage.Remote, whose field takes this name.
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
	"mage": true, "context": true, "os": true,
}

// goNames turns IDL parameter names into Go identifiers that are neither
// keywords, predeclared identifiers, names of generated code's own, nor any
// name in taken; it appends '_' until that holds. The result names are
// added to taken.
func goNames(params []*Param, taken map[string]bool) []string {
	out := make([]string, len(params))
	for i, p := range params {
		name := p.Name
		for gotoken.IsKeyword(name) || predeclared[name] || localNames[name] || taken[name] || isResultLocal(name) {
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
