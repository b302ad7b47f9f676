package magen

import (
	"fmt"
	"strings"
)

// File is one parsed .magen file.
type File struct {
	// Name is the file name as given to Load (or ParseFile).
	Name string
	// Package is the package statement, or nil.
	Package *PackageDecl
	// Imports are the import statements in source order.
	Imports []*Import
	// Interfaces are the declared interfaces in source order.
	Interfaces []*Interface
}

// PackageName is the file's package as written (dotted), or "".
func (f *File) PackageName() string {
	if f.Package == nil {
		return ""
	}
	return f.Package.Name
}

// GoPackage is the Go package name the file asks for: the last element of
// its package statement, or "" without one.
func (f *File) GoPackage() string {
	name := f.PackageName()
	return name[strings.LastIndexByte(name, '.')+1:]
}

// PackageDecl is `package a.b;`.
type PackageDecl struct {
	Pos  Position
	Name string // dotted
}

// Import is `import "path";`.
type Import struct {
	Pos  Position
	Path string // as written
	// File is the imported file; Load sets it.
	File *File
}

// Interface is one `interface Name { ... }` declaration.
type Interface struct {
	Pos     Position
	Name    string
	Doc     []string // comment lines directly above the declaration
	Methods []*Method
	// File is the file that declares the interface.
	File *File
	// Fingerprint identifies the interface on the wire; Load sets it.
	Fingerprint uint32
}

// FullName is the interface name qualified by its file's package, if any:
// "calc.Calculator" or "Calculator".
func (i *Interface) FullName() string {
	if pkg := i.File.PackageName(); pkg != "" {
		return pkg + "." + i.Name
	}
	return i.Name
}

// Method is one method of an interface.
type Method struct {
	Pos  Position
	Name string
	Doc  []string
	// Ordinal identifies the method on the wire. It is the explicit @N
	// when HasOrdinal, else derived from Name; Load sets derived ones.
	Ordinal    uint32
	HasOrdinal bool
	OrdinalPos Position
	Params     []*Param
	// HasReply is true when the method declares `=> (...)`, even empty.
	HasReply bool
	Results  []*Param
	// MinVersion is the interface version that added the method, from
	// [MinVersion=N]; 0 for a method of the first version.
	MinVersion    uint32
	MinVersionPos Position // of the attribute, when there is one
}

// Version is the interface's version: the highest MinVersion of its
// methods, parameters and results, 0 when nothing is versioned.
func (i *Interface) Version() uint32 {
	var v uint32
	for _, m := range i.Methods {
		v = max(v, m.MinVersion)
		for _, list := range [][]*Param{m.Params, m.Results} {
			for _, p := range list {
				v = max(v, p.MinVersion)
			}
		}
	}
	return v
}

// Param is one parameter or result.
type Param struct {
	Pos  Position
	Type *Type
	Name string
	// MinVersion is the interface version that added the parameter or
	// result, from [MinVersion=N]; 0 for one of the method's first version.
	MinVersion    uint32
	MinVersionPos Position // of the attribute, when there is one
}

// TypeKind classifies a parameter type.
type TypeKind int

// The kinds of types. KindInvalid marks a name that is no type; Load
// reports it.
const (
	KindInvalid TypeKind = iota
	KindBool
	KindInt
	KindLong
	KindDouble
	KindChar
	KindString
	KindBytes
	KindHandle
	KindMessagePipe
	KindArray
	KindPendingRemote
	KindPendingReceiver
)

var kindNames = [...]string{
	KindInvalid:         "invalid",
	KindBool:            "bool",
	KindInt:             "int",
	KindLong:            "long",
	KindDouble:          "double",
	KindChar:            "char",
	KindString:          "string",
	KindBytes:           "bytes",
	KindHandle:          "handle",
	KindMessagePipe:     "MessagePipe",
	KindArray:           "array",
	KindPendingRemote:   "pending_remote",
	KindPendingReceiver: "pending_receiver",
}

// String is the kind's keyword in the language.
func (k TypeKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("TypeKind(%d)", int(k))
}

// basicKinds maps the keyword of every type without parameters to its kind.
var basicKinds = map[string]TypeKind{
	"bool":        KindBool,
	"int":         KindInt,
	"long":        KindLong,
	"double":      KindDouble,
	"char":        KindChar,
	"string":      KindString,
	"bytes":       KindBytes,
	"handle":      KindHandle,
	"MessagePipe": KindMessagePipe,
}

// Type is a parameter type.
type Type struct {
	Pos  Position
	Kind TypeKind
	// Elem is the element type of an array.
	Elem *Type
	// Name is the interface named by pending_remote<Name> or
	// pending_receiver<Name>, or the unknown word of a KindInvalid type.
	Name string
	// Interface is the interface Name resolves to; Load sets it.
	Interface *Interface
}

// String spells the type as in the language: "array<pending_remote<Foo>>".
func (t *Type) String() string {
	switch t.Kind {
	case KindArray:
		return "array<" + t.Elem.String() + ">"
	case KindPendingRemote, KindPendingReceiver:
		return t.Kind.String() + "<" + t.Name + ">"
	case KindInvalid:
		return t.Name
	}
	return t.Kind.String()
}
