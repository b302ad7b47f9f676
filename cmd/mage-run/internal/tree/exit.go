package tree

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/spec"
	"github.com/mage-ipc/mage/launcher"
)

// exited handles the end of in's current run: it restarts the instance,
// or ends it for good.
func (t *Tree) exited(in *instance, exit launcher.Exit) {
	if in.child != nil {
		// The run's last sample is at most a period old.
		if cpu, peak, ok := t.stats.usage(procRef{pid: in.child.Pid(), launchedAt: in.launchedAt}); ok {
			in.pastCPU += cpu
			in.peakRSS = max(in.peakRSS, peak)
			in.hasUsage = true
		}
	}
	in.child = nil
	in.lastExit = &exit
	if in.stdout != nil {
		// The process is reaped, so os/exec has copied all it wrote.
		in.stdout.flush()
		in.stdout = nil
	}
	if in.supervisor != nil {
		// Close cancels a request being served; it waits for nothing else.
		_ = in.supervisor.Close()
		in.supervisor = nil
	}
	t.failReconnects(in, fmt.Errorf("process %s exited", in.name))
	t.stopProber(in)
	in.ready = false
	if in.unhealthy != "" {
		// Stopped by mage-run, but for failing: a failed run.
		exit.Reason = in.unhealthy + "; " + exit.Reason
		in.lastExit = &exit
	}
	in.file.note(fmt.Sprintf("run %d %s", in.run, exit.String()))
	log := t.log.Named(in.name)
	if in.stopWanted || t.stopping {
		in.restartWanted = false
		log.Info("process stopped", "exit", exit.String())
		t.end(in, OutcomeStopped, exit.String())
		return
	}
	if in.restartWanted {
		in.restartWanted = false
		in.restarts++
		log.Info("process restarted on request", "exit", exit.String())
		in.startDetail = exit.String() + "; restarted on request"
		t.startInstance(in)
		t.answerControl(in)
		return
	}
	if r := in.block.Restart; r.ResetAfter > 0 && in.streak > 0 && !in.startedAt.IsZero() {
		if up := time.Since(in.startedAt); up >= r.ResetAfter {
			log.Info("run was stable; restarts forgotten", "uptime", up.Round(time.Millisecond), "reset_after", r.ResetAfter, "forgotten", in.streak)
			in.streak = 0
		}
	}
	delay, restart := t.restartDelay(in, exit)
	if restart {
		in.state = StateBackoff
		in.restarts++
		in.streak++
		log.Warn("process exited; restarting", "exit", exit.String(), "restart", in.streak, "in", delay)
		run := in.run
		in.backoff = time.AfterFunc(delay, func() { t.send(backoffEvent{in: in, run: run}) })
		t.observe(in, fmt.Sprintf("%s; restart %d in %v", exit.String(), in.streak, delay))
		return
	}
	switch {
	case exit.Success():
		log.Info("process finished", "exit", exit.String())
		t.end(in, OutcomeFinished, exit.String())
	case in.block.Restart.Policy != spec.RestartNever:
		log.Error("process failed; giving up", "exit", exit.String(), "restarts", in.streak)
		t.end(in, OutcomeFailed, fmt.Sprintf("%s; gave up after %d restarts", exit.String(), in.streak))
	default:
		log.Error("process failed", "exit", exit.String())
		t.end(in, OutcomeFailed, exit.String())
	}
}

// restartDelay says whether in's policy restarts it after exit, and after
// how long: the backoff doubles with every restart in a row, up to its
// cap, and a random part (the jitter) is taken off.
func (t *Tree) restartDelay(in *instance, exit launcher.Exit) (time.Duration, bool) {
	r := in.block.Restart
	switch r.Policy {
	case spec.RestartNever:
		return 0, false
	case spec.RestartOnFailure:
		if exit.Success() {
			return 0, false
		}
	}
	if r.Limit > 0 && in.streak >= r.Limit {
		return 0, false
	}
	return jittered(backoffDelay(r, in.streak), r.Jitter, rand.Float64()), true
}

// backoffDelay is the delay before restart n+1 in a row: Backoff doubled
// n times, at most MaxBackoff.
func backoffDelay(r spec.Restart, n int) time.Duration {
	delay := r.Backoff
	for i := 0; i < n && delay < r.MaxBackoff; i++ {
		delay *= 2
	}
	return min(delay, r.MaxBackoff)
}

// jittered takes the fraction jitter*u (u from 0 to 1) off d, so that
// processes that failed together are not all restarted together; the
// result is from d*(1-jitter) to d, never above d. It is rounded to the
// millisecond, to read well in logs.
func jittered(d time.Duration, jitter, u float64) time.Duration {
	if jitter <= 0 {
		return d
	}
	out := d - time.Duration(float64(d)*jitter*u)
	if r := out.Round(time.Millisecond); r > 0 && r <= d {
		out = r
	}
	return out
}

// backoffEvent says a restart delay has passed.
type backoffEvent struct {
	in  *instance
	run int
}

func (ev backoffEvent) apply(t *Tree) {
	in := ev.in
	if in.state != StateBackoff || in.run != ev.run {
		return // stopped meanwhile
	}
	in.backoff = nil
	t.startInstance(in)
}

// end ends in for good: what waits for it is told, its children are torn
// down, and a parent waiting for its children to end may now stop.
func (t *Tree) end(in *instance, outcome Outcome, detail string) {
	in.state = StateEnded
	in.outcome = outcome
	in.file.release()
	if in.backoff != nil {
		in.backoff.Stop()
		in.backoff = nil
	}
	if outcome == OutcomeFailed {
		t.failures = append(t.failures, in)
	}
	t.observe(in, detail)
	t.answerControl(in)
	if outcome == OutcomeFailed && in.block.Required && !t.stopping {
		t.log.Named(in.name).Error("required process failed for good; stopping the tree")
		t.requiredFailed = in
		t.beginStop()
	}
	t.endSlots(in)
	for _, c := range in.children {
		t.stopSubtree(c)
	}
	if in.parent != nil {
		t.maybeStop(in.parent)
	}
	for _, s := range t.siblings(in) {
		t.maybeStop(s)
	}
	// A sibling that waited for this one may start now.
	t.startReady(t.siblings(in))
}

// stopSubtree ends in and everything below it, children first.
func (t *Tree) stopSubtree(in *instance) {
	if in.ended() {
		return
	}
	in.stopWanted = true
	if t.stopWithoutProcess(in, false) || in.state != StateRunning {
		return
	}
	for _, c := range in.children {
		t.stopSubtree(c)
	}
	t.maybeStop(in)
}

// stopWithoutProcess ends in if it has no process to signal yet, and
// reports whether it had none: a waiting instance never starts, one in
// backoff is not started again. A start in progress is cancelled (its
// failure then ends the instance) at once when force is set; otherwise it
// may finish within the stop timeout, so that a process that has just
// accepted is stopped politely, as a running one is, once the start's
// event arrives.
func (t *Tree) stopWithoutProcess(in *instance, force bool) bool {
	switch in.state {
	case StateWaiting:
		t.end(in, OutcomeNotStarted, "")
	case StateBackoff:
		t.end(in, OutcomeStopped, "")
	case StateStarting:
		switch {
		case force && in.cancelStart != nil:
			in.cancelStart()
		case in.startDeadline == nil && in.cancelStart != nil:
			run := in.run
			in.startDeadline = time.AfterFunc(in.block.StopTimeout, func() { t.send(startDeadlineEvent{in: in, run: run}) })
		}
	default:
		return false
	}
	return true
}

// startDeadlineEvent says the stop timeout of an instance asked to stop
// while it was starting has passed.
type startDeadlineEvent struct {
	in  *instance
	run int
}

func (ev startDeadlineEvent) apply(t *Tree) {
	in := ev.in
	in.startDeadline = nil
	if in.state != StateStarting || in.run != ev.run || in.cancelStart == nil {
		return // the start ended meanwhile
	}
	t.log.Named(in.name).Warn("still starting at its stop timeout; killing it", "timeout", in.block.StopTimeout)
	in.cancelStart()
}

// stopProcess stops in's process politely, then by force after its stop
// timeout. The exit arrives as an exitEvent.
func (t *Tree) stopProcess(in *instance) {
	if in.child == nil || in.stopSent {
		return
	}
	in.state = StateStopping
	in.stopSent = true
	t.observe(in, "")
	child, grace := in.child, in.block.StopTimeout
	t.log.Named(in.name).Info("stopping process", "pid", child.Pid(), "timeout", grace)
	t.workers.Add(1)
	go func() {
		defer t.workers.Done()
		if err := child.Stop(grace); err != nil {
			t.log.Named(in.name).Error("stopping process failed", "error", err)
		}
	}()
}

// beginStop shuts the whole tree down in order.
func (t *Tree) beginStop() {
	if t.stopping {
		return
	}
	t.stopping = true
	t.log.Info("stopping the tree")
	for i := len(t.roots) - 1; i >= 0; i-- {
		t.stopSubtree(t.roots[i])
	}
}

// killAll kills every process at once.
func (t *Tree) killAll() {
	t.stopping = true
	t.log.Warn("killing the tree")
	for _, in := range t.all {
		if in.ended() {
			continue
		}
		in.stopWanted = true
		if t.stopWithoutProcess(in, true) {
			continue
		}
		if err := in.child.Kill(); err != nil {
			t.log.Named(in.name).Error("killing process failed", "error", err)
		}
	}
}
