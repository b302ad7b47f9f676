package tree

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Bounds on what an instance's output keeps for mage-run ctl logs.
const (
	// logLines is how many of an instance's last output lines are kept.
	logLines = 1000
	// logLineMax cuts a kept line.
	logLineMax = 4 << 10
	// maxFollowers is how many clients may follow one instance's output.
	maxFollowers = 16
)

// LineSink receives lines of an instance's output. Line must not block;
// an error drops the sink.
type LineSink interface {
	Line(text string) error
	Close() error
}

// logRing keeps an instance's last output lines, across its runs, and
// hands new ones to its followers. Its methods are called by the
// goroutines reading the process's output and by control clients.
type logRing struct {
	// mu guards the fields below.
	mu        sync.Mutex
	lines     []string
	followers []LineSink
	closed    bool
}

// add keeps text and sends it to every follower, dropping those that
// fail (gone, or too far behind: the pipe's queue is bounded).
func (r *logRing) add(text []byte) {
	if len(text) > logLineMax {
		text = text[:logLineMax]
	}
	line := string(text)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.lines) == logLines {
		r.lines = slices.Delete(r.lines, 0, 1)
	}
	r.lines = append(r.lines, line)
	r.followers = slices.DeleteFunc(r.followers, func(s LineSink) bool {
		if err := s.Line(line); err != nil {
			_ = s.Close()
			return true
		}
		return false
	})
}

// follow sends sink the last lines, then, when keep is set, registers it
// for the lines to come; otherwise closes it.
func (r *logRing) follow(sink LineSink, last int, keep bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if keep && (r.closed || len(r.followers) >= maxFollowers) {
		_ = sink.Close()
		if r.closed {
			return errTreeEnded
		}
		return fmt.Errorf("mage-run: %d clients follow this instance already", maxFollowers)
	}
	start := max(len(r.lines)-max(last, 0), 0)
	for _, line := range r.lines[start:] {
		if err := sink.Line(line); err != nil {
			_ = sink.Close()
			return nil
		}
	}
	if !keep {
		return sink.Close()
	}
	r.followers = append(r.followers, sink)
	return nil
}

// close ends every follower: the tree has ended.
func (r *logRing) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for _, s := range r.followers {
		_ = s.Close()
	}
	r.followers = nil
}

// logsRequest asks the loop for an instance's ring.
type logsRequest struct {
	instance string
	ring     chan *logRing
}

func (req logsRequest) apply(t *Tree) {
	var ring *logRing
	if i := slices.IndexFunc(t.all, func(in *instance) bool { return in.name == req.instance }); i >= 0 {
		ring = t.all[i].logs
	}
	req.ring <- ring
}

// Follow sends sink the last lines of the named instance's output (at
// most last), and with keep the lines to come until sink fails or the
// tree ends. It takes sink: on error, too, it is closed.
func (t *Tree) Follow(ctx context.Context, instance string, last int, keep bool, sink LineSink) error {
	req := logsRequest{instance: instance, ring: make(chan *logRing, 1)}
	select {
	case t.events <- req:
	case <-ctx.Done():
		_ = sink.Close()
		return ctx.Err()
	case <-t.done:
		_ = sink.Close()
		return errTreeEnded
	}
	ring := <-req.ring
	if ring == nil {
		_ = sink.Close()
		return fmt.Errorf("%w: %q", ErrNoInstance, instance)
	}
	return ring.follow(sink, last, keep)
}
