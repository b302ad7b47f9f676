package view

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/tree"
	"github.com/mage-ipc/mage/launcher"
)

// manyRows is a tree of n running instances, p01 to pNN.
func manyRows(n int) []tree.Row {
	rows := make([]tree.Row, n)
	for i := range rows {
		rows[i] = tree.Row{Instance: fmt.Sprintf("p%02d", i+1), State: tree.StateRunning, Pid: 1000 + i, Since: time.Now()}
	}
	return rows
}

// sizedModel is a live model of rows on a w×h terminal.
func sizedModel(t *testing.T, opts LiveOptions, w, h int) *liveModel {
	t.Helper()
	m := newLiveModel(context.Background(), opts, nil, nil)
	m.keys = true
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

// plainLines is what the model draws, without styles.
func plainLines(m *liveModel) []string {
	return strings.Split(ansi.Strip(m.View().Content), "\n")
}

// rowNames returns the instances whose rows are drawn, in order.
func rowNames(lines []string) []string {
	var names []string
	re := regexp.MustCompile(`^ *(p\d\d) +\d+ `)
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			names = append(names, m[1])
		}
	}
	return names
}

func press(m *liveModel, keys ...tea.KeyPressMsg) {
	for _, k := range keys {
		m.Update(k)
	}
}

var (
	keyDown = tea.KeyPressMsg{Code: tea.KeyDown}
	keyUp   = tea.KeyPressMsg{Code: tea.KeyUp}
)

func keyText(s string) tea.KeyPressMsg {
	return tea.KeyPressMsg{Code: []rune(s)[0], Text: s}
}

// TestLiveFitsTheTerminal draws trees of many sizes on terminals of many
// sizes, with the about lines and the log pane: never more lines than the
// terminal has, none wider than it, the selected row always drawn.
func TestLiveFitsTheTerminal(t *testing.T) {
	about := []string{"what this tree does", "and how"}
	for _, n := range []int{0, 1, 30} {
		for h := 1; h <= 30; h++ {
			for _, w := range []int{10, 80} {
				for _, logs := range []bool{false, true} {
					rows := manyRows(n)
					m := sizedModel(t, LiveOptions{Title: "mage-run test", About: about, Rows: func() []tree.Row { return rows }}, w, h)
					m.showLogs = logs
					for step := 0; step <= n; step += 3 {
						lines := plainLines(m)
						if len(lines) > h {
							t.Fatalf("%d rows, %dx%d, logs %v: %d lines drawn:\n%s", n, w, h, logs, len(lines), strings.Join(lines, "\n"))
						}
						for _, l := range lines {
							if ansi.StringWidth(l) > w {
								t.Fatalf("%d rows, %dx%d: line %q is %d wide", n, w, h, l, ansi.StringWidth(l))
							}
						}
						if n > 0 && h >= 2 && w >= 80 {
							if names := rowNames(lines); !contains(names, m.selName) {
								t.Fatalf("%d rows, %dx%d, logs %v: selected %s not drawn:\n%s", n, w, h, logs, m.selName, strings.Join(lines, "\n"))
							}
						}
						press(m, keyDown, keyDown, keyDown)
					}
				}
			}
		}
	}
}

func contains(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// TestLiveScrollsWithTheSelection moves the selection through a tree
// taller than the terminal: the window of rows follows it, one row at a
// time, and says which rows it shows.
func TestLiveScrollsWithTheSelection(t *testing.T) {
	rows := manyRows(30)
	m := sizedModel(t, LiveOptions{Title: "t", Rows: func() []tree.Row { return rows }}, 80, 12)
	lines := plainLines(m)
	first := rowNames(lines)
	// 12 lines: title, header, details and footer leave 8 rows.
	if len(first) != 8 || first[0] != "p01" || first[7] != "p08" {
		t.Fatalf("rows %v, want p01 to p08:\n%s", first, strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[0], "rows 1-8 of 30") {
		t.Errorf("title %q does not say which rows are shown", lines[0])
	}
	for range 7 {
		press(m, keyDown)
	}
	if got := rowNames(plainLines(m)); got[0] != "p01" {
		t.Errorf("the window moved before the selection left it: %v", got)
	}
	press(m, keyDown)
	if got := rowNames(plainLines(m)); got[0] != "p02" || got[7] != "p09" {
		t.Errorf("selecting p09: rows %v, want p02 to p09", got)
	}
	press(m, keyText("G"))
	lines = plainLines(m)
	if got := rowNames(lines); got[0] != "p23" || got[7] != "p30" {
		t.Errorf("at the end: rows %v, want p23 to p30", got)
	}
	if !regexp.MustCompile(`(?m)^▸ p30$`).MatchString(strings.Join(lines, "\n")) {
		t.Errorf("details line does not name p30:\n%s", strings.Join(lines, "\n"))
	}
	for range 8 {
		press(m, keyUp)
	}
	if got := rowNames(plainLines(m)); got[0] != "p22" {
		t.Errorf("selecting p22 from the end: rows %v, want from p22", got)
	}
	// A taller terminal shows every row, and no more window.
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 40})
	lines = plainLines(m)
	if got := rowNames(lines); len(got) != 30 || strings.Contains(lines[0], "rows ") {
		t.Errorf("40 lines: %d rows drawn, title %q", len(got), lines[0])
	}
	// The selection follows its instance when rows come before it.
	rows = append(manyRows(1), rows...)
	rows[0].Instance = "p00"
	m.Update(tickMsg(time.Now()))
	if m.selName != "p22" || m.rows[m.selected].Instance != "p22" {
		t.Errorf("after a row was added before it the selection is %s", m.selName)
	}
}

// TestLiveLeavesRoomForTheLogs: when the logs are printed above the view,
// it keeps lines free for them, and prints them in batches no taller.
func TestLiveLeavesRoomForTheLogs(t *testing.T) {
	rows := manyRows(30)
	var direct bytes.Buffer
	logs := newLogBuffer(&direct)
	m := newLiveModel(context.Background(), LiveOptions{Title: "t", Rows: func() []tree.Row { return rows }}, nil, logs)
	m.Update(tea.WindowSizeMsg{Width: 40, Height: 12})
	if n := len(plainLines(m)); n != 12-3 {
		t.Errorf("%d lines drawn on 12 with the logs above, want 9", n)
	}
	for i := range 10 {
		fmt.Fprintf(logs, "log line %d\n", i)
	}
	cmd := m.printLogs()
	if cmd == nil {
		t.Fatal("no command to print the logs")
	}
	if m.logs.drain() != "" {
		t.Error("the lines were not taken")
	}
	if direct.Len() != 0 {
		t.Errorf("logs written past the view: %q", direct.String())
	}
}

func TestLogBatches(t *testing.T) {
	long := strings.Repeat("0123456789", 5) // 50 columns
	text := "short\n" + long + "\nlast"
	got := logBatches(text, 20, 3)
	// 19 columns a line: the long one takes three lines.
	want := []string{"short\n0123456789012345678\n9012345678901234567", "890123456789\nlast"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("logBatches = %q, want %q", got, want)
	}
	if strings.ReplaceAll(strings.Join(got, "\n"), "\n", "") != strings.ReplaceAll(text, "\n", "") {
		t.Error("logBatches lost text")
	}
}

func TestLiveColoursRowsByState(t *testing.T) {
	rows := []tree.Row{
		{Instance: "up", State: tree.StateRunning, Pid: 1, Ready: true},
		{Instance: "coming", State: tree.StateStarting, Pid: 2},
		{Instance: "waiting", State: tree.StateBackoff},
		{Instance: "broken", State: tree.StateEnded, Outcome: tree.OutcomeFailed, LastExit: &launcher.Exit{Code: 1}},
		{Instance: "done", State: tree.StateEnded, Outcome: tree.OutcomeFinished},
	}
	m := sizedModel(t, LiveOptions{Title: "t", Rows: func() []tree.Row { return rows }}, 100, 20)
	press(m, keyDown) // the selected row is reversed too: not the first
	// SGR parameters: green, yellow and red foregrounds, faint, reverse.
	const green, yellow, red, faint, reverse = "32", "33", "31", "2", "7"
	want := map[string][]string{"up": {green}, "coming": {yellow, reverse}, "waiting": {yellow}, "broken": {red}, "done": {faint}}
	sgr := regexp.MustCompile(`^\x1b\[([0-9;]*)m`)
	for _, line := range strings.Split(m.View().Content, "\n") {
		f := strings.Fields(ansi.Strip(line))
		if len(f) < 3 {
			continue
		}
		if params, ok := want[f[0]]; ok {
			got := sgr.FindStringSubmatch(line)
			for _, p := range params {
				if got == nil || !contains(strings.Split(got[1], ";"), p) {
					t.Errorf("%s's row does not start with SGR %s: %q", f[0], p, line)
				}
			}
			delete(want, f[0])
		}
	}
	if len(want) > 0 {
		t.Errorf("rows not drawn: %v", want)
	}
}

func TestLiveCountsDown(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	quits := 0
	m := sizedModel(t, LiveOptions{Title: "t", StopAt: now.Add(7 * time.Second), Quit: func() { quits++ }}, 80, 10)
	for _, c := range []struct {
		at   time.Duration
		want string
	}{
		{0, "stopping in 7s"},
		{800 * time.Millisecond, "stopping in 7s"},
		{time.Second, "stopping in 6s"},
		{6500 * time.Millisecond, "stopping in 1s"},
		{7 * time.Second, "stopping…"},
	} {
		m.Update(tickMsg(now.Add(c.at)))
		if title := plainLines(m)[0]; !strings.HasSuffix(title, " — "+c.want) {
			t.Errorf("at %v: title %q, want it to end in %q", c.at, title, c.want)
		}
	}
	// q asks for the stop once; the countdown goes.
	press(m, keyText("q"), keyText("q"))
	if quits != 1 {
		t.Errorf("q twice asked %d times for the tree to stop, want once", quits)
	}
	if title := plainLines(m)[0]; !strings.HasSuffix(title, " — stopping the tree…") {
		t.Errorf("after q the title does not say the tree is stopping: %q", title)
	}
	press(m, tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	if quits != 2 {
		t.Errorf("ctrl-c after q: %d requests, want a second (which kills)", quits)
	}
	// No countdown without an automatic stop.
	m = sizedModel(t, LiveOptions{Title: "t"}, 80, 10)
	if title := plainLines(m)[0]; strings.Contains(title, "stopping") {
		t.Errorf("countdown without a stop time: %q", title)
	}
}

func TestLiveAboutAndDetails(t *testing.T) {
	rows := testRows()
	m := sizedModel(t, LiveOptions{Title: "t", About: []string{"first line of about", "second \x1b[2J line"}, Rows: func() []tree.Row { return rows }}, 100, 20)
	lines := plainLines(m)
	if lines[1] != "first line of about" || lines[2] != "second \uFFFD[2J line" {
		t.Errorf("about lines: %q", lines[1:3])
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{
		`(?m)^PROCESS +PID +STATE +READY +RESTARTS +UPTIME +CPU +RSS +MSGS IN +MSGS OUT$`,
		`(?m)^parent +100 +ready +yes +0 +\S+ +12\.5% +1\.5M +- +-$`,
		`(?m)^  worker#1 +- +backoff +- +2 +- +- +- +- +-$`,
		`(?m)^▸ parent: hands out the work$`,
	} {
		if !regexp.MustCompile(want).MatchString(text) {
			t.Errorf("no line matches %s in:\n%s", want, text)
		}
	}
	press(m, keyText("G"))
	if text := strings.Join(plainLines(m), "\n"); !strings.Contains(text, "▸ worker#2 (last exit: exited (exit status 3))") {
		t.Errorf("details of worker#2:\n%s", text)
	}
	press(m, keyText("?"))
	if text := strings.Join(plainLines(m), "\n"); !strings.Contains(text, "r restart · s stop · S start · l logs") {
		t.Errorf("? shows no help:\n%s", text)
	}
}

func TestLogBuffer(t *testing.T) {
	var direct bytes.Buffer
	b := newLogBuffer(&direct)
	b.Write([]byte("one\ntw"))
	if got := b.drain(); got != "one" {
		t.Errorf("drain = %q, want the complete line", got)
	}
	b.Write([]byte("o\x1b[31m\n"))
	if got := b.drain(); got != "two\uFFFD[31m" {
		t.Errorf("drain = %q, want the line made printable", got)
	}
	big := bytes.Repeat([]byte("x"), maxPendingLog/2)
	big[len(big)-1] = '\n'
	b.Write(big)
	b.Write(big)
	b.Write(big) // past the bound: dropped
	if got := b.drain(); !strings.HasPrefix(got, "mage-run: 1 log lines dropped") || strings.Count(got, "\n") != 2 {
		t.Errorf("drain after an overflow: %d bytes, %d lines, starting %q", len(got), strings.Count(got, "\n"), got[:min(len(got), 40)])
	}
	b.Write([]byte("kept, not ended"))
	b.goDirect()
	b.Write([]byte(" and after\n"))
	if direct.String() != "kept, not ended and after\n" {
		t.Errorf("direct writes: %q", direct.String())
	}
}
