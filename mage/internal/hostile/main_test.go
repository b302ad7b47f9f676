package hostile_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/internal/hostile"
)

// healthyEnv makes the re-executed test binary the healthy child: it
// echoes every message on its pipe "main".
const healthyEnv = "MAGE_HOSTILE_TEST_HEALTHY"

// The test binary is also both children: the hostile one (hostile.EnvMode
// set) and the healthy one.
func TestMain(m *testing.M) {
	if os.Getenv(hostile.EnvMode) != "" {
		os.Exit(hostile.Main())
	}
	if os.Getenv(healthyEnv) != "" {
		if err := echo(); err != nil {
			fmt.Fprintln(os.Stderr, "healthy child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// echo is the healthy child: it sends back every message it reads on
// "main" until the parent closes its end.
func echo() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	acc, err := invitation.Accept(ctx)
	if err != nil {
		return err
	}
	defer mage.DefaultNode().Close()
	p, ok := acc.Pipe("main")
	if !ok {
		return errors.New("no pipe main")
	}
	return echoOn(ctx, p)
}

// echoOn sends back every message it reads on p until p's peer closes.
// A pipe that comes inside a message is served the same way, on a
// goroutine of its own, until its peer closes too.
func echoOn(ctx context.Context, p mage.MessagePipe) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	defer p.Close()
	for {
		m, err := p.ReadMessage()
		switch {
		case errors.Is(err, mage.ErrNoMessage):
			select {
			case <-p.Ready():
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		case errors.Is(err, mage.ErrPeerClosed):
			return nil
		case err != nil:
			return err
		}
		for _, q := range m.Pipes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = echoOn(ctx, q)
			}()
		}
		if err := p.WriteMessage(&mage.Message{Payload: m.Payload}); err != nil {
			return err
		}
	}
}
