// Package magen reads the magen interface definition language and generates
// Go bindings for it.
//
// A .magen file declares interfaces whose methods are called across a
// mage.MessagePipe:
//
//	package calc;
//	import "common.magen";
//
//	interface Calculator {
//	  Add@1(int a, int b) => (int sum);
//	  Log(string line);
//	  Watch(pending_remote<Observer> observer);
//	}
//
// Load parses files and the files they import and checks them; every problem
// is reported as an Error positioned at file:line:col, collected in an
// ErrorList. Generate turns one checked File into gofmt-clean Go source that
// imports only the standard library, github.com/mage-ipc/mage/mage and
// github.com/mage-ipc/mage/mage/bindings.
//
// The language, the type mapping, the wire encoding, ordinals, fingerprints
// and the generated API are described in docs/magen.md. The package imports
// nothing of mage: the generator knows the runtime only by the names it
// writes into generated code.
package magen
