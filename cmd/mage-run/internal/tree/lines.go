package tree

import (
	"bytes"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/launcher"
)

// maxLine bounds a line kept while waiting for its end; a longer one is
// logged in pieces.
const maxLine = 64 << 10

// lineLogger is an io.Writer that logs each line written to it, for a
// process's standard output.
type lineLogger struct {
	log hclog.Logger
	key string
	// onLine, when not nil, sees each line before it is logged.
	onLine func([]byte)

	// mu guards buf; os/exec writes from one goroutine, but the Writer
	// contract does not promise it.
	mu  sync.Mutex
	buf []byte
}

func newLineLogger(log hclog.Logger, key string) *lineLogger {
	return &lineLogger{log: log, key: key}
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	rest := w.buf
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		w.emit(rest[:i])
		rest = rest[i+1:]
	}
	if len(rest) >= maxLine {
		w.emit(rest)
		rest = nil
	}
	// Keep only the unfinished line, at the start of the buffer.
	w.buf = w.buf[:copy(w.buf, rest)]
	return len(p), nil
}

func (w *lineLogger) emit(line []byte) {
	line = bytes.TrimRight(line, "\r")
	if w.onLine != nil {
		w.onLine(line)
	}
	if !w.log.IsError() {
		// Nothing would be logged (a console prints the line itself):
		// spare the parsing.
		return
	}
	// A structured line keeps its level, as on stderr; a piece of an
	// over-long line is not a whole entry.
	if len(line) < maxLine {
		if level, msg, args, ok := launcher.ParseLogLine(line); ok {
			w.log.Log(level, msg, args...)
			return
		}
	}
	w.log.Info(w.key, "line", string(line))
}

// flush logs a last line that had no newline.
func (w *lineLogger) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = nil
	}
}
