package demo

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/mage/bindings"
)

// service implements Service, and a Calculator per worker.
type service struct {
	log   hclog.Logger
	lieTo string

	// mu guards the fields below.
	mu        sync.Mutex
	squares   int64
	receivers []*bindings.Receiver
	// reported is when Square last logged the count.
	reported time.Time
}

func runService(stopCtx context.Context, acc *invitation.Accepted, log hclog.Logger) error {
	p, err := attachment(acc, "parent")
	if err != nil {
		return err
	}
	s := &service{log: log, lieTo: envString(envLieTo)}
	err = serveUntilStopped(stopCtx, BindService(p, s))
	s.mu.Lock()
	receivers := s.receivers
	s.mu.Unlock()
	for _, r := range receivers {
		_ = r.Close()
	}
	log.Info("service done", "squares", s.answered())
	return err
}

func (s *service) AddClient(worker string, calc CalculatorPendingReceiver) {
	r := calc.Bind(&calculator{s: s, lie: worker == s.lieTo})
	s.mu.Lock()
	s.receivers = append(s.receivers, r)
	s.mu.Unlock()
	s.log.Info("serving a worker", "worker", worker)
}

func (s *service) Answered(context.Context) (int64, int32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.squares, int32(len(s.receivers)), nil
}

func (s *service) answered() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.squares
}

// calculator serves one worker.
type calculator struct {
	s   *service
	lie bool
}

func (c *calculator) Square(_ context.Context, x int64) (int64, error) {
	c.s.mu.Lock()
	c.s.squares++
	squares, clients := c.s.squares, len(c.s.receivers)
	now := time.Now()
	report := now.Sub(c.s.reported) >= reportEvery
	if report {
		c.s.reported = now
	}
	c.s.mu.Unlock()
	if report {
		// The first square is logged at once, then one line a period.
		c.s.log.Info("squares answered", "total", squares, "workers", clients)
	}
	if c.lie {
		return x*x + 1, nil
	}
	return x * x, nil
}
