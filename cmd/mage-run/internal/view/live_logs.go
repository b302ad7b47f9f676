package view

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// maxPendingLog bounds the log bytes kept between two redraws of the live
// view. Past it lines are dropped, and counted, rather than blocking the
// writer: the tree's loop and the node log while holding their own locks,
// and the view reads the node's counters between two drains.
const maxPendingLog = 1 << 20

// logBuffer is where the logs go while the live view runs: it keeps their
// lines until the view's next tick prints them above the table, all at
// once. Before the view starts they wait; once it has ended, or could not
// start, they go straight to the underlying writer.
type logBuffer struct {
	// mu guards the fields below and serialises the writes to w.
	mu      sync.Mutex
	w       io.Writer
	direct  bool
	pending []byte
	dropped int
}

func newLogBuffer(w io.Writer) *logBuffer { return &logBuffer{w: w} }

// Write keeps p for the next drain, or writes it through once the view
// has ended.
func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.direct {
		return b.w.Write(p)
	}
	if len(b.pending)+len(p) > maxPendingLog {
		b.dropped += max(bytes.Count(p, []byte("\n")), 1)
		return len(p), nil
	}
	b.pending = append(b.pending, p...)
	return len(p), nil
}

// drain returns the complete lines kept since the last drain, without
// their last newline, made safe to print (see printable); "" when there
// are none. A line not ended yet stays for the next drain.
func (b *logBuffer) drain() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	end := bytes.LastIndexByte(b.pending, '\n')
	var out strings.Builder
	if b.dropped > 0 {
		fmt.Fprintf(&out, "mage-run: %d log lines dropped: the terminal did not keep up", b.dropped)
		b.dropped = 0
		if end >= 0 {
			out.WriteByte('\n')
		}
	}
	if end < 0 {
		return out.String()
	}
	for i, line := range strings.Split(string(b.pending[:end]), "\n") {
		if i > 0 {
			out.WriteByte('\n')
		}
		out.WriteString(printable(line))
	}
	b.pending = append(b.pending[:0], b.pending[end+1:]...)
	return out.String()
}

// goDirect writes what is kept and sends later writes straight through.
func (b *logBuffer) goDirect() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.direct {
		return
	}
	b.direct = true
	if b.dropped > 0 {
		fmt.Fprintf(b.w, "mage-run: %d log lines dropped: the terminal did not keep up\n", b.dropped)
	}
	_, _ = b.w.Write(b.pending)
	b.pending = nil
}

// printable replaces the control characters of s, but tabs, with U+FFFD,
// so that a child's output cannot move the cursor or change the screen's
// modes under the view; tabs become spaces, for widths to be known.
func printable(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t':
			return ' '
		case isControl(r):
			return '\uFFFD'
		}
		return r
	}, s)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }
