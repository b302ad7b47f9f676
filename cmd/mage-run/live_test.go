//go:build !windows

package main

import (
	"fmt"
	"image/color"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"
)

// ptyWait bounds every wait for the screen: generous, for loaded
// machines under -race, but a broken view fails rather than hangs.
const ptyWait = 90 * time.Second

// ptyScreen is mage-run running in a pseudo-terminal whose output a
// terminal emulator draws: what a person would see.
type ptyScreen struct {
	t    *testing.T
	cmd  *exec.Cmd
	ptmx *os.File
	// changed is signalled after each chunk of output is drawn.
	changed chan struct{}
	// readDone is closed once the pty's output has ended.
	readDone chan struct{}
	// exited is closed once mage-run has exited, with its status in err.
	exited chan struct{}
	err    error
	// checkScreen, when not nil, is called on every screen looked at.
	checkScreen func(screen, scrollback []string)

	// mu guards emu: the reader draws on it, the test reads it.
	mu  sync.Mutex
	emu *vt.Emulator
}

// startPTY runs the mage-run on PATH (this test binary, see TestMain)
// with args in a w×h pseudo-terminal.
func startPTY(t *testing.T, w, h int, dir string, args ...string) *ptyScreen {
	t.Helper()
	exe, err := exec.LookPath("mage-run")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TERM=xterm-256color", "NO_COLOR=", "COLORTERM=")
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(w), Rows: uint16(h)})
	if err != nil {
		t.Fatal(err)
	}
	s := &ptyScreen{
		t: t, cmd: cmd, ptmx: ptmx, emu: vt.NewEmulator(w, h),
		changed: make(chan struct{}, 1), readDone: make(chan struct{}), exited: make(chan struct{}),
	}
	s.emu.SetScrollbackSize(10000)
	replyDone := make(chan struct{})
	// The emulator answers the view's queries (its modes, the cursor):
	// back to mage-run, as a terminal would.
	go func() {
		defer close(replyDone)
		_, _ = io.Copy(ptmx, s.emu)
	}()
	go func() {
		defer close(s.readDone)
		buf := make([]byte, 32<<10)
		for {
			n, err := ptmx.Read(buf)
			if n > 0 {
				s.mu.Lock()
				_, _ = s.emu.Write(buf[:n])
				s.mu.Unlock()
				select {
				case s.changed <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			// A failed test: stop the tree, then kill it all.
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(ptyWait):
				_ = cmd.Process.Kill()
				<-s.exited
			}
		}
		_ = ptmx.Close()
		<-s.readDone
		// Ends the copy of the emulator's answers (Emulator.Close would
		// race with its Read).
		if c, ok := s.emu.InputPipe().(io.Closer); ok {
			_ = c.Close()
		}
		<-replyDone
	})
	return s
}

// screen returns the lines on the screen and those scrolled off it.
func (s *ptyScreen) screen() (screen, scrollback []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.emu.Scrollback().Lines() {
		scrollback = append(scrollback, strings.TrimRight(l.String(), " "))
	}
	for y := range s.emu.Height() {
		var b strings.Builder
		for x := 0; x < s.emu.Width(); x++ {
			if c := s.emu.CellAt(x, y); c != nil && c.Width > 0 {
				b.WriteString(c.Content)
			} else if c == nil || c.Content == "" {
				b.WriteByte(' ')
			}
		}
		screen = append(screen, strings.TrimRight(b.String(), " "))
	}
	return screen, scrollback
}

// waitFor waits until cond holds for the screen, checking checkScreen on
// every screen on the way; it fails the test at ptyWait.
func (s *ptyScreen) waitFor(what string, cond func(screen []string) bool) []string {
	s.t.Helper()
	deadline := time.NewTimer(ptyWait)
	defer deadline.Stop()
	for {
		screen, scrollback := s.screen()
		if s.checkScreen != nil {
			s.checkScreen(screen, scrollback)
		}
		if cond(screen) {
			return screen
		}
		select {
		case <-s.changed:
		case <-s.readDone:
			screen, _ = s.screen()
			if !cond(screen) {
				s.t.Fatalf("output ended waiting for %s; screen:\n%s", what, strings.Join(screen, "\n"))
			}
			return screen
		case <-deadline.C:
			s.t.Fatalf("no %s after %v; screen:\n%s", what, ptyWait, strings.Join(screen, "\n"))
		}
	}
}

// press types keys.
func (s *ptyScreen) press(keys string) {
	s.t.Helper()
	if _, err := s.ptmx.WriteString(keys); err != nil {
		s.t.Fatal(err)
	}
}

// anyLine reports whether a line of screen matches pattern.
func anyLine(screen []string, pattern string) bool {
	re := regexp.MustCompile(pattern)
	for _, l := range screen {
		if re.MatchString(l) {
			return true
		}
	}
	return false
}

// rowOf returns the fields of the table row of instance, or nil.
func rowOf(screen []string, instance string) []string {
	for _, l := range screen {
		f := strings.Fields(l)
		if len(f) >= 10 && f[0] == instance {
			return f
		}
	}
	return nil
}

// longWord makes the processes' output lines wider than the terminal.
var longWord = "begin-" + strings.Repeat("0123456789", 6) + "-end"

// liveRow matches a row of the live table (not the summary: its second
// column is a pid or -), with the instance's name as the group.
var liveRow = regexp.MustCompile(`^ *(p\d\d) +(\d+|-) +`)

// TestLiveViewInPTY runs a tree of 30 plain processes, taller than a
// 80×12 terminal, with the live view in a real pseudo-terminal, and
// checks what a terminal shows: the view stays within the screen and
// leaves no stale copies behind in the scrollback, the logs scroll by
// above it, the keys select, restart, stop and start a process and show
// its log lines, and q stops the tree in order.
func TestLiveViewInPTY(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 30 processes")
	}
	dir := t.TempDir()
	var spec strings.Builder
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&spec, "process \"p%02d\" {\n  command = [\"sh\", \"-c\", \"echo hello from $MAGE_RUN_INSTANCE %s; exec sleep 600\"]\n  invite  = false\n}\n", i, longWord)
	}
	if err := os.WriteFile(filepath.Join(dir, "tree.hcl"), []byte(spec.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	const width, height = 80, 12
	s := startPTY(t, width, height, dir, "run", "--view", "live", "--no-control", "tree.hcl")
	s.checkScreen = func(screen, scrollback []string) {
		t.Helper()
		// Each instance's row appears once at most, on the screen or in
		// the scrollback: a view taller than the screen, or one that
		// scrolls its own lines off it, leaves stale copies.
		seen := map[string]int{}
		headers := 0
		for _, l := range append(append([]string(nil), scrollback...), screen...) {
			if m := liveRow.FindStringSubmatch(l); m != nil {
				seen[m[1]]++
			}
			if strings.HasPrefix(l, "PROCESS") && strings.Contains(l, "PID") {
				headers++
			}
		}
		for name, n := range seen {
			if n > 1 {
				t.Fatalf("%s's row appears %d times; screen:\n%s\nscrollback:\n%s", name, n, strings.Join(screen, "\n"), strings.Join(scrollback, "\n"))
			}
		}
		if headers > 1 {
			t.Fatalf("%d copies of the table's header; screen:\n%s\nscrollback:\n%s", headers, strings.Join(screen, "\n"), strings.Join(scrollback, "\n"))
		}
	}

	s.waitFor("every process running", func(sc []string) bool { return anyLine(sc, `30 processes, 30 running`) })
	screen := s.waitFor("p01 selected", func(sc []string) bool { return anyLine(sc, `^▸ p01`) })
	if n := countRows(screen); n == 0 || n >= 30 {
		t.Fatalf("%d rows on a %d-line screen:\n%s", n, height, strings.Join(screen, "\n"))
	}

	// The logs reach the user, above the view, whole: a line wider than
	// the terminal is wrapped, not cut.
	s.waitFor("p01's output in the logs", func([]string) bool {
		screen, scrollback := s.screen()
		return strings.Contains(strings.Join(append(scrollback, screen...), ""), `mage-run.p01: stdout: line="hello from p01 `+longWord+`"`)
	})

	s.press("jj")
	s.waitFor("p03 selected", func(sc []string) bool { return anyLine(sc, `^▸ p03`) })
	s.press("\x1b[B") // down
	s.waitFor("p04 selected", func(sc []string) bool { return anyLine(sc, `^▸ p04`) })
	s.press("k")
	s.waitFor("p03 selected", func(sc []string) bool { return anyLine(sc, `^▸ p03`) })

	// The table scrolls to keep the selection in sight.
	s.press("G")
	screen = s.waitFor("p30 selected and shown", func(sc []string) bool {
		return anyLine(sc, `^▸ p30`) && rowOf(sc, "p30") != nil
	})
	if rowOf(screen, "p01") != nil {
		t.Errorf("p01 still shown with p30 selected on a %d-line screen:\n%s", height, strings.Join(screen, "\n"))
	}
	s.checkColour("p30", color.Color(ansi.Green))

	oldPid := rowOf(screen, "p30")[1]
	s.press("r")
	s.waitFor("p30 restarted with a new pid", func(sc []string) bool {
		r := rowOf(sc, "p30")
		return r != nil && r[1] != oldPid && r[1] != "-" && (r[2] == "ready" || r[2] == "running")
	})
	s.waitFor("the restart's result", func(sc []string) bool { return anyLine(sc, `restart p30: done`) })

	s.press("s")
	s.waitFor("p30 stopped", func(sc []string) bool {
		r := rowOf(sc, "p30")
		return r != nil && r[2] == "stopped"
	})
	s.waitFor("the stop's result", func(sc []string) bool { return anyLine(sc, `stop p30: done`) })

	s.press("S")
	s.waitFor("p30 started again", func(sc []string) bool {
		r := rowOf(sc, "p30")
		return r != nil && r[1] != "-" && (r[2] == "ready" || r[2] == "running")
	})

	s.press("l")
	screen = s.waitFor("p30's log pane", func(sc []string) bool {
		return anyLine(sc, `── last lines of p30 ──`) && anyLine(sc, `^hello from p30 begin-`)
	})

	// A resize: the view takes the new height.
	s.resize(100, 20)
	s.waitFor("more rows on a taller screen", func(sc []string) bool { return countRows(sc) > countRows(screen) })

	s.press("q")
	select {
	case <-s.exited:
	case <-time.After(ptyWait):
		t.Fatal("mage-run still runs after q")
	}
	if s.err != nil {
		t.Fatalf("mage-run ended with %v after q", s.err)
	}
	<-s.readDone
	screen, scrollback := s.screen()
	all := append(append([]string(nil), scrollback...), screen...)
	if !anyLine(all, `^PROCESS +RESULT +RESTARTS`) || !anyLine(all, `^p30 +stopped +`) {
		t.Errorf("no summary with p30 stopped:\n%s", strings.Join(all, "\n"))
	}
	for _, l := range append(scrollback, screen...) {
		if strings.HasPrefix(l, "PROCESS") && strings.Contains(l, "PID") {
			t.Errorf("the live table was left behind:\n%s\n%s", strings.Join(scrollback, "\n"), strings.Join(screen, "\n"))
			break
		}
	}
}

// countRows counts the live table's rows on screen.
func countRows(screen []string) int {
	n := 0
	for _, l := range screen {
		if liveRow.MatchString(l) {
			n++
		}
	}
	return n
}

// resize changes the size of the terminal, and of its emulator.
func (s *ptyScreen) resize(w, h int) {
	s.t.Helper()
	s.mu.Lock()
	s.emu.Resize(w, h)
	s.mu.Unlock()
	if err := pty.Setsize(s.ptmx, &pty.Winsize{Cols: uint16(w), Rows: uint16(h)}); err != nil {
		s.t.Fatal(err)
	}
}

// checkColour fails unless the STATE cell of instance's row on screen is
// drawn in want.
func (s *ptyScreen) checkColour(instance string, want color.Color) {
	s.t.Helper()
	screen, _ := s.screen()
	for y, l := range screen {
		f := strings.Fields(l)
		if len(f) < 3 || f[0] != instance {
			continue
		}
		x := strings.Index(l, " "+f[2]+" ") + 1
		s.mu.Lock()
		c := s.emu.CellAt(x, y)
		s.mu.Unlock()
		if c == nil || c.Style.Fg != want {
			s.t.Errorf("%s's state %q drawn in %v, want %v", instance, f[2], c.Style.Fg, want)
		}
		return
	}
	s.t.Errorf("no row of %s on screen:\n%s", instance, strings.Join(screen, "\n"))
}
