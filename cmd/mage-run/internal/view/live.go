package view

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"golang.org/x/term"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/tree"
)

// Controller is what the live view's keys act on: a *tree.Tree.
type Controller interface {
	Restart(ctx context.Context, instance string) error
	StopInstance(ctx context.Context, instance string) error
	StartInstance(ctx context.Context, instance string) error
	Follow(ctx context.Context, instance string, last int, keep bool, sink tree.LineSink) error
}

// LiveOptions describe a live view.
type LiveOptions struct {
	// Out is the terminal the view is drawn on.
	Out io.Writer
	// Title heads the view.
	Title string
	// About, when not empty, explains the tree in a few lines, shown
	// above the table while the terminal is tall enough.
	About []string
	// StopAt, when not zero, is when the tree will be stopped by itself:
	// the view counts down to it.
	StopAt time.Time
	// Rows gives the tree's rows at each tick.
	Rows func() []tree.Row
	// Counters gives a row's message counters; nil when none are kept.
	Counters CountersFunc
	// Errors is where to say that the view could not be drawn.
	Errors io.Writer
	// Quit is called for q and ctrl-c: it asks for the tree to be stopped
	// in order, as a first SIGINT does (and, called again, killed). It
	// must not block.
	Quit func()
}

// Live is the table of a running tree on a terminal, drawn by bubbletea
// inline, below the logs: the logs scroll by above it and stay in the
// terminal's scrollback; the table never takes more than the terminal's
// height, and is redrawn at each tick (4 a second) or key, only where it
// changed.
//
// Its methods are safe for concurrent use.
type Live struct {
	opts LiveOptions
	// logs, when not nil, holds the log lines between two ticks.
	logs *logBuffer
	// ctx ends the key actions still waiting when the view closes.
	ctx    context.Context
	cancel context.CancelFunc

	// mu guards the fields below.
	mu   sync.Mutex
	prog *tea.Program
	// done is closed once the program has ended; nil before Start.
	done   chan struct{}
	closed bool
}

// NewLive returns a live view; it draws nothing until Start.
func NewLive(opts LiveOptions) *Live {
	ctx, cancel := context.WithCancel(context.Background())
	return &Live{opts: opts, ctx: ctx, cancel: cancel}
}

// LogWriter returns a writer for the logs, which writes to w, the same
// terminal as the view: its lines are printed above the table at the next
// tick. Call it before Start, once.
func (v *Live) LogWriter(w io.Writer) io.Writer {
	v.logs = newLogBuffer(w)
	return v.logs
}

// Start draws the view and reads its keys until Close; ctrl is what the
// keys act on. Keys are read from stdin when it is a terminal, else from
// the controlling terminal; without either the view is drawn without
// keys. Start returns at once.
func (v *Live) Start(ctrl Controller) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed || v.done != nil {
		return
	}
	in, closeIn := keyInput()
	m := newLiveModel(v.ctx, v.opts, ctrl, v.logs)
	m.keys = in != nil
	opts := []tea.ProgramOption{
		tea.WithOutput(v.opts.Out),
		// mage-run handles SIGINT and SIGTERM itself; ctrl-c is a key.
		tea.WithoutSignalHandler(),
		// Frames are made at each tick; this bounds the redraws a burst
		// of keys can cause.
		tea.WithFPS(framesPerSecond),
	}
	if in == nil {
		opts = append(opts, tea.WithInput(nil))
	} else {
		opts = append(opts, tea.WithInput(in))
	}
	v.prog = tea.NewProgram(m, opts...)
	v.done = make(chan struct{})
	go func(p *tea.Program, done chan struct{}) {
		defer close(done)
		defer closeIn()
		_, err := p.Run()
		if v.logs != nil {
			v.logs.goDirect()
		}
		if err != nil && v.opts.Errors != nil {
			fmt.Fprintf(v.opts.Errors, "mage-run: the live view ended: %v\n", err)
		}
	}(v.prog, v.done)
}

// Stopping shows that the tree is being stopped.
func (v *Live) Stopping() {
	v.mu.Lock()
	prog := v.prog
	v.mu.Unlock()
	if prog != nil {
		prog.Send(stoppingMsg{})
	}
}

// Close erases the view and waits for it to end; the logs written after
// go straight through.
func (v *Live) Close() {
	v.mu.Lock()
	v.closed = true
	prog, done := v.prog, v.done
	v.mu.Unlock()
	v.cancel()
	if prog != nil {
		prog.Send(closeMsg{})
		<-done
	}
	if v.logs != nil {
		v.logs.goDirect()
	}
}

// keyInput returns where to read keys from: stdin when it is a terminal,
// else the controlling terminal, else nil. The returned function closes
// what was opened.
func keyInput() (io.Reader, func()) {
	if term.IsTerminal(int(os.Stdin.Fd())) {
		return os.Stdin, func() {}
	}
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return nil, func() {}
	}
	if !term.IsTerminal(int(tty.Fd())) {
		_ = tty.Close()
		return nil, func() {}
	}
	return tty, func() { _ = tty.Close() }
}
