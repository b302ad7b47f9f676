package view

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/tree"
)

// ANSI sequences: move the cursor up n lines to column 1; erase from the
// cursor to the end of the screen.
const (
	cursorUp    = "\x1b[%dF"
	eraseScreen = "\x1b[J"
)

// Live is the table of a running tree, redrawn in place on a terminal.
//
// All methods are safe for concurrent use.
type Live struct {
	out      io.Writer
	rows     func() []tree.Row
	counters CountersFunc
	title    string
	// width returns the terminal's width, or 0 when unknown.
	width func() int

	// mu guards the fields below and serialises everything written to the
	// terminal.
	mu sync.Mutex
	// drawn is how many lines the table last drawn takes; 0 when none is
	// on the screen.
	drawn  int
	closed bool
	buf    bytes.Buffer
}

// NewLive returns a live view writing to out, a terminal. rows gives the
// tree's rows at each redraw; width, when not nil, the terminal's width,
// to which lines are cut so that none wraps (a wrapped line would throw
// off the redraw in place).
func NewLive(out io.Writer, title string, rows func() []tree.Row, counters CountersFunc, width func() int) *Live {
	return &Live{out: out, title: title, rows: rows, counters: counters, width: width}
}

// Redraw draws the table again in place.
func (v *Live) Redraw() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	v.buf.Reset()
	v.eraseLocked(&v.buf)
	v.drawLocked(&v.buf)
	_, _ = v.out.Write(v.buf.Bytes())
}

// Close erases the table for good; later redraws do nothing.
func (v *Live) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	v.closed = true
	v.buf.Reset()
	v.eraseLocked(&v.buf)
	_, _ = v.out.Write(v.buf.Bytes())
}

// LogWriter wraps w, where the logs go, so that what is written to it
// appears above the table rather than over it.
func (v *Live) LogWriter(w io.Writer) io.Writer { return &liveLogWriter{v: v, w: w} }

func (v *Live) eraseLocked(b *bytes.Buffer) {
	if v.drawn > 0 {
		fmt.Fprintf(b, cursorUp, v.drawn)
		b.WriteString(eraseScreen)
		v.drawn = 0
	}
}

func (v *Live) drawLocked(b *bytes.Buffer) {
	start := b.Len()
	rows := v.rows()
	now := time.Now()
	running, ready := 0, 0
	for _, r := range rows {
		if r.State == tree.StateRunning {
			running++
			if r.Ready {
				ready++
			}
		}
	}
	var table bytes.Buffer
	fmt.Fprintf(&table, "%s — %d processes, %d running, %d ready — %s\n", v.title, len(rows), running, ready, now.Format("15:04:05"))
	writeTable(&table, rows, v.counters, now, false)
	width := 0
	if v.width != nil {
		width = v.width()
	}
	for _, line := range strings.SplitAfter(table.String(), "\n") {
		b.WriteString(cut(line, width))
	}
	v.drawn = bytes.Count(b.Bytes()[start:], []byte("\n"))
}

// cut shortens line, which may end in a newline, to fewer than width
// runes (the last column is left free: some terminals wrap on it). A
// width of 0 leaves it alone.
func cut(line string, width int) string {
	if width <= 1 || utf8.RuneCountInString(line) < width {
		return line
	}
	nl := strings.HasSuffix(line, "\n")
	runes := []rune(strings.TrimSuffix(line, "\n"))
	if len(runes) < width {
		return line
	}
	out := string(runes[:width-1])
	if nl {
		out += "\n"
	}
	return out
}

type liveLogWriter struct {
	v *Live
	w io.Writer
}

func (l *liveLogWriter) Write(p []byte) (int, error) {
	v := l.v
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed || v.drawn == 0 {
		return l.w.Write(p)
	}
	// The log and the table may go to different files; erase and redraw
	// on the table's, write the log to its own.
	v.buf.Reset()
	v.eraseLocked(&v.buf)
	_, _ = v.out.Write(v.buf.Bytes())
	n, err := l.w.Write(p)
	v.buf.Reset()
	v.drawLocked(&v.buf)
	_, _ = v.out.Write(v.buf.Bytes())
	return n, err
}
