// Command magen generates Go bindings from .magen interface definitions.
//
// Usage:
//
//	magen [-out DIR] [-package NAME] FILE.magen...
//
// For each FILE.magen it writes FILE.magen.go beside the input, or into DIR
// (which must exist) with -out. The Go package name is, in order:
// -package; the last element of the file's package statement; $GOPACKAGE
// (set by go generate) when the output goes to the current directory; the
// output directory's name.
//
// Files are checked all together before anything is written: on any error
// magen writes nothing, prints every error as file:line:col: message on
// standard error and exits with status 1 (2 for a usage error: a bad flag,
// a -package that is not a Go identifier, an -out that is not a directory).
//
// The header of each generated file records the magen version, the
// bindings API version (SupportPackageIsVersion1, which the generated code
// refers to, so that it does not compile against a mage/bindings that
// cannot run it) and the command line.
//
// In a module of your own, magen is a tool of the module, at the version
// of the mage module the code builds with:
//
//	go get -tool github.com/mage-ipc/mage/cmd/magen
//
// and, in a Go file of the package the bindings go to:
//
//	//go:generate go tool magen network_process.magen
//
// See docs/magen.md for the language, the generated API and the workflow.
package main
