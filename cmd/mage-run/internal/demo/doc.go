// Package demo is mage-run's demo tree: its spec, and the three roles its
// processes play, all in mage-run's own binary.
//
// The parent launches workers on demand through the supervisor interface.
// For each worker it makes a Calculator pipe and passes one end to the
// service and the other to the worker, so the two siblings talk over a
// pipe neither of them made. Workers call Calculator.Square with replies
// and report to the parent what they sent and what came back.
package demo

//go:generate go tool magen demo.magen
