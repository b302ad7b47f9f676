package view

import (
	"fmt"
	"io"
	"sync"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/tree"
)

// Plain prints one line per change of an instance, for output that is not
// a terminal.
type Plain struct {
	// mu serialises lines.
	mu  sync.Mutex
	out io.Writer
}

// NewPlain returns a Plain view writing to out.
func NewPlain(out io.Writer) *Plain { return &Plain{out: out} }

// Event prints ev as one line: "15:04:05.000 worker#1: running (pid 123)".
func (p *Plain) Event(ev tree.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	state := ev.State.String()
	switch {
	case ev.State == tree.StateEnded:
		state = ev.Outcome.String()
	case ev.State == tree.StateRunning && ev.Ready:
		state = "ready"
	}
	line := fmt.Sprintf("%s %s: %s", ev.Time.Format("15:04:05.000"), ev.Instance, state)
	if ev.Pid != 0 && ev.State != tree.StateEnded {
		line += fmt.Sprintf(" (pid %d)", ev.Pid)
	}
	if ev.Detail != "" {
		line += ": " + ev.Detail
	}
	fmt.Fprintln(p.out, line)
}

// About prints the lines that explain the tree, once, before its events.
func (p *Plain) About(lines []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range lines {
		fmt.Fprintln(p.out, l)
	}
}
