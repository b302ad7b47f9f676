package view

import (
	"bytes"
	"testing"
	"time"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/tree"
	"github.com/mage-ipc/mage/launcher"
)

func testRows() []tree.Row {
	since := time.Now().Add(-3 * time.Second)
	return []tree.Row{
		{Instance: "parent", Process: "parent", State: tree.StateRunning, Pid: 100, Since: since,
			Ready: true, EverReady: true, ReadyAfter: 42 * time.Millisecond,
			HasStats: true, CPU: 0.125, RSS: 1536 << 10, Description: "hands out the work",
			HasUsage: true, CPUTime: 1234 * time.Millisecond, PeakRSS: 2 << 20},
		{Instance: "worker#1", Process: "worker", Depth: 1, State: tree.StateBackoff, Restarts: 2},
		{Instance: "worker#2", Process: "worker", Depth: 1, State: tree.StateEnded, Outcome: tree.OutcomeFailed,
			LastExit: &launcher.Exit{Code: 3, Reason: "exited"}, HasUsage: true, CPUTime: 20 * time.Millisecond, PeakRSS: 512 << 10},
	}
}

func TestSummary(t *testing.T) {
	var out bytes.Buffer
	WriteSummary(&out, testRows(), nil)
	want := "PROCESS     RESULT   RESTARTS  MSGS IN  MSGS OUT  LAST EXIT               READY       CPU TIME  MAX RSS\n" +
		"parent      running  0         -        -         -                       after 42ms  1.23s     2.0M\n" +
		"  worker#1  backoff  2         -        -         -                       -           -         -\n" +
		"  worker#2  failed   0         -        -         exited (exit status 3)  never       20ms      512K\n"
	if out.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestPlain(t *testing.T) {
	var out bytes.Buffer
	p := NewPlain(&out)
	p.About([]string{"a tree that does things"})
	at := time.Date(2026, 12, 1, 14, 2, 7, 512e6, time.UTC)
	p.Event(tree.Event{Time: at, Instance: "worker#1", State: tree.StateRunning, Pid: 42})
	p.Event(tree.Event{Time: at, Instance: "worker#1", State: tree.StateRunning, Ready: true, Pid: 42})
	p.Event(tree.Event{Time: at, Instance: "worker#1", State: tree.StateBackoff, Detail: "exited (exit status 3); restart 1 in 100ms"})
	p.Event(tree.Event{Time: at, Instance: "worker#1", State: tree.StateEnded, Outcome: tree.OutcomeStopped, Pid: 42})
	want := "a tree that does things\n" +
		"14:02:07.512 worker#1: running (pid 42)\n" +
		"14:02:07.512 worker#1: ready (pid 42)\n" +
		"14:02:07.512 worker#1: backoff: exited (exit status 3); restart 1 in 100ms\n" +
		"14:02:07.512 worker#1: stopped\n"
	if out.String() != want {
		t.Errorf("plain lines:\n%s\nwant:\n%s", out.String(), want)
	}
}
