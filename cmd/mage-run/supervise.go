package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/term"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/control"
	"github.com/mage-ipc/mage/cmd/mage-run/internal/spec"
	"github.com/mage-ipc/mage/cmd/mage-run/internal/tree"
	"github.com/mage-ipc/mage/cmd/mage-run/internal/view"
	"github.com/mage-ipc/mage/launcher"
	"github.com/mage-ipc/mage/mage"
)

// supervision is one run of a tree from a spec, with its view, logs and
// signals: what `run` and `demo` share.
type supervision struct {
	spec  *spec.Spec
	title string
	// about, when not empty, explains the tree in a few lines: the live
	// view shows them above the table, the plain view prints them once.
	about  []string
	logs   logSettings
	trace  bool
	view   string
	stdout io.Writer
	stderr io.Writer
	notify notifyFunc
	// stopAfter, when positive, stops the tree in order after this long.
	stopAfter time.Duration
	// notifyReady, when not empty, is a file (or named pipe) to which
	// "ready" is appended once the tree's processes are ready.
	notifyReady string
	// control, when not nil, is where to serve the control interface.
	control *control.Address
}

// logSettings are the --log-format, --log-level, --color and --log-dir
// flags.
type logSettings struct {
	json  bool
	level hclog.Level
	// console prints "name | line" lines: see console.
	console bool
	// color is auto, always or never.
	color string
	// dir, when not empty, is where processes the spec gives no log
	// file write theirs (spec.LogToDir).
	dir string
}

// run runs the tree to its end and returns the error that gives mage-run
// its exit status: nil when the tree finished cleanly.
func (s supervision) run() error {
	sigs := make(chan os.Signal, 2)
	stopSignals := s.notify(sigs)
	defer stopSignals()

	var (
		t     *tree.Tree
		live  *view.Live
		plain *view.Plain
		node  *mage.Node
	)
	// counters reads what a process's node last reported: the poller
	// below asks the running ones, and each reports its final counts as
	// it closes.
	counters := func(r tree.Row) (view.Counters, bool) {
		if r.Node == (mage.NodeName{}) {
			return view.Counters{}, false
		}
		c, ok := node.LastPeerCounters(r.Node)
		return view.Counters{In: c.Received, Out: c.Sent}, ok
	}
	logOut := s.stderr
	var jsonView *view.JSON
	// keyQuit is q or ctrl-c in the live view: a first SIGINT's doing.
	keyQuit := make(chan struct{}, 1)
	switch {
	case s.view == "json":
		jsonView = view.NewJSON(s.stdout)
	case s.useLive():
		live = s.newLive(func() []tree.Row { return t.Snapshot() }, counters, keyQuit)
		if isTerminal(s.stderr) {
			// The logs share the screen: they go above the table.
			logOut = live.LogWriter(s.stderr)
		}
	default:
		plain = view.NewPlain(s.stdout)
		plain.About(s.about)
	}
	logOpts := &hclog.LoggerOptions{
		Name:       "mage-run",
		Output:     logOut,
		Level:      s.logs.level,
		JSONFormat: s.logs.json,
	}
	var cons *console
	if s.logs.console {
		// The prefix says it is mage-run's, and each line is as old as
		// the processes' lines beside it, which carry no time either.
		cons = newConsole(logOut, useColor(s.logs.color, s.stderr), tree.InstanceNames(s.spec))
		logOpts.Name, logOpts.Output, logOpts.DisableTime = "", cons, true
	}
	log := hclog.New(logOpts)
	if s.logs.dir != "" {
		s.spec.LogToDir(s.logs.dir)
	}
	// Descendants that call setsid end with their process (Linux only).
	if err := launcher.BecomeSubreaper(); err != nil {
		log.Debug("not a subreaper: descendants that leave their process group can outlive it", "error", err)
	}
	names := tree.NewNodeNames()
	nodeOpts := mage.NodeOptions{Logger: log.Named("node")}
	if s.trace {
		nodeOpts.Trace = names.Logger(log)
	}
	node = mage.NewNode(nodeOpts)
	defer node.Close()
	opts := tree.Options{Spec: s.spec, Node: node, Logger: log, Names: names}
	if cons != nil {
		opts.Output = cons.Line
	}
	var viewEvent func(tree.Event)
	switch {
	case plain != nil:
		viewEvent = plain.Event
	case jsonView != nil:
		viewEvent = jsonView.Event
	}
	var hub *control.Hub
	if s.control != nil {
		hub = &control.Hub{}
	}
	opts.Observe = observers(viewEvent, hub)
	if s.trace {
		opts.Env = append(opts.Env, mage.EnvTrace+"=1")
	}
	t = tree.Start(opts)
	if s.control != nil {
		srv, err := control.Serve(node, *s.control, control.TreeService{Tree: t, Hub: hub}, log.Named("control"))
		if err != nil {
			log.Warn("not serving the control interface", "error", err)
		} else {
			log.Info("control interface serving", "socket", srv.Addr().Socket)
			defer srv.Close()
		}
	}
	pollDone := make(chan struct{})
	defer func() { <-pollDone }()
	go func() {
		defer close(pollDone)
		pollCounters(node, t)
	}()

	if live != nil {
		live.Start(t)
		// Erased before the summary, and on every way out.
		defer live.Close()
	}
	var stopTimer <-chan time.Time
	if s.stopAfter > 0 {
		timer := time.NewTimer(s.stopAfter)
		defer timer.Stop()
		stopTimer = timer.C
	}
	var killedBy os.Signal
	interrupts := 0
	// interrupt stops the tree in order the first time, kills it after;
	// key is set for the live view's q and ctrl-c.
	interrupt := func(sig os.Signal, key bool) {
		interrupts++
		first, second := "signal: stopping the tree in order; a second signal kills it", "second signal: killing every process"
		if key {
			first, second = "q or ctrl-c: stopping the tree in order; ctrl-c again kills it", "ctrl-c again: killing every process"
		}
		if interrupts == 1 {
			if live != nil {
				live.Stopping()
			}
			log.Info(first, "signal", sig.String())
			t.Stop()
			return
		}
		log.Warn(second, "signal", sig.String())
		killedBy = sig
		t.Kill()
	}
	ready := t.Ready()
	reportUp := func() {
		ready = nil
		log.Info("the tree is up")
		if jsonView != nil {
			jsonView.Up(time.Now())
		}
		if s.notifyReady != "" {
			if err := appendLine(s.notifyReady, "ready mage-run"); err != nil {
				log.Error("cannot notify readiness", "file", s.notifyReady, "error", err)
			}
		}
	}
loop:
	for {
		select {
		case <-t.Done():
			// A tree that was up and ended at once (a job that exits as
			// soon as it is ready) closes both: select picks either, and
			// the tree was up all the same.
			select {
			case <-ready:
				reportUp()
			default:
			}
			break loop
		case <-ready:
			reportUp()
		case <-keyQuit:
			// The live view's q or ctrl-c: as a SIGINT.
			interrupt(syscall.SIGINT, true)
		case <-stopTimer:
			log.Info("stopping the tree", "after", s.stopAfter)
			if live != nil {
				live.Stopping()
			}
			t.Stop()
		case sig := <-sigs:
			interrupt(sig, false)
		}
	}
	res := t.Wait()
	if hub != nil {
		// The last events go out before the streams end.
		hub.Close()
	}
	if live != nil {
		live.Close()
	}
	err := treeStatus(res, killedBy)
	if jsonView != nil {
		status := exitOK
		var se *statusError
		if errors.As(err, &se) {
			status = se.code
		}
		jsonView.Result(res.Rows, counters, status)
		return err
	}
	fmt.Fprintln(s.stdout)
	view.WriteSummary(s.stdout, res.Rows, counters)
	return err
}

// observers returns the tree's observer: the view's, and the control
// hub's; nil when there is neither.
func observers(viewEvent func(tree.Event), hub *control.Hub) func(tree.Event) {
	switch {
	case hub == nil:
		return viewEvent
	case viewEvent == nil:
		return hub.Observe
	}
	return func(ev tree.Event) {
		viewEvent(ev)
		hub.Observe(ev)
	}
}

// pollEvery is how often the running processes are asked for their
// message counts.
const pollEvery = 500 * time.Millisecond

// pollCounters asks every running process's node for its counts, every
// pollEvery, until the tree is done. The answers land in the node's
// LastPeerCounters.
func pollCounters(node *mage.Node, t *tree.Tree) {
	ticker := time.NewTicker(pollEvery)
	defer ticker.Stop()
	for {
		select {
		case <-t.Done():
			return
		case <-ticker.C:
		}
		for _, r := range t.Snapshot() {
			if r.State != tree.StateRunning || r.Node == (mage.NodeName{}) {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), pollEvery)
			// A process that is gone or slow just keeps its last counts.
			_, _ = node.PeerCounters(ctx, r.Node)
			cancel()
		}
	}
}

// useLive reports whether to draw the live view: --view live, or auto on
// a terminal.
func (s supervision) useLive() bool {
	switch s.view {
	case "live":
		return true
	case "plain":
		return false
	}
	return isTerminal(s.stdout)
}

// newLive returns the live view of the tree whose rows rows gives; q
// and ctrl-c send on quit.
func (s supervision) newLive(rows func() []tree.Row, counters view.CountersFunc, quit chan<- struct{}) *view.Live {
	opts := view.LiveOptions{
		Out:      s.stdout,
		Title:    s.title,
		About:    s.about,
		Rows:     rows,
		Counters: counters,
		Errors:   s.stderr,
		Quit: func() {
			select {
			case quit <- struct{}{}:
			default: // one is waiting already
			}
		},
	}
	if s.stopAfter > 0 {
		opts.StopAt = time.Now().Add(s.stopAfter)
	}
	return view.NewLive(opts)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// treeStatus is the exit status of a tree that ended: see docs/mage-run.md.
func treeStatus(res tree.Result, killedBy os.Signal) error {
	if sig, ok := killedBy.(syscall.Signal); ok {
		return &statusError{code: 128 + int(sig), msg: "killed every process on a second " + sig.String()}
	}
	if len(res.Failed) == 0 {
		return nil
	}
	r := res.Failed[0]
	msg := r.Instance + " failed"
	code := exitCannotRun
	if e := r.LastExit; e != nil {
		msg += ": " + e.String()
		code = exitCodeOf(*e)
	}
	if res.StoppedByRequired {
		msg += "; it is required, so the tree was stopped"
	}
	if n := len(res.Failed); n > 1 {
		msg += fmt.Sprintf(" (and %d more)", n-1)
	}
	return &statusError{code: code, msg: msg}
}

// exitCodeOf maps how a process ended to mage-run's status: its own exit
// code, or 128 plus the signal that killed it; when it has neither (it
// could not be started), 127 for a program that does not exist, 126 for
// one that cannot be run, 125 otherwise.
func exitCodeOf(e launcher.Exit) int {
	switch {
	case e.Signal != 0:
		return 128 + int(e.Signal)
	case e.Code > 0:
		return e.Code
	case errors.Is(e.Err, exec.ErrNotFound), errors.Is(e.Err, fs.ErrNotExist):
		return exitNotFound
	case errors.Is(e.Err, fs.ErrPermission):
		return exitCannotExec
	}
	return exitCannotRun
}

// appendLine appends line and a newline to the file at path, which must
// exist (a named pipe, say).
func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
