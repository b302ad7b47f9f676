package tree

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/spec"
)

// ErrNoInstance is returned by the control methods for a name that is no
// instance of the tree.
var ErrNoInstance = errors.New("mage-run: no such instance")

// controlAction is what a control request asks of an instance.
type controlAction uint8

const (
	actRestart controlAction = iota
	actStop
	actStart
)

// controlRequest is a Restart, Stop or Start for the loop.
type controlRequest struct {
	action   controlAction
	instance string
	reply    *reply
}

// maxScale bounds the replicas Scale makes of one block under one parent.
const maxScale = 256

// scaleRequest is a Scale for the loop.
type scaleRequest struct {
	process string
	count   int
	reply   *reply
}

// Scale makes the replicated process block have count live instances
// under each instance of its parent: it starts new replicas (numbered
// after the highest), or stops the highest-numbered ones for good.
func (t *Tree) Scale(ctx context.Context, process string, count int) error {
	req := &scaleRequest{process: process, count: count, reply: newReply()}
	select {
	case t.events <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-t.done:
		return errTreeEnded
	}
	return req.reply.wait(ctx, t.done).err
}

func (req *scaleRequest) apply(t *Tree) {
	req.reply.fail(t.scale(req.process, req.count))
}

func (t *Tree) scale(process string, count int) error {
	b := t.opts.Spec.Process(process)
	switch {
	case t.stopping:
		return fmt.Errorf("mage-run: scale %s: the tree is stopping", process)
	case b == nil:
		return fmt.Errorf("mage-run: scale: the spec has no process %q", process)
	case b.OnDemand:
		return fmt.Errorf("mage-run: scale %s: it is on_demand: its parent launches its instances", process)
	case b.Count < 2:
		return fmt.Errorf("mage-run: scale %s: it is not replicated (count = %d): only a process with count > 1 in the spec, whose instances are numbered, can be scaled", process, b.Count)
	case count < 0 || count > maxScale:
		return fmt.Errorf("mage-run: scale %s: want 0 to %d instances, not %d", process, maxScale, count)
	}
	var parents []*instance
	if b.Parent == nil {
		parents = []*instance{nil}
	} else {
		for _, in := range t.all {
			if in.block == b.Parent && !in.ended() {
				parents = append(parents, in)
			}
		}
	}
	for _, parent := range parents {
		t.scaleUnder(b, parent, count)
	}
	t.publish()
	return nil
}

// scaleUnder scales block b under one parent instance (nil: the top
// level).
func (t *Tree) scaleUnder(b *spec.Process, parent *instance, count int) {
	sibs := t.roots
	if parent != nil {
		sibs = parent.children
	}
	var live []*instance
	highest := 0
	for _, in := range sibs {
		if in.block != b {
			continue
		}
		highest = max(highest, in.replica)
		if !in.ended() && !in.stopWanted {
			live = append(live, in)
		}
	}
	for i := len(live); i < count; i++ {
		highest++
		in := t.newInstance(b, highest, parent, nil)
		if parent == nil {
			t.roots = append(t.roots, in)
		}
		t.log.Named(in.name).Info("scaling up: new replica")
	}
	for i := len(live) - 1; i >= count; i-- {
		t.log.Named(live[i].name).Info("scaling down: stopping replica")
		t.stopSubtree(live[i])
	}
	t.startReady(t.siblingsOf(parent))
}

// siblingsOf returns the children of parent, or the top-level instances.
func (t *Tree) siblingsOf(parent *instance) []*instance {
	if parent != nil {
		return parent.children
	}
	return t.roots
}

// Restart stops the process of the named instance and starts it again at
// once, without counting it as a failure. It returns once the stop is
// under way.
func (t *Tree) Restart(ctx context.Context, instance string) error {
	return t.control(ctx, actRestart, instance)
}

// StopInstance stops the named instance for good, its children first.
// It returns once the stop is under way.
func (t *Tree) StopInstance(ctx context.Context, instance string) error {
	return t.control(ctx, actStop, instance)
}

// StartInstance starts again the named instance, which has ended, and
// its descendants, once its parent runs.
func (t *Tree) StartInstance(ctx context.Context, instance string) error {
	return t.control(ctx, actStart, instance)
}

func (t *Tree) control(ctx context.Context, action controlAction, instance string) error {
	req := &controlRequest{action: action, instance: instance, reply: newReply()}
	select {
	case t.events <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-t.done:
		return errTreeEnded
	}
	return req.reply.wait(ctx, t.done).err
}

func (req *controlRequest) apply(t *Tree) {
	i := slices.IndexFunc(t.all, func(in *instance) bool { return in.name == req.instance })
	if i < 0 {
		req.reply.fail(fmt.Errorf("%w: %q", ErrNoInstance, req.instance))
		return
	}
	in := t.all[i]
	var err error
	switch {
	case t.stopping:
		err = fmt.Errorf("mage-run: %s: the tree is stopping", in.name)
	case req.action == actRestart:
		if err = t.restartByControl(in); err == nil && in.restartWanted {
			// Answered once the process is stopped and started again.
			in.restartReplies = append(in.restartReplies, req.reply)
			return
		}
	case req.action == actStop:
		if err = t.stopByControl(in); err == nil && !in.ended() {
			// Answered once it has ended.
			in.stopReplies = append(in.stopReplies, req.reply)
			return
		}
	default:
		err = t.startByControl(in)
	}
	req.reply.fail(err)
}

// answerControl answers the control requests waiting for in: a stop has
// ended it, or a restart has started it again.
func (t *Tree) answerControl(in *instance) {
	restarted := in.state == StateStarting
	for _, r := range in.restartReplies {
		if restarted {
			r.fail(nil)
		} else {
			r.fail(fmt.Errorf("mage-run: %s ended instead of restarting (%v)", in.name, in.outcome))
		}
	}
	in.restartReplies = nil
	if in.ended() {
		for _, r := range in.stopReplies {
			r.fail(nil)
		}
		in.stopReplies = nil
	}
}

func (t *Tree) restartByControl(in *instance) error {
	switch in.state {
	case StateRunning:
		t.log.Named(in.name).Info("restarting process on request")
		in.restartWanted = true
		t.stopProcess(in)
	case StateBackoff:
		in.backoff.Stop()
		in.backoff = nil
		t.startInstance(in)
	default:
		return fmt.Errorf("mage-run: %s is %s: only a running process (or one waiting to restart) can be restarted", in.name, describe(in))
	}
	return nil
}

func (t *Tree) stopByControl(in *instance) error {
	if in.ended() {
		return fmt.Errorf("mage-run: %s has ended already (%v)", in.name, in.outcome)
	}
	t.log.Named(in.name).Info("stopping process on request")
	t.stopSubtree(in)
	return nil
}

func (t *Tree) startByControl(in *instance) error {
	if !in.ended() {
		return fmt.Errorf("mage-run: %s is %s: only one that has ended can be started", in.name, describe(in))
	}
	if in.parent != nil && in.parent.state != StateRunning {
		return fmt.Errorf("mage-run: %s: its parent %s is %s", in.name, in.parent.name, describe(in.parent))
	}
	t.log.Named(in.name).Info("starting process on request")
	in.walk(func(d *instance) {
		if !d.ended() {
			return
		}
		d.state, d.outcome, d.stopWanted = StateWaiting, OutcomeNone, false
		d.streak = 0
		t.failures = slices.DeleteFunc(t.failures, func(f *instance) bool { return f == d })
	})
	t.publish()
	t.startReady(t.siblings(in))
	if in.state == StateWaiting {
		return fmt.Errorf("mage-run: %s waits for the processes it is after", in.name)
	}
	return nil
}

// describe says what state in is in, as the view does.
func describe(in *instance) string {
	switch {
	case in.ended():
		return in.outcome.String()
	case in.state == StateRunning && in.ready:
		return "ready"
	}
	return in.state.String()
}
