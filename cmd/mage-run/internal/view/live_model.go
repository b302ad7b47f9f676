package view

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/tree"
)

const (
	// liveTick is how often the live view reads the tree and prints the
	// logs kept since the last tick: the table is redrawn at most this
	// often, but for keys.
	liveTick = 250 * time.Millisecond
	// framesPerSecond bounds the redraws, keys included.
	framesPerSecond = 10
	// defaultWidth and defaultHeight are the size assumed for output
	// whose size is not known.
	defaultWidth, defaultHeight = 80, 24
	// logPaneFetch bounds the lines the log pane asks the tree for; it
	// shows those that fit.
	logPaneFetch = 50
)

// The live view's messages.
type (
	// tickMsg: read the tree again.
	tickMsg time.Time
	// closeMsg: the tree has ended; erase the view and end.
	closeMsg struct{}
	// stoppingMsg: the tree is being stopped (a signal, --stop-after).
	stoppingMsg struct{}
	// actionMsg: a key's action on an instance is done.
	actionMsg struct {
		verb, instance string
		err            error
	}
	// logLinesMsg: the last lines of an instance's output, for the pane.
	logLinesMsg struct {
		instance string
		lines    []string
		err      error
	}
)

// liveModel is the state of the live view, in bubbletea's terms: Update
// changes it on ticks, keys and the results of actions; View draws it.
type liveModel struct {
	opts LiveOptions
	// ctrl is what keys act on; nil: keys only move the selection.
	ctrl Controller
	logs *logBuffer
	ctx  context.Context
	// keys is set when there is a terminal to read keys from.
	keys bool

	// sized is set once the terminal's size is known.
	sized         bool
	width, height int
	now           time.Time
	rows          []tree.Row
	// selected is the index of the selected row, whose instance is
	// selName: the selection follows the instance when rows come and go.
	selected int
	selName  string
	// offset is the index of the first row shown.
	offset int

	showLogs bool
	// logFor is the instance logLines are of.
	logFor   string
	logLines []string
	fetching bool

	showHelp bool
	// status says what the last key did, or is doing.
	status string
	// stopping is set once q or ctrl-c asked for the tree to stop.
	stopping bool
	closed   bool
}

func newLiveModel(ctx context.Context, opts LiveOptions, ctrl Controller, logs *logBuffer) *liveModel {
	m := &liveModel{opts: opts, ctrl: ctrl, logs: logs, ctx: ctx, now: time.Now()}
	m.refresh()
	return m
}

func tick() tea.Cmd {
	return tea.Tick(liveTick, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Init starts the ticks.
func (m *liveModel) Init() tea.Cmd { return tick() }

// Update applies msg.
func (m *liveModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.sized, m.width, m.height = true, msg.Width, msg.Height
		if m.width <= 0 || m.height <= 0 {
			// Not a terminal (--view live to a file): a common size.
			m.width, m.height = defaultWidth, defaultHeight
		}
	case tickMsg:
		m.now = time.Time(msg)
		cmd = tea.Batch(tick(), m.printLogs(), m.fetchLogs())
		m.refresh()
	case tea.KeyPressMsg:
		cmd = m.key(msg.String())
	case actionMsg:
		if msg.err != nil {
			m.status = fmt.Sprintf("%s %s: %v", msg.verb, msg.instance, msg.err)
		} else {
			m.status = fmt.Sprintf("%s %s: done", msg.verb, msg.instance)
		}
	case logLinesMsg:
		m.fetching = false
		if msg.err != nil {
			m.logLines = []string{msg.err.Error()}
		} else {
			m.logLines = msg.lines
		}
		m.logFor = msg.instance
	case stoppingMsg:
		m.stopping = true
	case closeMsg:
		m.closed = true
		return m, tea.Sequence(m.printLogs(), tea.Quit)
	}
	m.scroll()
	return m, cmd
}

// refresh reads the rows again and keeps the selection on its instance.
func (m *liveModel) refresh() {
	if m.opts.Rows != nil {
		m.rows = m.opts.Rows()
	}
	if i := slices.IndexFunc(m.rows, func(r tree.Row) bool { return r.Instance == m.selName }); i >= 0 {
		m.selected = i
	}
	m.choose(m.selected)
}

// choose selects the row at i, within bounds.
func (m *liveModel) choose(i int) {
	m.selected = max(min(i, len(m.rows)-1), 0)
	m.selName = ""
	if m.selected < len(m.rows) {
		m.selName = m.rows[m.selected].Instance
	}
}

// scroll moves the window of rows shown so that the selected one is in
// it, and no space is left empty below the last.
func (m *liveModel) scroll() {
	visible := m.layout().rows
	if visible <= 0 {
		return
	}
	if m.selected < m.offset {
		m.offset = m.selected
	}
	if m.selected >= m.offset+visible {
		m.offset = m.selected - visible + 1
	}
	m.offset = max(min(m.offset, len(m.rows)-visible), 0)
}

// logReserve is how many lines of the terminal the view leaves free
// above itself for the logs: bubbletea prints them by scrolling the
// screen up, and a view as tall as the terminal would scroll its own top
// lines into the scrollback, a stale copy each time. None when the logs
// go elsewhere.
func (m *liveModel) logReserve() int {
	if m.logs == nil || m.height < 2 {
		return 0
	}
	return max(min(m.height/4, 8), 1)
}

// printLogs prints the log lines kept since the last tick above the view,
// cut to the terminal's width (as the terminal would wrap them) and in batches no taller than logReserve,
// so that none pushes the view's own lines off the screen.
func (m *liveModel) printLogs() tea.Cmd {
	if m.logs == nil || !m.sized || m.width <= 0 {
		return nil
	}
	text := m.logs.drain()
	if text == "" {
		return nil
	}
	var cmds []tea.Cmd
	for _, b := range logBatches(text, m.width, m.logReserve()) {
		cmds = append(cmds, tea.Println(b))
	}
	return tea.Sequence(cmds...)
}

// fetchLogs asks the tree for the last lines of the selected instance,
// for the log pane, unless it is hidden or an answer is awaited.
func (m *liveModel) fetchLogs() tea.Cmd {
	if !m.showLogs || m.fetching || m.ctrl == nil || m.selName == "" {
		return nil
	}
	m.fetching = true
	ctrl, ctx, name := m.ctrl, m.ctx, m.selName
	return func() tea.Msg {
		sink := &lineCollector{}
		err := ctrl.Follow(ctx, name, logPaneFetch, false, sink)
		return logLinesMsg{instance: name, lines: sink.lines, err: err}
	}
}

// logBatches cuts text into lines no wider than width-1 (as the terminal
// would wrap them, one column short: bubbletea ends each line by erasing
// to its end, which, on a line that fills the width, erases its last
// cell), in batches of at most batch lines.
func logBatches(text string, width, batch int) []string {
	rows := strings.Split(ansi.Hardwrap(text, max(width-1, 1), true), "\n")
	batch = max(batch, 1)
	var out []string
	for len(rows) > 0 {
		n := min(batch, len(rows))
		out = append(out, strings.Join(rows[:n], "\n"))
		rows = rows[n:]
	}
	return out
}

// lineCollector is a tree.LineSink keeping the lines it gets.
type lineCollector struct{ lines []string }

func (c *lineCollector) Line(text string) error {
	c.lines = append(c.lines, printable(text))
	return nil
}

func (c *lineCollector) Close() error { return nil }

// key acts on a key press.
func (m *liveModel) key(k string) tea.Cmd {
	switch k {
	case "up", "k":
		m.choose(m.selected - 1)
	case "down", "j":
		m.choose(m.selected + 1)
	case "pgup":
		m.choose(m.selected - max(m.layout().rows, 1))
	case "pgdown":
		m.choose(m.selected + max(m.layout().rows, 1))
	case "home", "g":
		m.choose(0)
	case "end", "G":
		m.choose(len(m.rows) - 1)
	case "r":
		return m.act("restart", m.restart)
	case "s":
		return m.act("stop", m.stop)
	case "S", "enter":
		return m.act("start", m.start)
	case "l":
		m.showLogs = !m.showLogs
		m.logLines, m.logFor = nil, ""
		return m.fetchLogs()
	case "?":
		m.showHelp = !m.showHelp
	case "q", "ctrl+c":
		if m.stopping {
			m.status = "stopping the tree in order; press ctrl-c again to kill every process"
		} else {
			m.status = "stopping the tree in order…"
		}
		if k == "ctrl+c" || !m.stopping {
			m.stopping = true
			if m.opts.Quit != nil {
				m.opts.Quit()
			}
		}
	}
	if m.showLogs && m.logFor != m.selName {
		// A new selection: its own lines, at once.
		return m.fetchLogs()
	}
	return nil
}

func (m *liveModel) restart(ctx context.Context, name string) error {
	return m.ctrl.Restart(ctx, name)
}

func (m *liveModel) stop(ctx context.Context, name string) error {
	return m.ctrl.StopInstance(ctx, name)
}

func (m *liveModel) start(ctx context.Context, name string) error {
	return m.ctrl.StartInstance(ctx, name)
}

// act runs the action on the selected instance, out of the update loop:
// a restart or a stop answers once the process has ended.
func (m *liveModel) act(verb string, do func(context.Context, string) error) tea.Cmd {
	if m.ctrl == nil || m.selName == "" {
		return nil
	}
	name, ctx := m.selName, m.ctx
	m.status = verb + " " + name + "…"
	return func() tea.Msg {
		return actionMsg{verb: verb, instance: name, err: do(ctx, name)}
	}
}

// View draws the model; nothing once closed, or before the terminal's
// size is known.
func (m *liveModel) View() tea.View {
	if m.closed || !m.sized {
		return tea.NewView("")
	}
	return tea.NewView(strings.Join(m.lines(), "\n"))
}

// countdown says when the tree stops by itself: "stopping in 7s"; that
// it is stopping, once asked to; "" when it does not stop by itself.
func (m *liveModel) countdown() string {
	switch {
	case m.stopping:
		return "stopping the tree…"
	case m.opts.StopAt.IsZero():
		return ""
	}
	left := m.opts.StopAt.Sub(m.now)
	if left <= 0 {
		return "stopping…"
	}
	return fmt.Sprintf("stopping in %ds", int((left+time.Second-1)/time.Second))
}
