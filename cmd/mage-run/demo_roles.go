package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/mage"
)

// The demo's children are this same executable, told what to be by the
// environment.
const (
	envRole   = "MAGE_RUN_DEMO_ROLE"   // roleService or roleWorker
	envWorker = "MAGE_RUN_DEMO_WORKER" // the worker's number, from 1
	envJobs   = "MAGE_RUN_DEMO_JOBS"   // how many jobs each worker sends
	envLieTo  = "MAGE_RUN_DEMO_LIE_TO" // the service answers this worker wrongly; 0: nobody

	roleService = "service"
	roleWorker  = "worker"

	// controlPipe is the name of each child's invitation pipe.
	controlPipe = "control"

	// roleTimeout bounds a child's whole life, so that one whose parent
	// lost track of it ends anyway.
	roleTimeout = time.Minute
)

// errWrongAnswers is a worker's failure: the service answered wrongly.
var errWrongAnswers = errors.New("mage-run: wrong answers from the service")

// runRole runs this process as a child of the demo and returns its exit
// status. Logs go to stderr as hclog JSON, which the launcher re-emits
// through the parent's logger, levels and keys intact.
func runRole(role string, stderr io.Writer) int {
	log := hclog.New(&hclog.LoggerOptions{Output: stderr, JSONFormat: true, Level: hclog.Info})
	ctx, cancel := context.WithTimeout(context.Background(), roleTimeout)
	defer cancel()
	if err := runRoleContext(ctx, role, log); err != nil {
		log.Error("demo role failed", "error", err)
		return exitFailed
	}
	return exitOK
}

func runRoleContext(ctx context.Context, role string, log hclog.Logger) error {
	acc, err := invitation.Accept(ctx)
	if err != nil {
		return err
	}
	defer acc.Connection().Close()
	control, ok := acc.Pipe(controlPipe)
	if !ok {
		return fmt.Errorf("mage-run: the invitation has no %q pipe", controlPipe)
	}
	defer control.Close()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-acc.ParentGone():
			cancel(errors.New("mage-run: the parent went away"))
		case <-ctx.Done():
		}
	}()
	switch role {
	case roleService:
		lieTo, err := envInt(envLieTo)
		if err != nil {
			return err
		}
		return runService(ctx, control, lieTo, log)
	case roleWorker:
		id, err := envInt(envWorker)
		if err != nil {
			return err
		}
		jobs, err := envInt(envJobs)
		if err != nil {
			return err
		}
		return runWorker(ctx, control, id, jobs, log)
	}
	return fmt.Errorf("mage-run: unknown demo role %q", role)
}

func envInt(name string) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("mage-run: %s: %w", name, err)
	}
	return n, nil
}

// serviceCounts are the service's message counts, updated by the
// goroutines serving its clients.
type serviceCounts struct {
	jobs     atomic.Int64
	answered atomic.Int64
}

// runService answers jobs on every pipe the parent hands it, until the
// parent says stop; then it waits for its clients to close their pipes
// and reports.
func runService(ctx context.Context, control mage.MessagePipe, lieTo int, log hclog.Logger) error {
	var counts serviceCounts
	var wg sync.WaitGroup
	clients := 0
	for {
		m, err := readMessage(ctx, control)
		if err != nil {
			return err
		}
		if verbOf(m) == verbStop {
			if _, err := parseMessage(m, verbStop, 0, 0); err != nil {
				return err
			}
			break
		}
		msg, err := parseMessage(m, verbClient, 1, 1)
		if err != nil {
			return err
		}
		clients++
		worker, pipe := msg.args[0], msg.pipes[0]
		log.Info("serving a worker", "worker", worker)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := serveClient(ctx, pipe, worker == lieTo, &counts); err != nil {
				log.Warn("worker pipe failed", "worker", worker, "error", err)
			}
		}()
	}
	wg.Wait()
	report := []int{int(counts.jobs.Load()), int(counts.answered.Load()), clients}
	if err := control.WriteMessage(newMessage(verbReport, report)); err != nil {
		return err
	}
	return waitPeerClosed(ctx, control)
}

// serveClient answers "square n" on pipe until its peer closes it. With
// lie set it gets every answer wrong, to show a failing worker.
func serveClient(ctx context.Context, pipe mage.MessagePipe, lie bool, counts *serviceCounts) error {
	defer pipe.Close()
	for {
		job, err := readExpectedOrClosed(ctx, pipe, verbSquare, 1)
		if err != nil || job == nil {
			return err
		}
		counts.jobs.Add(1)
		n := job.args[0]
		answer := n * n
		if lie {
			answer++
		}
		if err := pipe.WriteMessage(newMessage(verbAnswer, []int{n, answer})); err != nil {
			return err
		}
		counts.answered.Add(1)
	}
}

// readExpectedOrClosed is readExpected that returns nil, nil when the
// peer has closed the pipe.
func readExpectedOrClosed(ctx context.Context, p mage.MessagePipe, verb string, nargs int) (*demoMessage, error) {
	msg, err := readExpected(ctx, p, verb, nargs, 0)
	if errors.Is(err, mage.ErrPeerClosed) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &msg, nil
}

// runWorker waits for its pipe to the service, sends its jobs, checks the
// answers and reports to the parent.
func runWorker(ctx context.Context, control mage.MessagePipe, id, jobs int, log hclog.Logger) error {
	msg, err := readExpected(ctx, control, verbService, 0, 1)
	if err != nil {
		return err
	}
	service := msg.pipes[0]
	defer service.Close()
	for k := 1; k <= jobs; k++ {
		if err := service.WriteMessage(newMessage(verbSquare, []int{id*100 + k})); err != nil {
			return err
		}
	}
	answered, wrong := 0, 0
	for answered < jobs {
		ans, err := readExpected(ctx, service, verbAnswer, 2, 0)
		if err != nil {
			return err
		}
		answered++
		if n, sq := ans.args[0], ans.args[1]; sq != n*n {
			wrong++
			log.Warn("wrong answer", "n", n, "answer", sq, "want", n*n)
		}
	}
	service.Close()
	if err := control.WriteMessage(newMessage(verbReport, []int{jobs, answered, wrong})); err != nil {
		return err
	}
	if err := waitPeerClosed(ctx, control); err != nil {
		return err
	}
	if wrong > 0 {
		return fmt.Errorf("%w: %d of %d", errWrongAnswers, wrong, answered)
	}
	return nil
}
