package demo

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/supervisor"
)

// worker implements Worker.
type worker struct {
	log hclog.Logger
	// stop is closed when the process is asked to stop.
	stop <-chan struct{}
}

// runWorker serves Worker until the parent closes the pipe. Asked to
// stop, it ends a Run in progress, which replies with its counts; the
// parent closes the pipe once it has them.
func runWorker(stopCtx context.Context, acc *invitation.Accepted, log hclog.Logger) error {
	p, err := attachment(acc, supervisor.ParentAttachment)
	if err != nil {
		return err
	}
	r := BindWorker(p, &worker{log: log, stop: stopCtx.Done()})
	<-r.Done()
	return nil
}

// Run calls Square count times, or until the worker is asked to stop,
// checking every answer. It replies with the counts even when stopped:
// they are the point.
func (w *worker) Run(ctx context.Context, calc CalculatorPendingRemote, count, rate int32) (sent, right, wrong int64, err error) {
	remote := calc.Bind()
	defer remote.Close()
	var tick <-chan time.Time
	if rate > 0 {
		t := time.NewTicker(time.Second / time.Duration(rate))
		defer t.Stop()
		tick = t.C
	}
	stopped := func() bool {
		select {
		case <-w.stop:
			return true
		case <-ctx.Done():
			return true
		default:
			return false
		}
	}
	// The first answer is logged at once, then one line a period.
	var reported time.Time
	for x := int64(1); count == 0 || sent < int64(count); x++ {
		if tick != nil {
			select {
			case <-tick:
			case <-w.stop:
			case <-ctx.Done():
			}
		}
		if stopped() {
			break
		}
		sent++
		y, err := remote.Square(ctx, x)
		switch {
		case ctx.Err() != nil:
			sent-- // interrupted, not answered
		case err != nil:
			w.log.Error("square failed", "x", x, "error", err)
			return sent, right, wrong, err
		case y == x*x:
			right++
		default:
			wrong++
			w.log.Warn("wrong square", "x", x, "got", y)
		}
		if now := time.Now(); now.Sub(reported) >= reportEvery {
			reported = now
			w.log.Info("calls so far", "sent", sent, "right", right, "wrong", wrong, "last", fmt.Sprintf("Square(%d) = %d", x, y))
		}
	}
	w.log.Info("jobs done", "sent", sent, "right", right, "wrong", wrong)
	return sent, right, wrong, nil
}

func envString(name string) string { return os.Getenv(name) }
