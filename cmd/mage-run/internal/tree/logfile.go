package tree

import (
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/spec"
)

// logFileTime is how each line of a log file is stamped: UTC, to the
// millisecond, so that files sort and compare across machines.
const logFileTime = "2006-01-02T15:04:05.000Z07:00"

// logFile writes an instance's output to the file of its spec's log
// block, across its runs, each line stamped with its time and stream.
// Rotation, compression and retention are lumberjack's.
//
// write and note are called by the goroutines reading the process's
// output and by the loop; release by the loop when the instance ends,
// close once the tree has ended, after which writes are dropped. A nil *logFile drops everything, for an
// instance without a log block.
//
// lumberjack v2.2.1 starts one goroutine per file on the first write
// that it never ends (natefinch/lumberjack#56): it stays parked on a
// channel, holding nothing open, until mage-run exits.
type logFile struct {
	path string
	// log is the instance's logger, for a file that cannot be written.
	log hclog.Logger

	// mu guards the fields below: the process's two outputs write from
	// two goroutines, and a line must go out whole.
	mu     sync.Mutex
	w      *lumberjack.Logger
	buf    []byte
	closed bool
	// failing is set after a failed write was logged, until a write
	// succeeds: a full disk is reported once, not for every line.
	failing bool
}

// newLogFile returns the log file of the instance named name, which
// reports its trouble through log.Named(name), or nil when l is nil.
// Nothing is opened until the first line.
func newLogFile(l *spec.Log, name string, log hclog.Logger) *logFile {
	if l == nil {
		return nil
	}
	path := l.Path(name)
	return &logFile{
		path: path,
		log:  log.Named(name),
		w: &lumberjack.Logger{
			Filename:   path,
			MaxSize:    l.MaxSizeMB,
			MaxBackups: l.MaxBackups,
			MaxAge:     l.MaxAgeDays,
			Compress:   l.Compress,
		},
	}
}

// write appends one line of the process's output.
func (f *logFile) write(stream Stream, line []byte) {
	if f == nil {
		return
	}
	f.append(stream.String(), line)
}

// note appends one line of mage-run's own about the process: where one
// run ends and the next begins.
func (f *logFile) note(text string) {
	if f == nil {
		return
	}
	f.append("mage-run", []byte(text))
}

func (f *logFile) append(source string, line []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	b := time.Now().UTC().AppendFormat(f.buf[:0], logFileTime)
	b = append(b, ' ')
	b = append(b, source...)
	b = append(b, ' ')
	b = append(b, line...)
	b = append(b, '\n')
	f.buf = b
	_, err := f.w.Write(b)
	switch {
	case err != nil && !f.failing:
		f.failing = true
		f.log.Warn("cannot write the log file; output goes on to the log only", "file", f.path, "error", err)
	case err == nil && f.failing:
		f.failing = false
		f.log.Info("writing the log file again", "file", f.path)
	}
}

// release closes the file of an instance that has ended, so that a tree
// that launches many on-demand instances does not hold a descriptor for
// each; a line after it (the instance is started again, by ctl start)
// opens the file again.
func (f *logFile) release() {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	if err := f.w.Close(); err != nil {
		f.log.Warn("closing the log file failed", "file", f.path, "error", err)
	}
}

// close closes the file for good, once the tree has ended; later lines
// are dropped.
func (f *logFile) close() {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.closed = true
	if err := f.w.Close(); err != nil {
		f.log.Warn("closing the log file failed", "file", f.path, "error", err)
	}
}
