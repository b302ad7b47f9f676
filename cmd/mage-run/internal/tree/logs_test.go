package tree

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// sliceSink collects lines; it fails once full, as a pipe whose queue is
// over its bound does.
type sliceSink struct {
	lines  []string
	room   int
	closed bool
}

func (s *sliceSink) Line(text string) error {
	if len(s.lines) == s.room {
		return errors.New("full")
	}
	s.lines = append(s.lines, text)
	return nil
}

func (s *sliceSink) Close() error { s.closed = true; return nil }

func TestLogRingBounds(t *testing.T) {
	r := &logRing{}
	for i := range logLines + 5 {
		r.add([]byte(fmt.Sprint("line ", i)))
	}
	r.add([]byte(strings.Repeat("x", 2*logLineMax)))
	all := &sliceSink{room: 1 << 20}
	if err := r.follow(all, 1<<20, false); err != nil {
		t.Fatal(err)
	}
	if len(all.lines) != logLines || all.lines[0] != "line 6" || len(all.lines[logLines-1]) != logLineMax || !all.closed {
		t.Errorf("kept %d lines from %q, the last of %d bytes, closed %v; want %d from \"line 6\", the last cut to %d, closed",
			len(all.lines), all.lines[0], len(all.lines[logLines-1]), all.closed, logLines, logLineMax)
	}
}

func TestLogRingFollowers(t *testing.T) {
	r := &logRing{}
	r.add([]byte("old"))
	slow := &sliceSink{room: 2}
	fast := &sliceSink{room: 100}
	for _, s := range []*sliceSink{slow, fast} {
		if err := r.follow(s, 5, true); err != nil {
			t.Fatal(err)
		}
	}
	r.add([]byte("a"))
	r.add([]byte("b"))
	if !slow.closed || fast.closed {
		t.Errorf("a follower that cannot keep up is dropped (closed %v), the others stay (closed %v)", slow.closed, fast.closed)
	}
	if got := strings.Join(fast.lines, " "); got != "old a b" {
		t.Errorf("follower got %q, want the backlog then the new lines", got)
	}
	for range maxFollowers - 1 {
		if err := r.follow(&sliceSink{room: 100}, 0, true); err != nil {
			t.Fatal(err)
		}
	}
	extra := &sliceSink{room: 100}
	if err := r.follow(extra, 0, true); err == nil || !extra.closed {
		t.Errorf("follower %d: err %v, closed %v; want refused and closed", maxFollowers+1, err, extra.closed)
	}
	r.close()
	if !fast.closed {
		t.Error("close left a follower open")
	}
	if err := r.follow(&sliceSink{room: 1}, 0, true); !errors.Is(err, errTreeEnded) {
		t.Errorf("follow after close: %v, want errTreeEnded", err)
	}
}
