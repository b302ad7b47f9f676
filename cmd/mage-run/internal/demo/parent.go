package demo

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/supervisor"
)

// workerResult is what one worker's Run replied.
type workerResult struct {
	name               string
	sent, right, wrong int64
	err                error
}

func runParent(stopCtx context.Context, acc *invitation.Accepted, log hclog.Logger) error {
	workers, err := envInt(envWorkers)
	if err != nil {
		return err
	}
	jobs, err := envInt(envJobs)
	if err != nil {
		return err
	}
	rate, err := envInt(envRate)
	if err != nil {
		return err
	}
	sup, err := supervisor.Connect(acc)
	if err != nil {
		return err
	}
	defer sup.Close()
	sp, err := attachment(acc, "service")
	if err != nil {
		return err
	}
	service := NewServiceRemote(sp)
	defer service.Close()

	results := make(chan workerResult, workers)
	launched := 0
	for range workers {
		name, p, err := sup.Launch(stopCtx, RoleWorker, nil)
		if err != nil {
			if jobs > 0 {
				return fmt.Errorf("launch a worker: %w", err)
			}
			// The tree is being stopped (mage-run refuses launches then):
			// the workers launched so far report below.
			log.Warn("cannot launch a worker", "error", err)
			break
		}
		w := NewWorkerRemote(p)
		// The Calculator pipe is made here and its ends given away: the
		// service and the worker talk over it directly.
		calc, calcReceiver := NewCalculatorPipe()
		if err := service.AddClient(name, calcReceiver); err != nil {
			return fmt.Errorf("hand %s's pipe to the service: %w", name, err)
		}
		log.Info("worker launched", "worker", name)
		launched++
		go func() {
			// Run ends with a reply when the worker is done or stopped; a
			// stopped parent stops waiting (the context).
			sent, right, wrong, err := w.Run(stopCtx, calc, int32(jobs), int32(rate))
			// The worker waits for this to exit.
			_ = w.Close()
			results <- workerResult{name: name, sent: sent, right: right, wrong: wrong, err: err}
		}()
	}
	return collect(stopCtx, log, service, results, launched, jobs)
}

// collect waits for every worker's result and judges the run.
func collect(stopCtx context.Context, log hclog.Logger, service *ServiceRemote, results <-chan workerResult, n, jobs int) error {
	var bad int
	for range n {
		r := <-results
		switch {
		case r.err != nil && stopCtx.Err() != nil:
			log.Info("worker stopped", "worker", r.name)
		case r.err != nil:
			log.Error("worker failed", "worker", r.name, "error", r.err)
			bad++
		case r.wrong > 0 || (jobs > 0 && r.right != int64(jobs)):
			log.Error("worker got wrong answers", "worker", r.name, "sent", r.sent, "right", r.right, "wrong", r.wrong)
			bad++
		default:
			log.Info("worker finished", "worker", r.name, "jobs", r.sent, "right", r.right)
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d workers failed", bad, n)
	}
	if jobs == 0 {
		// The workers were stopped, before this process: it is next.
		<-stopCtx.Done()
		return nil
	}
	squares, clients, err := service.Answered(stopCtx)
	if err != nil {
		return fmt.Errorf("ask the service: %w", err)
	}
	log.Info("service answered", "squares", squares, "workers", clients)
	return nil
}
