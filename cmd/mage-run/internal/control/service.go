package control

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/tree"
	"github.com/mage-ipc/mage/mage"
)

// TreeService serves Control for a running tree.
type TreeService struct {
	Tree *tree.Tree
	// Hub, when not nil, is the tree's observer that Events feeds on.
	Hub *Hub
}

var _ Control = TreeService{}

// Status implements Control.
func (s TreeService) Status(context.Context) (instances []string, depths []int32, states []string, pids []int32, restarts []int32, uptimes []int64, exits []string, cpus []float64, rss []int64, descriptions []string, err error) {
	now := time.Now()
	for _, r := range s.Tree.Snapshot() {
		instances = append(instances, r.Instance)
		depths = append(depths, int32(r.Depth))
		states = append(states, tree.StateText(r))
		pids = append(pids, int32(r.Pid))
		restarts = append(restarts, int32(r.Restarts))
		var up int64
		if !r.Since.IsZero() {
			up = now.Sub(r.Since).Milliseconds()
		}
		uptimes = append(uptimes, up)
		exit := ""
		if r.LastExit != nil {
			exit = r.LastExit.String()
		}
		exits = append(exits, exit)
		cpu, mem := float64(-1), int64(-1)
		if r.HasStats {
			cpu, mem = r.CPU, int64(min(r.RSS, math.MaxInt64))
		}
		cpus = append(cpus, cpu)
		rss = append(rss, mem)
		descriptions = append(descriptions, r.Description)
	}
	return instances, depths, states, pids, restarts, uptimes, exits, cpus, rss, descriptions, nil
}

// Restart implements Control.
func (s TreeService) Restart(ctx context.Context, instance string) error {
	return s.Tree.Restart(ctx, instance)
}

// Stop implements Control.
func (s TreeService) Stop(ctx context.Context, instance string) error {
	return s.Tree.StopInstance(ctx, instance)
}

// Start implements Control.
func (s TreeService) Start(ctx context.Context, instance string) error {
	return s.Tree.StartInstance(ctx, instance)
}

// Follow implements Control.
func (s TreeService) Follow(ctx context.Context, instance string, last int32, follow bool, sink mage.MessagePipe) error {
	if !sink.IsValid() {
		return errors.New("mage-run: follow: no sink pipe")
	}
	return s.Tree.Follow(ctx, instance, int(last), follow, NewLogSinkRemote(sink))
}

// Scale implements Control.
func (s TreeService) Scale(ctx context.Context, process string, count int32) error {
	return s.Tree.Scale(ctx, process, int(count))
}

// Events implements Control.
func (s TreeService) Events(_ context.Context, sink mage.MessagePipe) error {
	if !sink.IsValid() {
		return errors.New("mage-run: events: no sink pipe")
	}
	if s.Hub == nil {
		_ = sink.Close()
		return errors.New("mage-run: events: this tree does not publish its events")
	}
	return s.Hub.add(NewEventSinkRemote(sink))
}
