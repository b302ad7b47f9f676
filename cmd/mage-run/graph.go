package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/spec"
)

// The graph writers list every process in tree order, then the tree
// edges in the same order, then the start-order edges (after), then the
// pipes in file order, so that the same spec always gives the same text.

// nodeLabel is a process's name, with its replica count when it has more
// than one, or a mark when it is started on demand.
func nodeLabel(p *spec.Process) string {
	switch {
	case p.Count > 1:
		return fmt.Sprintf("%s ×%d", p.Name, p.Count)
	case p.OnDemand:
		return p.Name + " (on demand)"
	}
	return p.Name
}

func pipeLabel(p *spec.Pipe) string {
	return p.From.Attachment + " ↔ " + p.To.Attachment
}

// writeDOT writes the spec as a Graphviz digraph.
func writeDOT(w io.Writer, s *spec.Spec) {
	q := func(s string) string {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	fmt.Fprintf(w, "digraph %q {\n\tnode [shape=box];\n", "mage-run")
	s.Walk(func(p *spec.Process) {
		fmt.Fprintf(w, "\t%s [label=%s];\n", q(p.Name), q(nodeLabel(p)))
	})
	s.Walk(func(p *spec.Process) {
		for _, c := range p.Children {
			fmt.Fprintf(w, "\t%s -> %s;\n", q(p.Name), q(c.Name))
		}
	})
	s.Walk(func(p *spec.Process) {
		for _, a := range p.After {
			fmt.Fprintf(w, "\t%s -> %s [style=dotted, label=\"%s\"];\n", q(p.Name), q(a), afterLabel(p, a))
		}
	})
	for _, p := range s.Pipes {
		fmt.Fprintf(w, "\t%s -> %s [style=dashed, dir=none, label=%s];\n", q(p.From.Process), q(p.To.Process), q(pipeLabel(p)))
	}
	fmt.Fprintln(w, "}")
}

// writeMermaid writes the spec as a Mermaid flowchart. Nodes get ids p1,
// p2, ... in tree order: a process name such as "end" or "a--b" would
// confuse Mermaid's parser.
func writeMermaid(w io.Writer, s *spec.Spec) {
	// Mermaid text takes HTML-like entity codes; these characters would
	// otherwise end a label or start a code.
	q := strings.NewReplacer(`#`, `#35;`, `"`, `#quot;`, `|`, `#124;`).Replace
	ids := make(map[string]string)
	fmt.Fprintln(w, "flowchart TD")
	s.Walk(func(p *spec.Process) {
		ids[p.Name] = fmt.Sprintf("p%d", len(ids)+1)
		fmt.Fprintf(w, "\t%s[\"%s\"]\n", ids[p.Name], q(nodeLabel(p)))
	})
	s.Walk(func(p *spec.Process) {
		for _, c := range p.Children {
			fmt.Fprintf(w, "\t%s --> %s\n", ids[p.Name], ids[c.Name])
		}
	})
	s.Walk(func(p *spec.Process) {
		for _, a := range p.After {
			fmt.Fprintf(w, "\t%s -. %s .-> %s\n", ids[p.Name], afterLabel(p, a), ids[a])
		}
	})
	for _, p := range s.Pipes {
		fmt.Fprintf(w, "\t%s -.-|\"%s\"| %s\n", ids[p.From.Process], q(pipeLabel(p)), ids[p.To.Process])
	}
}

// afterLabel labels the edge from p to a sibling it is after: "after", or
// "after ready" for a condition other than the default.
func afterLabel(p *spec.Process, sibling string) string {
	if c := p.Conditions[sibling]; c != spec.AfterStarted {
		return "after " + c.String()
	}
	return "after"
}
