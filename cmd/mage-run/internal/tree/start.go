package tree

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/spec"
	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/launcher"
	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/supervisor"
)

// newInstances makes the instances of block b under parent (nil for the
// top level), with their own children, all waiting to be started. An
// on-demand block has none until its parent launches one.
func (t *Tree) newInstances(b *spec.Process, parent *instance) []*instance {
	if b.OnDemand {
		return nil
	}
	out := make([]*instance, 0, b.Count)
	for i := 1; i <= b.Count; i++ {
		out = append(out, t.newInstance(b, i, parent, nil))
	}
	return out
}

// newInstance makes one instance of b and the instances below it.
func (t *Tree) newInstance(b *spec.Process, replica int, parent *instance, args []string) *instance {
	name := instanceName(b, replica, parent)
	in := &instance{
		block:      b,
		name:       name,
		replica:    replica,
		parent:     parent,
		args:       args,
		slots:      make(map[string]*slot),
		launches:   make(map[*spec.Process]int),
		reconnects: make(map[string][]*reconnectRequest),
		logs:       &logRing{},
		file:       newLogFile(b.Log, name, t.log),
	}
	t.all = append(t.all, in)
	if parent != nil {
		parent.children = append(parent.children, in)
	}
	t.addSlots(in)
	for _, c := range b.Children {
		t.newInstances(c, in)
	}
	return in
}

// startedEvent is the end of a start: the process accepted, or the start
// failed.
type startedEvent struct {
	in         *instance
	run        int
	child      *launcher.Child
	err        error
	supervisor mage.MessagePipe
	// parentEnd is the launcher's end of an on-demand instance's pipe to
	// the process that launched it.
	parentEnd mage.MessagePipe
}

// exitEvent says the process of a run has been reaped.
type exitEvent struct {
	in   *instance
	run  int
	exit launcher.Exit
}

// startInstance starts in's process. The start runs on a goroutine of its
// own and reports with a startedEvent.
func (t *Tree) startInstance(in *instance) {
	in.run++
	in.state = StateStarting
	in.stopSent = false
	// Until this run accepts, its uptime is none; it is not ready.
	in.startedAt = time.Time{}
	in.launchedAt = time.Now()
	in.ready, in.unhealthy = false, ""
	run := in.run
	log := t.log.Named(in.name)

	var inv *invitation.Invitation
	var supLocal, parentEnd mage.MessagePipe
	if in.block.Invite {
		inv, supLocal, parentEnd = t.invitation(in)
	}

	argv := append(append([]string(nil), in.block.Command...), in.args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = in.block.Dir
	cmd.Env = t.environment(in)
	in.watch = newOutputWatch(t, in, run)
	in.file.note("run " + strconv.Itoa(run) + " starting")
	if t.opts.Stdout != nil {
		cmd.Stdout = t.opts.Stdout
	} else {
		lineLog := log
		if t.opts.Output != nil {
			// Output prints the lines; the log does not repeat them.
			lineLog = hclog.NewNullLogger()
		}
		in.stdout = newLineLogger(lineLog, "stdout")
		in.stdout.onLine = t.outputLine(in, in.watch, Stdout)
		cmd.Stdout = in.stdout
	}
	ctx, cancel := context.WithCancel(context.Background())
	in.cancelStart = cancel
	opts := launcher.Options{
		Name:          in.name,
		Node:          t.node,
		Invitation:    inv,
		NoInvitation:  !in.block.Invite,
		AcceptTimeout: t.acceptTimeout(in),
		StopSignal:    in.block.StopSignal,
		Logger:        t.log,
		CaptureStderr: true,
		StderrLine:    t.outputLine(in, in.watch, Stderr),
		// Named as soon as the handshake names the node, before the
		// process can send a message another process would log.
		OnPeer: func(node mage.NodeName) { t.names.Set(node, in.name) },
		// A process stopped with SIGTERM may still send its last replies.
		KeepConnectionOnStop: true,
		OnExit: func(e launcher.Exit) {
			t.send(exitEvent{in: in, run: run, exit: e})
		},
	}
	// Output prints stderr's lines; the log does not repeat them.
	opts.StderrLineOnly = t.opts.Output != nil
	t.observe(in, in.startDetail)
	in.startDetail = ""
	t.workers.Add(1)
	go func() {
		defer t.workers.Done()
		defer cancel()
		child, err := launcher.Start(ctx, cmd, opts)
		t.send(startedEvent{in: in, run: run, child: child, err: err, supervisor: supLocal, parentEnd: parentEnd})
	}()
}

// acceptTimeout is how long in's process may take to accept: the spec's,
// unless Options overrides it.
func (t *Tree) acceptTimeout(in *instance) time.Duration {
	if t.opts.AcceptTimeout > 0 {
		return t.opts.AcceptTimeout
	}
	return in.block.AcceptTimeout
}

// invitation makes in's invitation: the supervisor interface, its pipes,
// and for an on-demand instance its pipe to its parent, whose other end
// it returns with the supervisor's.
func (t *Tree) invitation(in *instance) (inv *invitation.Invitation, supLocal, parentEnd mage.MessagePipe) {
	inv = invitation.New(t.node)
	supLocal, supRemote := t.node.CreatePipe()
	attach := map[string]mage.MessagePipe{supervisor.Attachment: supRemote}
	for name, s := range in.slots {
		attach[name] = t.takeForStart(s)
	}
	if in.launchedBy != nil {
		var childEnd mage.MessagePipe
		parentEnd, childEnd = t.node.CreatePipe()
		attach[supervisor.ParentAttachment] = childEnd
	}
	for name, p := range attach {
		if err := inv.AttachPipe(name, p); err != nil {
			// The spec's checks make this impossible; say so loudly.
			t.log.Named(in.name).Error("cannot attach pipe", "attachment", name, "error", err)
			_ = p.Close()
		}
	}
	return inv, supLocal, parentEnd
}

// environment is what in's process gets: mage-run's own, Options.Env,
// who it is, then the spec's env.
func (t *Tree) environment(in *instance) []string {
	env := os.Environ()
	if in.block.Invite {
		// MAGE_TRACE and the like mean nothing to a program without mage.
		env = append(env, t.opts.Env...)
	}
	env = append(env,
		supervisor.EnvInstance+"="+in.name,
		supervisor.EnvProcess+"="+in.block.Name,
		supervisor.EnvReplica+"="+strconv.Itoa(in.replica),
	)
	for k, v := range in.block.Env {
		env = append(env, k+"="+v)
	}
	return env
}

func (ev startedEvent) apply(t *Tree) {
	in := ev.in
	in.cancelStart = nil
	if in.startDeadline != nil {
		in.startDeadline.Stop()
		in.startDeadline = nil
	}
	if ev.err != nil {
		_ = ev.supervisor.Close()
		t.startFailed(in, ev)
		return
	}
	in.child = ev.child
	if c := ev.child.Connection(); c != nil {
		in.node = c.Peer()
	}
	in.startedAt = time.Now()
	in.state = StateRunning
	if ev.supervisor.IsValid() {
		in.supervisor = supervisor.BindSupervisor(ev.supervisor, &supervisorService{t: t, in: in, run: ev.run})
	}
	t.log.Named(in.name).Info("process running", "pid", ev.child.Pid(), "run", ev.run)
	t.observe(in, "")
	if req := in.launchedBy; req != nil {
		in.launchedBy = nil
		req.reply.give(result{name: in.name, pipe: ev.parentEnd})
	}
	if in.earlyExit != nil {
		// The process exited before this event was applied.
		exit := *in.earlyExit
		in.earlyExit = nil
		t.exited(in, exit)
		return
	}
	if in.stopWanted || t.stopping {
		in.stopWanted = true
		t.stopSubtree(in)
		return
	}
	t.beginProbes(in)
	t.startReady(in.children)
	t.startReady(t.siblings(in))
}

// startFailed handles a start that failed: the process, if any, has been
// reaped. It counts as a failed run.
func (t *Tree) startFailed(in *instance, ev startedEvent) {
	exit := launcher.Exit{Code: -1, Cause: launcher.CauseStartFailed, Reason: "start failed: " + ev.err.Error(), Err: ev.err}
	var se *launcher.StartError
	if errors.As(ev.err, &se) && se.Exit != nil {
		exit = *se.Exit
	}
	// Whatever its status, a process that ended before it accepted its
	// invitation failed to start: status 0 must not read as "finished".
	// One killed for a bad message in its handshake keeps that reason.
	killedForBadMessage := exit.Cause == launcher.CauseBadMessage
	if !killedForBadMessage {
		exit.Cause, exit.Err = launcher.CauseStartFailed, ev.err
	}
	log := t.log.Named(in.name)
	if errors.Is(ev.err, launcher.ErrExitedBeforeAccept) && !killedForBadMessage {
		exit.Reason = "exited before accepting its invitation"
		log.Error("process exited before accepting its invitation; a program that does not use mage needs invite = false",
			"status", exit.Status())
	} else {
		log.Error("process failed to start", "error", ev.err)
	}
	_ = ev.parentEnd.Close()
	if req := in.launchedBy; req != nil {
		in.launchedBy = nil
		req.reply.fail(ev.err)
	}
	in.earlyExit = nil
	t.exited(in, exit)
}

func (ev exitEvent) apply(t *Tree) {
	in := ev.in
	if ev.run != in.run {
		return // cannot happen: a run starts after the previous one's exit
	}
	if in.state == StateStarting {
		// The start's own event has not been applied yet; it will be, and
		// then this exit.
		e := ev.exit
		in.earlyExit = &e
		return
	}
	t.exited(in, ev.exit)
}
