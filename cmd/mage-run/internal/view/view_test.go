package view

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/tree"
	"github.com/mage-ipc/mage/launcher"
)

func testRows() []tree.Row {
	since := time.Now().Add(-3 * time.Second)
	return []tree.Row{
		{Instance: "parent", Process: "parent", State: tree.StateRunning, Pid: 100, Since: since,
			Ready: true, EverReady: true, ReadyAfter: 42 * time.Millisecond},
		{Instance: "worker#1", Process: "worker", Depth: 1, State: tree.StateBackoff, Restarts: 2},
		{Instance: "worker#2", Process: "worker", Depth: 1, State: tree.StateEnded, Outcome: tree.OutcomeFailed,
			LastExit: &launcher.Exit{Code: 3, Reason: "exited"}},
	}
}

func TestLiveRedrawsInPlace(t *testing.T) {
	var out bytes.Buffer
	v := NewLive(&out, "mage-run test", testRows, func(r tree.Row) (Counters, bool) {
		return Counters{In: 7, Out: 9}, r.Instance == "parent"
	}, nil)
	v.Redraw()
	first := out.String()
	lines := strings.Count(first, "\n")
	if lines != 5 { // title, header, three rows
		t.Fatalf("first draw has %d lines, want 5:\n%s", lines, first)
	}
	for _, want := range []string{
		"mage-run test — 3 processes, 1 running, 1 ready — ",
		"PROCESS     PID  STATE    RESTARTS  UPTIME  MSGS IN  MSGS OUT",
		"parent      100  ready    0         3",
		"  worker#1  -    backoff  2         -       -        -",
		"  worker#2  -    failed   0         -       -        -",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("first draw lacks %q:\n%s", want, first)
		}
	}
	if !strings.Contains(first, " 7        9\n") {
		t.Errorf("parent's counters missing:\n%s", first)
	}
	if strings.Contains(first, "\x1b") {
		t.Errorf("first draw moves the cursor: %q", first)
	}

	out.Reset()
	v.Redraw()
	// Back up over the five lines drawn, erase, draw again.
	if !strings.HasPrefix(out.String(), "\x1b[5F\x1b[J") {
		t.Errorf("redraw does not start by erasing the table: %q", out.String())
	}

	// A log line goes above the table: erase, the line, the table again.
	out.Reset()
	var logs bytes.Buffer
	w := v.LogWriter(&logs)
	fmt.Fprintln(w, "a log line")
	if logs.String() != "a log line\n" {
		t.Errorf("log got %q", logs.String())
	}
	if got := out.String(); !strings.HasPrefix(got, "\x1b[5F\x1b[J") || !strings.Contains(got, "PROCESS") {
		t.Errorf("the table was not erased and redrawn around the log line: %q", got)
	}

	out.Reset()
	v.Close()
	if out.String() != "\x1b[5F\x1b[J" {
		t.Errorf("Close wrote %q, want the table erased", out.String())
	}
	out.Reset()
	v.Redraw()
	fmt.Fprintln(w, "after close")
	if out.Len() != 0 {
		t.Errorf("a closed view drew again: %q", out.String())
	}
	if !strings.HasSuffix(logs.String(), "after close\n") {
		t.Errorf("logging after Close lost the line: %q", logs.String())
	}
}

func TestSummary(t *testing.T) {
	var out bytes.Buffer
	WriteSummary(&out, testRows(), nil)
	want := "PROCESS     RESULT   RESTARTS  MSGS IN  MSGS OUT  LAST EXIT               READY\n" +
		"parent      running  0         -        -         -                       after 42ms\n" +
		"  worker#1  backoff  2         -        -         -                       -\n" +
		"  worker#2  failed   0         -        -         exited (exit status 3)  never\n"
	if out.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestPlain(t *testing.T) {
	var out bytes.Buffer
	p := NewPlain(&out)
	at := time.Date(2026, 12, 1, 14, 2, 7, 512e6, time.UTC)
	p.Event(tree.Event{Time: at, Instance: "worker#1", State: tree.StateRunning, Pid: 42})
	p.Event(tree.Event{Time: at, Instance: "worker#1", State: tree.StateRunning, Ready: true, Pid: 42})
	p.Event(tree.Event{Time: at, Instance: "worker#1", State: tree.StateBackoff, Detail: "exited (exit status 3); restart 1 in 100ms"})
	p.Event(tree.Event{Time: at, Instance: "worker#1", State: tree.StateEnded, Outcome: tree.OutcomeStopped, Pid: 42})
	want := "14:02:07.512 worker#1: running (pid 42)\n" +
		"14:02:07.512 worker#1: ready (pid 42)\n" +
		"14:02:07.512 worker#1: backoff: exited (exit status 3); restart 1 in 100ms\n" +
		"14:02:07.512 worker#1: stopped\n"
	if out.String() != want {
		t.Errorf("plain lines:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestLiveCutsLinesToTheTerminal(t *testing.T) {
	var out bytes.Buffer
	v := NewLive(&out, "mage-run — a title longer than the terminal is wide", testRows, nil, func() int { return 20 })
	v.Redraw()
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if n := len([]rune(line)); n > 19 {
			t.Errorf("line of %d runes on a 20-column terminal: %q", n, line)
		}
	}
	if got := strings.Count(out.String(), "\n"); got != 5 {
		t.Errorf("%d lines drawn, want 5", got)
	}
}
