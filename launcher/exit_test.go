package launcher

import (
	"errors"
	"strings"
	"syscall"
	"testing"
)

func TestEnumStrings(t *testing.T) {
	for v, want := range map[ExitCause]string{
		CauseExited: "exited", CauseKilled: "killed", CauseStopped: "stopped",
		CauseBadMessage: "bad message", CauseStartFailed: "start failed", 9: "ExitCause(9)",
	} {
		if got := v.String(); got != want {
			t.Errorf("ExitCause %d: %q, want %q", v, got, want)
		}
	}
	for v, want := range map[BadMessagePolicy]string{KillOnBadMessage: "kill", IgnoreBadMessage: "ignore", 7: "BadMessagePolicy(7)"} {
		if got := v.String(); got != want {
			t.Errorf("BadMessagePolicy %d: %q, want %q", v, got, want)
		}
	}
}

func TestExitString(t *testing.T) {
	for _, tc := range []struct {
		e    Exit
		want string
	}{
		{Exit{Code: 0, Reason: "exited"}, "exited (exit status 0)"},
		{Exit{Code: -1, Signal: syscall.SIGKILL, Cause: CauseKilled, Reason: "killed"}, "killed (signal SIGKILL)"},
		{Exit{Code: -1, Signal: syscall.SIGSEGV, Reason: "signaled"}, "signaled (signal SIGSEGV)"},
		{Exit{Code: -1, Cause: CauseStartFailed, Reason: "start failed"}, "start failed (no status)"},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestStartErrorMessage(t *testing.T) {
	err := &StartError{
		Name:   "netproc",
		Pid:    42,
		Exit:   &Exit{Code: 3, Reason: "exited"},
		Stderr: []string{"a", "b"},
		Err:    ErrExitedBeforeAccept,
	}
	const want = `launcher: child exited before accepting its invitation (child "netproc", pid 42, exit status 3); stderr: a | b`
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	if !errors.Is(err, ErrExitedBeforeAccept) {
		t.Error("does not unwrap")
	}
	noProc := &StartError{Name: "x", Err: errors.New("launcher: start process: no such file")}
	if got := noProc.Error(); strings.Contains(got, "pid") || !strings.HasSuffix(got, `(child "x")`) {
		t.Errorf("got %s", got)
	}
}
