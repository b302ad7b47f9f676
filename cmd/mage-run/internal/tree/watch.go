package tree

import (
	"sync"
)

// outputWatch reads one run's output lines for what the spec looks for
// in them: the address the process announces (spec's announce) and the
// line that makes it ready (a line probe). Its methods are called by the
// goroutines that read the process's stdout and stderr, and by probers.
type outputWatch struct {
	t   *Tree
	in  *instance
	run int

	// mu guards the fields below.
	mu sync.Mutex
	// address is what the announce pattern's first group matched first;
	// empty until then.
	address string
	// readyLine is the first line that matched the line probe; empty
	// until one did.
	readyLine string
}

func newOutputWatch(t *Tree, in *instance, run int) *outputWatch {
	return &outputWatch{t: t, in: in, run: run}
}

// line looks at one line of output. It never blocks: the loop itself
// flushes stdout, so what it has to tell the loop goes by a goroutine of
// its own, which gives up once the tree is done.
func (w *outputWatch) line(text []byte) {
	w.in.logs.add(text)
	b := w.in.block
	if b.Announce == nil && (b.Ready == nil || b.Ready.Line == nil) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if b.Announce != nil && w.address == "" {
		if m := b.Announce.FindSubmatch(text); m != nil && len(m[1]) > 0 {
			w.address = string(m[1])
			go w.t.send(announcedEvent{in: w.in, run: w.run, address: w.address})
		}
	}
	if b.Ready != nil && b.Ready.Line != nil && w.readyLine == "" && b.Ready.Line.Match(text) {
		w.readyLine = "line " + strconvQuote(string(text))
		go w.t.send(readyEvent{in: w.in, run: w.run, how: w.readyLine})
	}
}

// announced returns the address the process announced, or "".
func (w *outputWatch) announced() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.address
}

// seenReadyLine says which line matched the line probe, or "" when none
// did yet.
func (w *outputWatch) seenReadyLine() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.readyLine
}
