package view

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/tree"
)

// Styles of the live view. The colours are the terminal's own first
// eight, so that they suit its theme; bubbletea drops them on a terminal
// without colours.
var (
	styleTitle    = lipgloss.NewStyle().Bold(true)
	styleHeader   = lipgloss.NewStyle().Bold(true)
	styleDim      = lipgloss.NewStyle().Faint(true)
	styleRunning  = lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
	styleTransit  = lipgloss.NewStyle().Foreground(lipgloss.Color("3"))
	styleFailed   = lipgloss.NewStyle().Foreground(lipgloss.Color("1"))
	styleCount    = lipgloss.NewStyle().Foreground(lipgloss.Color("3")).Bold(true)
	styleSelected = lipgloss.NewStyle().Reverse(true)
)

// stateStyle is the colour of a row: green running or ready, yellow
// starting, stopping or in backoff, red failed, dim ended otherwise (or
// not started), plain waiting.
func stateStyle(r tree.Row) lipgloss.Style {
	switch r.State {
	case tree.StateRunning:
		return styleRunning
	case tree.StateStarting, tree.StateStopping, tree.StateBackoff:
		return styleTransit
	case tree.StateEnded:
		if r.Outcome == tree.OutcomeFailed {
			return styleFailed
		}
		return styleDim
	}
	return lipgloss.NewStyle()
}

// liveColumns are the live table's columns.
var liveColumns = []string{"PROCESS", "PID", "STATE", "READY", "RESTARTS", "UPTIME", "CPU", "RSS", "MSGS IN", "MSGS OUT"}

// liveLayout is how many lines each part of the view gets.
type liveLayout struct {
	title, about, header, rows, details, logPane, footer int
}

// layout shares the terminal's height between the parts of the view, by
// priority: the table's header and a first row, the title, the footer,
// the details line, the log pane when shown, a few more rows, the about
// lines, then the rest of the rows. The view is never taller than the
// terminal, less the lines left free for the logs (logReserve).
func (m *liveModel) layout() liveLayout {
	avail := m.height - m.logReserve()
	take := func(n int) int {
		n = max(min(n, avail), 0)
		avail -= n
		return n
	}
	var l liveLayout
	l.header = take(1)
	l.rows = take(min(len(m.rows), 1))
	l.title = take(1)
	l.footer = take(1)
	l.details = take(1)
	if m.showLogs {
		l.logPane = take(max(m.height/3, 3))
	}
	l.rows += take(min(len(m.rows)-l.rows, 3))
	l.about = take(len(m.opts.About))
	l.rows += take(len(m.rows) - l.rows)
	return l
}

// lines draws the view: each line cut to the terminal's width, as many
// as layout says.
func (m *liveModel) lines() []string {
	l := m.layout()
	var out []string
	add := func(s string) { out = append(out, ansi.Truncate(s, m.width, "…")) }
	if l.title > 0 {
		add(m.titleLine(l))
	}
	for _, a := range m.opts.About[:l.about] {
		add(printable(a))
	}
	header, rows := m.table()
	if l.header > 0 {
		add(styleHeader.Render(header))
	}
	offset := max(min(m.offset, len(rows)-l.rows), 0)
	for i := offset; i < offset+l.rows; i++ {
		style := stateStyle(m.rows[i])
		if i == m.selected {
			style = style.Inherit(styleSelected)
		}
		add(style.Render(ansi.Truncate(rows[i], m.width, "…")))
	}
	if l.details > 0 {
		add(m.detailsLine())
	}
	if l.logPane > 0 {
		add(styleDim.Render(fmt.Sprintf("── last lines of %s ──", m.selName)))
		lines := m.logLines
		if m.logFor != m.selName {
			lines = nil
		}
		n := l.logPane - 1
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		for i := range n {
			if i < len(lines) {
				add(lines[i])
			} else {
				add("")
			}
		}
	}
	if l.footer > 0 {
		add(m.footerLine())
	}
	return out
}

// titleLine heads the view: the title, the counts, the time, which rows
// are shown when not all are, and the countdown to the automatic stop.
func (m *liveModel) titleLine(l liveLayout) string {
	running, ready := 0, 0
	for _, r := range m.rows {
		if r.State == tree.StateRunning {
			running++
			if r.Ready {
				ready++
			}
		}
	}
	s := styleTitle.Render(printable(m.opts.Title)) +
		fmt.Sprintf(" — %d processes, %d running, %d ready — %s", len(m.rows), running, ready, m.now.Format("15:04:05"))
	if l.rows < len(m.rows) && l.rows > 0 {
		first := max(min(m.offset, len(m.rows)-l.rows), 0)
		s += fmt.Sprintf(" — rows %d-%d of %d", first+1, first+l.rows, len(m.rows))
	}
	if c := m.countdown(); c != "" {
		s += " — " + styleCount.Render(c)
	}
	return s
}

// table returns the header and one line per row, aligned, not styled.
// Columns are as wide as their widest cell among all rows, not only
// those shown, so that they stay put as the table scrolls; they are two
// spaces apart, or one when that does not fit.
func (m *liveModel) table() (string, []string) {
	cells := make([][]string, 0, len(m.rows)+1)
	cells = append(cells, liveColumns)
	for _, r := range m.rows {
		in, out := "-", "-"
		if m.opts.Counters != nil {
			if c, ok := m.opts.Counters(r); ok {
				in, out = strconv.FormatUint(c.In, 10), strconv.FormatUint(c.Out, 10)
			}
		}
		cells = append(cells, []string{
			strings.Repeat("  ", r.Depth) + printable(r.Instance), pid(r), state(r), readyNow(r),
			strconv.Itoa(r.Restarts), uptime(r, m.now), cpu(r), rss(r), in, out,
		})
	}
	widths := make([]int, len(liveColumns))
	for _, row := range cells {
		for i, c := range row {
			widths[i] = max(widths[i], ansi.StringWidth(c))
		}
	}
	gap, total := 2, 0
	for _, w := range widths {
		total += w
	}
	if total+gap*(len(widths)-1) > m.width {
		gap = 1
	}
	lines := make([]string, len(cells))
	for j, row := range cells {
		var b strings.Builder
		for i, c := range row {
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-ansi.StringWidth(c)+gap))
			}
		}
		lines[j] = b.String()
	}
	return lines[0], lines[1:]
}

// readyNow is the live table's READY column: yes or no for a running
// process, - otherwise.
func readyNow(r tree.Row) string {
	switch {
	case r.State != tree.StateRunning:
		return "-"
	case r.Ready:
		return "yes"
	}
	return "no"
}

// detailsLine says more of the selected instance: its description and
// how its last run ended.
func (m *liveModel) detailsLine() string {
	if m.selected >= len(m.rows) {
		return styleDim.Render("no processes")
	}
	r := m.rows[m.selected]
	s := "▸ " + printable(r.Instance)
	if r.Description != "" {
		s += ": " + printable(r.Description)
	}
	if r.LastExit != nil {
		s += styleDim.Render(" (last exit: " + r.LastExit.String() + ")")
	}
	return s
}

// footerLine is the help line, or what the last key did.
func (m *liveModel) footerLine() string {
	switch {
	case !m.keys:
		return styleDim.Render("no keys: no terminal to read them from")
	case m.showHelp:
		return styleDim.Render("↑↓/jk select · r restart · s stop · S start · l logs · q stop the tree · ? close")
	case m.status != "":
		return printable(m.status) + styleDim.Render(" · ? help")
	}
	return styleDim.Render("? help · q quit")
}
