package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/mage"
)

// The chain workload: the parent A holds one end of a pipe whose other end
// it sent to child B, which sent it on to child C (through an introduction
// by A, the broker). Once B's proxy is gone the route is A to C directly,
// and a round trip through it is compared with one through a pipe A gave C
// directly.
const (
	chainRelayRole = "chain-b"
	chainEndRole   = "chain-c"
)

// collapseTimeout bounds the wait for B's proxy to go.
const collapseTimeout = 10 * time.Second

var errChain = errors.New("bench: chain")

// chainSession is A's side: both children and the two pipes to compare.
type chainSession struct {
	b, c           *child
	node           *mage.Node
	travelled, dir *pipeClient
}

func startChain(ctx context.Context, profileDir string) (*chainSession, error) {
	node := mage.NewNode(mage.NodeOptions{})
	s := &chainSession{node: node}
	travelled, carried := node.CreatePipe()
	toC, fromB := node.CreatePipe()
	direct, directC := node.CreatePipe()
	var err error
	if s.c, err = inviteWith(ctx, node, chainEndRole, map[string]mage.MessagePipe{"in": fromB, "direct": directC}, profileDir); err != nil {
		_ = node.Close()
		return nil, err
	}
	if s.b, err = inviteWith(ctx, node, chainRelayRole, map[string]mage.MessagePipe{"carry": carried, "out": toC}, profileDir); err != nil {
		_ = s.close()
		return nil, err
	}
	s.travelled = &pipeClient{ctx: ctx, p: travelled}
	s.dir = &pipeClient{ctx: ctx, p: direct}
	if _, err := s.b.ctl.ask("collapse"); err != nil {
		_ = s.close()
		return nil, err
	}
	return s, nil
}

// inviteWith starts a child of role with the given pipe ends attached.
func inviteWith(ctx context.Context, node *mage.Node, role string, attach map[string]mage.MessagePipe, profileDir string) (*child, error) {
	ch, err := newChild(role, 0, profileDir)
	if err != nil {
		return nil, err
	}
	inv := invitation.New(node)
	for name, p := range attach {
		if err := inv.AttachPipe(name, p); err != nil {
			inv.Close()
			ch.discard()
			return nil, fmt.Errorf("%w: %s: %w", errChain, role, err)
		}
	}
	if err := inv.PrepareCommand(ch.cmd); err != nil {
		inv.Close()
		ch.discard()
		return nil, fmt.Errorf("%w: %s: %w", errChain, role, err)
	}
	err = ch.start()
	inv.CloseChildSide()
	if err != nil {
		inv.Close()
		return nil, err
	}
	if _, err := inv.Send(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("%w: %s: %w", errChain, role, err), ch.stop())
	}
	return ch, nil
}

func (s *chainSession) close() error {
	var errs []error
	if s.travelled != nil {
		errs = append(errs, s.travelled.p.Close(), s.dir.p.Close())
	}
	errs = append(errs, s.node.Close())
	for _, ch := range []*child{s.b, s.c} {
		if ch != nil {
			errs = append(errs, ch.stop())
		}
	}
	return errors.Join(errs...)
}

// serveChainRelay is B: it sends the end it was given on to C, then
// answers "collapse" once its proxy for that end has gone.
func serveChainRelay(ctx context.Context, env *childEnv) error {
	acc, err := acceptNamed(ctx)
	if err != nil {
		return err
	}
	carry, ok1 := acc["carry"]
	out, ok2 := acc["out"]
	if !ok1 || !ok2 {
		return fmt.Errorf("%w: B needs pipes carry and out, got %d pipes", errChain, len(acc))
	}
	if err := out.WriteMessage(&mage.Message{Pipes: []mage.MessagePipe{carry}}); err != nil {
		return fmt.Errorf("%w: sending the end on: %w", errChain, err)
	}
	close(env.ready)
	<-ctx.Done()
	return nil
}

// collapseHandler answers "collapse" in B once B has sent the end on and
// holds no port but its own "out": the proxy it left has been removed.
func collapseHandler(env *childEnv) controlHandler {
	return func([]string) (string, error) {
		deadline := time.Now().Add(collapseTimeout)
		select {
		case <-env.ready:
		case <-time.After(collapseTimeout):
			return "", fmt.Errorf("%w: B did not send the end on within %v", errChain, collapseTimeout)
		}
		// The harness, not a test, polls here: nothing reports a proxy's
		// removal, and the wait is bounded.
		node := mage.DefaultNode()
		for node.PortCount() > 1 {
			if time.Now().After(deadline) {
				return "", fmt.Errorf("%w: B still has %d ports after %v", errChain, node.PortCount(), collapseTimeout)
			}
			time.Sleep(time.Millisecond)
		}
		return "", nil
	}
}

// acceptNamed accepts this child's invitation and returns its pipes by
// name.
func acceptNamed(ctx context.Context) (map[string]mage.MessagePipe, error) {
	acc, err := invitation.Accept(ctx)
	if err != nil {
		return nil, err
	}
	return acc.Pipes(), nil
}

// serveChainEnd is C: it echoes on the direct pipe and on the end that
// arrives through B.
func serveChainEnd(ctx context.Context, _ *childEnv) error {
	acc, err := acceptNamed(ctx)
	if err != nil {
		return err
	}
	in, ok1 := acc["in"]
	direct, ok2 := acc["direct"]
	if !ok1 || !ok2 {
		return fmt.Errorf("%w: C needs pipes in and direct, got %d pipes", errChain, len(acc))
	}
	served := make(chan error, 1)
	go func() { served <- servePipe(ctx, direct) }()
	m, err := nextMessage(ctx, in)
	if err != nil {
		return fmt.Errorf("%w: waiting for the travelling end: %w", errChain, err)
	}
	if len(m.Pipes) != 1 {
		m.Close()
		return fmt.Errorf("%w: B's message carries %d pipes, want 1", errChain, len(m.Pipes))
	}
	return errors.Join(servePipe(ctx, m.Pipes[0]), <-served)
}
