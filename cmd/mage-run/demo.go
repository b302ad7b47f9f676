package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/launcher"
	"github.com/mage-ipc/mage/mage"
)

// demoProc is one child of the demo tree, as the parent sees it.
type demoProc struct {
	label   string // "service", "worker 2": for people
	worker  int    // the worker's number, from 1; 0 for the service
	child   *launcher.Child
	control mage.MessagePipe

	// What the parent has learnt, from events.
	reported  bool  // a report arrived, or reportErr says why none will
	report    []int // the report's numbers, when one arrived
	reportErr error
	exit      *launcher.Exit
}

// finished reports whether everything the parent waits for from p came.
func (p *demoProc) finished() bool { return p.reported && p.exit != nil }

// succeeded reports whether p did its whole job and exited cleanly.
func (p *demoProc) succeeded(cfg demoConfig) bool {
	if p.reportErr != nil || p.report == nil || p.exit == nil || !p.exit.Success() {
		return false
	}
	if p.worker == 0 {
		jobs, answered, clients := p.report[0], p.report[1], p.report[2]
		return jobs == answered && jobs == cfg.workers*cfg.jobs && clients == cfg.workers
	}
	sent, answered, wrong := p.report[0], p.report[1], p.report[2]
	return sent == cfg.jobs && answered == cfg.jobs && wrong == 0
}

// eventKind says what a demoEvent tells.
type eventKind uint8

const (
	// eventReport: a child's report arrived on its control pipe, or the
	// pipe failed before one did.
	eventReport eventKind = iota
	// eventExit: a child was reaped.
	eventExit
)

func (k eventKind) String() string {
	switch k {
	case eventReport:
		return "report"
	case eventExit:
		return "exit"
	}
	return fmt.Sprintf("eventKind(%d)", uint8(k))
}

// demoEvent is what a watching goroutine tells the demo's goroutine.
type demoEvent struct {
	proc   *demoProc
	kind   eventKind
	report []int         // eventReport without err
	err    error         // eventReport: why no report came
	exit   launcher.Exit // eventExit
}

// demo runs one demo tree. The goroutine that calls run owns every field
// and every demoProc; the goroutines it starts only send demoEvents on
// events, which has room for every event they can send (one report and one
// exit per process), so they never block.
type demo struct {
	cfg    demoConfig
	exe    string
	out    io.Writer
	log    hclog.Logger
	sigs   <-chan os.Signal
	events chan demoEvent

	procs       []*demoProc // the service first, then the workers in order
	stopSent    bool        // the service was told no more clients come
	interrupted os.Signal
	timedOut    bool

	// watchers counts the goroutines that send events; run waits for
	// them, so none outlives it.
	watchers sync.WaitGroup
}

func newDemo(cfg demoConfig, exe string, out io.Writer, log hclog.Logger, sigs <-chan os.Signal) *demo {
	return &demo{
		cfg:    cfg,
		exe:    exe,
		out:    out,
		log:    log,
		sigs:   sigs,
		events: make(chan demoEvent, 2*(cfg.workers+1)),
	}
}

// run starts the tree, wires it, follows it to the end (or stops it on a
// signal or the timeout), prints the summary and returns the error that
// gives run its exit status.
func (d *demo) run(ctx context.Context) error {
	defer d.watchers.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	timeout := time.NewTimer(d.cfg.timeout)
	defer timeout.Stop()

	err := d.startAll(ctx)
	if err == nil && d.interrupted == nil {
		err = d.wire(ctx)
	}
	if err == nil && d.interrupted == nil {
		err = d.follow(ctx, timeout.C)
	}
	if err != nil || d.interrupted != nil || d.timedOut {
		d.stopAll()
	}
	cancel()
	d.printSummary()
	if err != nil {
		return &statusError{code: exitFailed, msg: err.Error()}
	}
	return d.status()
}

// say prints one event line.
func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, format+"\n", args...)
}

// checkSignal takes a pending signal, if any, without waiting.
func (d *demo) checkSignal() bool {
	select {
	case sig := <-d.sigs:
		d.interrupt(sig)
		return true
	default:
		return false
	}
}

func (d *demo) interrupt(sig os.Signal) {
	d.interrupted = sig
	d.say("mage-run: %v: stopping the tree", sig)
}

// startAll starts the service and then every worker, each of which has
// accepted its invitation when launcher.Start returns.
func (d *demo) startAll(ctx context.Context) error {
	for i := 0; i <= d.cfg.workers; i++ {
		if d.checkSignal() {
			return nil
		}
		if err := d.start(ctx, i); err != nil {
			return err
		}
	}
	return nil
}

// start starts the service (worker 0) or worker i.
func (d *demo) start(ctx context.Context, worker int) error {
	p := &demoProc{label: roleService, worker: worker}
	name := roleService
	env := []string{envRole + "=" + roleService, envLieTo + "=" + strconv.Itoa(d.cfg.lieTo)}
	if worker > 0 {
		p.label = fmt.Sprintf("%s %d", roleWorker, worker)
		name = fmt.Sprintf("%s-%d", roleWorker, worker)
		env = []string{
			envRole + "=" + roleWorker,
			envWorker + "=" + strconv.Itoa(worker),
			envJobs + "=" + strconv.Itoa(d.cfg.jobs),
		}
	}
	cmd := exec.Command(d.exe)
	cmd.Env = append(os.Environ(), env...)
	child, err := launcher.Start(ctx, cmd, launcher.Options{
		Name:          name,
		Pipes:         []string{controlPipe},
		Logger:        d.log,
		CaptureStderr: true,
	})
	if err != nil {
		return fmt.Errorf("start %s: %w", p.label, err)
	}
	p.child = child
	p.control, _ = child.Pipe(controlPipe)
	d.procs = append(d.procs, p)
	d.say("%s: started (pid %d)", p.label, child.Pid())
	d.watchers.Add(1)
	go func() {
		defer d.watchers.Done()
		d.events <- demoEvent{proc: p, kind: eventExit, exit: child.Wait()}
	}()
	return nil
}

// wire makes one pipe per worker and sends its ends to the service and to
// the worker over their control pipes: the siblings then talk directly,
// through this node, which forwards their messages.
func (d *demo) wire(ctx context.Context) error {
	service := d.procs[0]
	for _, w := range d.procs[1:] {
		toWorker, toService := mage.CreatePipe()
		if err := service.control.WriteMessage(newMessage(verbClient, []int{w.worker}, toWorker)); err != nil {
			toService.Close()
			return fmt.Errorf("send a pipe to the service: %w", err)
		}
		if err := w.control.WriteMessage(newMessage(verbService, nil, toService)); err != nil {
			return fmt.Errorf("send a pipe to %s: %w", w.label, err)
		}
		d.say("%s: connected to the service by a pipe passed through mage-run", w.label)
		d.readReport(ctx, w)
	}
	return nil
}

// readReport waits, on a goroutine, for p's report.
func (d *demo) readReport(ctx context.Context, p *demoProc) {
	d.watchers.Add(1)
	go func() {
		defer d.watchers.Done()
		msg, err := readExpected(ctx, p.control, verbReport, 3, 0)
		d.events <- demoEvent{proc: p, kind: eventReport, report: msg.args, err: err}
	}()
}

// follow handles events until the service has reported and exited, a
// signal comes, or the timeout fires.
func (d *demo) follow(ctx context.Context, timeout <-chan time.Time) error {
	for !d.procs[0].finished() {
		// A signal already waiting wins over events also waiting.
		if d.checkSignal() {
			return nil
		}
		select {
		case sig := <-d.sigs:
			d.interrupt(sig)
			return nil
		case <-timeout:
			d.timedOut = true
			d.say("mage-run: timed out after %v: stopping the tree", d.cfg.timeout)
			return nil
		case ev := <-d.events:
			d.handle(ev)
		}
		if err := d.maybeStopService(ctx); err != nil {
			return err
		}
	}
	return nil
}

// handle records ev and prints it.
func (d *demo) handle(ev demoEvent) {
	p := ev.proc
	switch ev.kind {
	case eventExit:
		p.exit = &ev.exit
		d.say("%s: %s", p.label, ev.exit)
	case eventReport:
		p.reported = true
		p.report, p.reportErr = ev.report, ev.err
		// Closing the control pipe acknowledges the report: the child
		// exits once it sees the close.
		p.control.Close()
		d.sayReport(p)
	}
}

func (d *demo) sayReport(p *demoProc) {
	switch {
	case p.reportErr != nil:
		d.say("%s: no report: %v", p.label, p.reportErr)
	case p.worker == 0:
		d.say("%s: answered %d of %d jobs from %d workers", p.label, p.report[1], p.report[0], p.report[2])
	case p.report[2] > 0:
		d.say("%s: %d of %d answers from the service were wrong", p.label, p.report[2], p.report[1])
	default:
		d.say("%s: %d jobs answered by the service", p.label, p.report[1])
	}
}

// maybeStopService tells the service to report and exit once every worker
// has finished.
func (d *demo) maybeStopService(ctx context.Context) error {
	if d.stopSent {
		return nil
	}
	for _, w := range d.procs[1:] {
		if !w.finished() {
			return nil
		}
	}
	d.stopSent = true
	service := d.procs[0]
	if err := service.control.WriteMessage(newMessage(verbStop, nil)); err != nil {
		// The service is gone: the report can never come.
		service.reported = true
		service.reportErr = err
		d.sayReport(service)
		return nil
	}
	d.readReport(ctx, service)
	return nil
}

// stopAll stops every child still running, all at once, each with the
// grace period, and records how each ended.
func (d *demo) stopAll() {
	var wg sync.WaitGroup
	for _, p := range d.procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.child.Stop(d.cfg.grace); err != nil {
				d.log.Warn("cannot stop a child", "child", p.label, "error", err)
			}
		}()
	}
	wg.Wait()
	for _, p := range d.procs {
		if p.exit == nil {
			e := p.child.Wait()
			p.exit = &e
			d.say("%s: %s", p.label, e)
		}
	}
}

// status is the demo's outcome as run's error: nil when every process
// succeeded.
func (d *demo) status() error {
	if sig, ok := d.interrupted.(syscall.Signal); ok {
		return &statusError{code: 128 + int(sig), msg: "stopped by " + signalName(sig)}
	}
	if d.interrupted != nil {
		return &statusError{code: exitFailed, msg: "stopped by " + d.interrupted.String()}
	}
	if d.timedOut {
		return &statusError{code: exitFailed, msg: fmt.Sprintf("timed out after %v", d.cfg.timeout)}
	}
	var failed []string
	for _, p := range d.procs {
		if !p.succeeded(d.cfg) {
			failed = append(failed, p.label)
		}
	}
	if len(failed) > 0 {
		return &statusError{code: exitFailed, msg: "the demo failed: " + strings.Join(failed, ", ")}
	}
	return nil
}

func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}
