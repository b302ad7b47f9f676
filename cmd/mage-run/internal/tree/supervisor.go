package tree

import (
	"context"
	"fmt"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/spec"
	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/supervisor"
)

// supervisorService serves the Supervisor interface to one run of one
// instance. Its methods run on the Receiver's goroutine and ask the loop.
type supervisorService struct {
	t   *Tree
	in  *instance
	run int
}

// readyRequest is a Supervisor.Ready call for the loop.
type readyRequest struct {
	caller *instance
	run    int
	reply  *reply
}

func (s *supervisorService) Ready(ctx context.Context) error {
	req := &readyRequest{caller: s.in, run: s.run, reply: newReply()}
	if err := s.ask(ctx, req); err != nil {
		return err
	}
	return req.reply.wait(ctx, s.t.done).err
}

func (req *readyRequest) apply(t *Tree) {
	in := req.caller
	if req.run == in.run && in.state == StateRunning {
		if pr := in.block.Ready; pr != nil && pr.Kind == spec.ProbeSupervisor {
			t.markReady(in, "Supervisor.Ready")
		}
	}
	req.reply.give(result{})
}

// launchRequest is a Supervisor.Launch call for the loop.
type launchRequest struct {
	caller  *instance
	process string
	args    []string
	reply   *reply
}

// reconnectRequest is a Supervisor.Reconnect call for the loop.
type reconnectRequest struct {
	caller     *instance
	attachment string
	reply      *reply
}

func (s *supervisorService) Launch(ctx context.Context, process string, args []string) (string, mage.MessagePipe, error) {
	req := &launchRequest{caller: s.in, process: process, args: args, reply: newReply()}
	if err := s.ask(ctx, req); err != nil {
		return "", mage.MessagePipe{}, err
	}
	res := req.reply.wait(ctx, s.t.done)
	return res.name, res.pipe, res.err
}

func (s *supervisorService) Reconnect(ctx context.Context, attachment string) (mage.MessagePipe, error) {
	req := &reconnectRequest{caller: s.in, attachment: attachment, reply: newReply()}
	if err := s.ask(ctx, req); err != nil {
		return mage.MessagePipe{}, err
	}
	res := req.reply.wait(ctx, s.t.done)
	return res.pipe, res.err
}

// ask hands a request to the loop.
func (s *supervisorService) ask(ctx context.Context, ev event) error {
	select {
	case s.t.events <- ev:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.t.done:
		return errTreeEnded
	}
}

func (req *launchRequest) apply(t *Tree) {
	caller := req.caller
	var block *spec.Process
	for _, c := range caller.block.Children {
		if c.Name == req.process {
			block = c
		}
	}
	switch {
	case t.stopping || caller.stopWanted:
		req.reply.fail(fmt.Errorf("mage-run: cannot launch %q: %s is stopping", req.process, caller.name))
		return
	case caller.state != StateRunning:
		req.reply.fail(fmt.Errorf("mage-run: cannot launch %q: %s is %v", req.process, caller.name, caller.state))
		return
	case block == nil:
		req.reply.fail(fmt.Errorf("mage-run: cannot launch %q: the spec declares no process %q inside %q", req.process, req.process, caller.block.Name))
		return
	case !block.OnDemand:
		req.reply.fail(fmt.Errorf("mage-run: cannot launch %q: it is not declared on_demand (mage-run starts it with its parent)", req.process))
		return
	}
	caller.launches[block]++
	in := t.newInstance(block, caller.launches[block], caller, req.args)
	in.launchedBy = req
	in.walk(func(d *instance) { d.launched = true })
	t.log.Named(caller.name).Info("launching on demand", "process", req.process, "instance", in.name)
	t.startInstance(in)
}

func (req *reconnectRequest) apply(t *Tree) {
	in := req.caller
	s := in.slots[req.attachment]
	switch {
	case in.state != StateRunning && in.state != StateStopping:
		req.reply.fail(fmt.Errorf("mage-run: reconnect %q: %s is %v", req.attachment, in.name, in.state))
	case s == nil:
		req.reply.fail(fmt.Errorf("mage-run: reconnect %q: process %q has no pipe attachment %q in the spec", req.attachment, in.block.Name, req.attachment))
	case s.stream():
		req.reply.fail(fmt.Errorf("mage-run: reconnect %q: that attachment carries the Peers interface; new pipes arrive through Peers.Connected", req.attachment))
	case t.stopping:
		req.reply.fail(fmt.Errorf("mage-run: reconnect %q: the tree is stopping", req.attachment))
	default:
		if why := t.peerGone(s); why != "" {
			req.reply.fail(fmt.Errorf("mage-run: reconnect %q: %s", req.attachment, why))
			return
		}
		in.reconnects[req.attachment] = append(in.reconnects[req.attachment], req)
		t.answerReconnects(s)
	}
}

// peerGone says why no new pipe will come for s, or "" when one may.
func (t *Tree) peerGone(s *slot) string {
	var peer *slot
	if s.link.single == -1 {
		peer = s.link.ends[1-s.side]
	} else {
		peer = s.link.ends[s.link.single]
	}
	if peer == nil {
		return "the process at the other end does not exist"
	}
	if peer.in.ended() {
		return "the process at the other end, " + peer.in.name + ", has ended"
	}
	return ""
}

// answerReconnects gives s's next end to the first Reconnect waiting for
// it.
func (t *Tree) answerReconnects(s *slot) {
	waiting := s.in.reconnects[s.attachment]
	if len(waiting) == 0 || !s.next.IsValid() {
		return
	}
	req := waiting[0]
	s.in.reconnects[s.attachment] = waiting[1:]
	end := s.next
	s.next = mage.MessagePipe{}
	req.reply.give(result{pipe: end})
}

// failReconnects fails every Reconnect of in.
func (t *Tree) failReconnects(in *instance, err error) {
	for name, reqs := range in.reconnects {
		for _, req := range reqs {
			req.reply.fail(err)
		}
		delete(in.reconnects, name)
	}
}

// failReconnectsOf fails the Reconnects waiting on slot s.
func (t *Tree) failReconnectsOf(s *slot, why string) {
	for _, req := range s.in.reconnects[s.attachment] {
		req.reply.fail(fmt.Errorf("mage-run: reconnect %q: %s", s.attachment, why))
	}
	delete(s.in.reconnects, s.attachment)
}

var _ supervisor.Supervisor = (*supervisorService)(nil)
