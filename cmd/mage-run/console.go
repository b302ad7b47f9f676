package main

import (
	"bytes"
	"hash/fnv"
	"io"
	"os"
	"sync"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/term"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/tree"
	"github.com/mage-ipc/mage/launcher"
)

// consoleSelf is the prefix of mage-run's own lines in console mode.
const consoleSelf = "mage-run"

// consolePalette are the SGR colours of the processes' prefixes; a
// process gets one by its instance name, so the same name has the same
// colour from one run to the next. Red is left out, as it reads as an
// error; mage-run's own prefix is bold.
var consolePalette = []string{"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"}

const (
	sgrReset = "\x1b[0m"
	sgrSelf  = "1"
)

// console writes mage-run's logs and its processes' output as one stream
// of "name | line", as foreman, overmind and process-compose print it:
// each line prefixed by the instance's name (mage-run's own lines by
// "mage-run"), padded to the longest name seen, in a colour per process
// when colour is on. A line a structured logger wrote (hclog JSON, slog)
// is shown as mage-run's own are, level, message and keys, without the
// JSON around them; any other line as the process wrote it.
//
// Line and Write may be called from any goroutine; each line goes out
// whole, in one Write to out.
type console struct {
	out   io.Writer
	color bool

	// mu guards the fields below and orders the writes to out.
	mu sync.Mutex
	// width is the longest name seen so far.
	width int
	// partial is the start of a log line whose newline has not come yet.
	partial []byte
	buf     []byte
	// render formats structured lines into rendered.
	render   hclog.Logger
	rendered bytes.Buffer
}

// newConsole returns a console writing to out; names are those its
// prefixes are padded to from the start (an instance launched later with
// a longer name widens them from then on).
func newConsole(out io.Writer, color bool, names []string) *console {
	c := &console{out: out, color: color, width: len(consoleSelf)}
	// Every level: these are the process's lines, not mage-run's log.
	c.render = hclog.New(&hclog.LoggerOptions{Output: &c.rendered, Level: hclog.Trace, DisableTime: true})
	for _, n := range names {
		c.width = max(c.width, len(n))
	}
	return c
}

// Line prints one line of an instance's output: tree.Options.Output.
func (c *console) Line(instance string, _ tree.Stream, line []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sgr := colorOf(instance)
	// A piece of an over-long line is not a whole entry.
	if level, msg, args, ok := launcher.ParseLogLine(line); ok && len(line) < 64<<10 {
		c.rendered.Reset()
		c.render.Log(level, msg, args...)
		// A value with newlines makes more than one line.
		for _, l := range bytes.Split(bytes.TrimRight(c.rendered.Bytes(), "\n"), []byte("\n")) {
			c.writeLocked(instance, sgr, l)
		}
		return
	}
	c.writeLocked(instance, sgr, line)
}

// Write takes mage-run's own log output, line by line.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rest := p
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		line := rest[:i]
		if len(c.partial) > 0 {
			line = append(c.partial, line...)
			c.partial = c.partial[:0]
		}
		c.writeLocked(consoleSelf, sgrSelf, line)
		rest = rest[i+1:]
	}
	// The logger writes whole entries; keep what it did not end, but
	// never without bound.
	if len(c.partial)+len(rest) > 64<<10 {
		c.writeLocked(consoleSelf, sgrSelf, append(c.partial, rest...))
		c.partial = c.partial[:0]
	} else {
		c.partial = append(c.partial, rest...)
	}
	return len(p), nil
}

// writeLocked writes one prefixed line.
func (c *console) writeLocked(name, sgr string, line []byte) {
	c.width = max(c.width, len(name))
	b := c.buf[:0]
	if c.color {
		b = append(b, "\x1b["...)
		b = append(b, sgr...)
		b = append(b, 'm')
	}
	b = append(b, name...)
	for range c.width - len(name) {
		b = append(b, ' ')
	}
	b = append(b, " |"...)
	if c.color {
		b = append(b, sgrReset...)
	}
	b = append(b, ' ')
	b = append(b, bytes.TrimRight(line, "\r")...)
	if c.color {
		// Whatever colour the process left on ends with its line.
		b = append(b, sgrReset...)
	}
	b = append(b, '\n')
	c.buf = b
	// Nothing to do about a console that cannot be written to.
	_, _ = c.out.Write(b)
}

// colorOf is the SGR colour of an instance's prefix.
func colorOf(instance string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(instance))
	return consolePalette[h.Sum32()%uint32(len(consolePalette))]
}

// useColor decides --color: "always" and "never" say; "auto" colours
// when w is a terminal and NO_COLOR is unset or empty (no-color.org).
func useColor(mode string, w io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
