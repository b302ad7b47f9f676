package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
)

// reportEvery is how often a worker and the service log the calls they
// made and answered, so that they can be seen flowing.
const reportEvery = time.Second

// RunRole plays role in this process, logging to stderr as hclog JSON
// (which mage-run re-emits with its levels), and returns the exit status.
// mage-run stops a role with SIGTERM; each ends cleanly then.
func RunRole(role string, stderr io.Writer) int {
	log := hclog.New(&hclog.LoggerOptions{Name: role, Output: stderr, JSONFormat: true, Level: hclog.Info})
	stopCtx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// Not stopCtx: a process stopped while it accepts still finishes
	// accepting, and then sees the stop.
	acceptCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	acc, err := invitation.AcceptWith(acceptCtx, invitation.AcceptOptions{ExitWhenParentGone: true})
	cancel()
	if err != nil {
		log.Error("cannot accept the invitation", "error", err)
		return 1
	}
	// Whatever the role did, its last replies are on their way: closing
	// the node writes them out before the process ends.
	defer mage.DefaultNode().Close()
	switch role {
	case RoleParent:
		err = runParent(stopCtx, acc, log)
	case RoleService:
		err = runService(stopCtx, acc, log)
	case RoleWorker:
		err = runWorker(stopCtx, acc, log)
	default:
		err = fmt.Errorf("unknown demo role %q", role)
	}
	if err != nil {
		log.Error("failed", "error", err)
		return 1
	}
	return 0
}

// envInt reads a number the spec set for the role.
func envInt(name string) (int, error) {
	v, err := strconv.Atoi(os.Getenv(name))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

// attachment returns the invitation's pipe named name.
func attachment(acc *invitation.Accepted, name string) (mage.MessagePipe, error) {
	p, ok := acc.Pipe(name)
	if !ok {
		return mage.MessagePipe{}, fmt.Errorf("the invitation has no pipe %q", name)
	}
	return p, nil
}

// serveUntilStopped waits until the peer closes the pipe r serves, or
// the process is asked to stop; then it closes r, which lets a method in
// progress reply first.
func serveUntilStopped(stopCtx context.Context, r *bindings.Receiver) error {
	select {
	case <-r.Done():
	case <-stopCtx.Done():
		_ = r.Close()
	}
	if err := r.Err(); err != nil && !errors.Is(err, bindings.ErrDisconnected) && !errors.Is(err, bindings.ErrReceiverClosed) {
		return err
	}
	return nil
}
