package tree

import (
	"fmt"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/spec"
)

// Stream says which output of a process a line came from.
type Stream uint8

// The streams.
const (
	Stdout Stream = iota
	Stderr
)

// String returns "stdout" or "stderr".
func (s Stream) String() string {
	switch s {
	case Stdout:
		return "stdout"
	case Stderr:
		return "stderr"
	}
	return fmt.Sprintf("Stream(%d)", uint8(s))
}

// outputLine returns what sees each line of one run of in on stream: the
// run's watch (and through it the instance's ring, for ctl logs), the
// instance's log file, and Options.Output. It is called on the goroutine
// reading that output (or the loop's, for stdout's last line), and never
// blocks on the loop.
func (t *Tree) outputLine(in *instance, w *outputWatch, stream Stream) func([]byte) {
	out := t.opts.Output
	return func(line []byte) {
		w.line(line)
		in.file.write(stream, line)
		if out != nil {
			out(in.name, stream, line)
		}
	}
}

// InstanceNames returns the names of the instances a tree of s starts
// with (not those launched on demand), in tree order: what a console
// pads its prefixes to.
func InstanceNames(s *spec.Spec) []string {
	var names []string
	var walk func(bs []*spec.Process, parent *instance)
	walk = func(bs []*spec.Process, parent *instance) {
		for _, b := range bs {
			if b.OnDemand {
				continue
			}
			for i := 1; i <= b.Count; i++ {
				in := &instance{name: instanceName(b, i, parent)}
				names = append(names, in.name)
				walk(b.Children, in)
			}
		}
	}
	walk(s.Processes, nil)
	return names
}
