package launcher

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

const (
	// maxStderrLine is the longest stderr line logged as one entry; a
	// longer line is logged in pieces of this size.
	maxStderrLine = 64 << 10
	// stderrTailLines and stderrTailWidth bound the tail kept for errors.
	stderrTailLines = 10
	stderrTailWidth = 512
)

// stderrCapture reads a child's stderr through a pipe and re-emits it,
// line by line, through the child's logger. One goroutine (run) reads;
// the child's end is the write end of the pipe.
type stderrCapture struct {
	r, w *os.File
	log  hclog.Logger
	// onLine is Options.StderrLine, or nil.
	onLine func([]byte)
	// lineOnly is Options.StderrLineOnly: lines go to onLine, not to log.
	lineOnly bool
	// done is closed when run has returned and closed r.
	done chan struct{}

	// mu guards tail.
	mu sync.Mutex
	// tail holds the last stderrTailLines lines, oldest first.
	tail []string
}

func newStderrCapture(log hclog.Logger, onLine func([]byte), lineOnly bool) (*stderrCapture, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	return &stderrCapture{r: r, w: w, log: log, onLine: onLine, lineOnly: lineOnly, done: make(chan struct{})}, nil
}

// closeChildSide closes this process's copy of the write end, once the
// child has it (or failed to start), so that EOF comes when the child and
// everything that inherited its stderr are gone.
func (s *stderrCapture) closeChildSide() { _ = s.w.Close() }

// abandon makes run return now, even though someone (a process outside the
// child's group) still holds the write end open.
func (s *stderrCapture) abandon() {
	// The read end is non-blocking and pollable, so a deadline in the past
	// interrupts a pending Read. A failure here means run already closed it.
	_ = s.r.SetReadDeadline(time.Unix(1, 0))
}

// run reads lines until EOF or abandon.
func (s *stderrCapture) run() {
	defer close(s.done)
	defer s.r.Close()
	br := bufio.NewReaderSize(s.r, maxStderrLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			s.emit(line, err == nil)
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			s.log.Warn("stopped reading stderr: still held open after the child exited")
			return
		default:
			s.log.Warn("reading stderr failed", "error", err)
			return
		}
	}
}

// emit logs one line; whole is false for a piece of an over-long line or a
// last line without a newline.
func (s *stderrCapture) emit(line []byte, whole bool) {
	line = bytes.TrimRight(line, "\r\n")
	if len(line) == 0 {
		return
	}
	s.remember(line)
	if s.onLine != nil {
		s.onLine(line)
	}
	if s.lineOnly {
		return
	}
	if whole {
		if level, msg, args, ok := parseStructured(line); ok {
			s.log.Log(level, msg, args...)
			return
		}
	}
	s.log.Info("stderr", "line", string(line))
}

// ParseLogLine recognises a whole line (without its newline) written by a
// structured logger the launcher knows: hclog's JSON format, or log/slog's
// JSON or text handler. It returns the entry's level, message and other
// keys, so that the line can be logged again as what it was; ok is false
// for any other line. The line is hostile input: parsing is bounded by its
// length and by a limit of 128 keys. Options.CaptureStderr uses it for a
// child's stderr; mage-run for its processes' stdout too.
func ParseLogLine(line []byte) (level hclog.Level, msg string, args []any, ok bool) {
	return parseStructured(line)
}

// parseStructured is ParseLogLine. A piece of a longer line is never
// given to it: it is not the whole entry.
func parseStructured(line []byte) (hclog.Level, string, []any, bool) {
	if level, msg, args, ok := parseHCLogJSON(line); ok {
		return level, msg, args, true
	}
	if level, msg, args, ok := parseSlogJSON(line); ok {
		return level, msg, args, true
	}
	return parseSlogText(line)
}

func (s *stderrCapture) remember(line []byte) {
	if len(line) > stderrTailWidth {
		line = line[:stderrTailWidth]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tail) == stderrTailLines {
		copy(s.tail, s.tail[1:])
		s.tail = s.tail[:stderrTailLines-1]
	}
	s.tail = append(s.tail, string(line))
}

// lastLines returns a copy of the tail.
func (s *stderrCapture) lastLines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tail...)
}

// hclogReserved are the keys an hclog JSON line carries besides the
// caller's: they become the entry's level and message, or are dropped
// because the parent's logger writes its own.
var hclogReserved = map[string]bool{
	"@level":     true,
	"@message":   true,
	"@timestamp": true,
	"@caller":    true,
	"@module":    true,
}

// parseHCLogJSON recognises a line written by an hclog logger with
// JSONFormat: a JSON object with a string "@message". It returns the
// entry's level (Info when absent or unknown), message, and the other keys
// as sorted key/value pairs, the child's "@module" as "module".
func parseHCLogJSON(line []byte) (hclog.Level, string, []any, bool) {
	if len(line) == 0 || line[0] != '{' {
		return 0, "", nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil || dec.More() || len(fields) > maxStructuredFields+len(hclogReserved) {
		return 0, "", nil, false
	}
	msg, ok := fields["@message"].(string)
	if !ok {
		return 0, "", nil, false
	}
	level := hclog.Info
	if name, ok := fields["@level"].(string); ok {
		if l := hclog.LevelFromString(name); l >= hclog.Trace && l <= hclog.Error {
			level = l
		}
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if !hclogReserved[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	args := make([]any, 0, 2*len(keys)+2)
	if module, ok := fields["@module"].(string); ok && module != "" {
		args = append(args, "module", module)
	}
	for _, k := range keys {
		args = append(args, k, fields[k])
	}
	return level, msg, args, true
}
