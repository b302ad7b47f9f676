package launcher_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/goleak"

	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/launcher"
	"github.com/mage-ipc/mage/mage"
)

// The test binary is also every child these tests start: TestMain runs the
// child mode named in modeEnv instead of the tests.
const (
	modeEnv = "LAUNCHER_TEST_MODE"
	// exitEnv is the status the echo and spawn children exit with.
	exitEnv = "LAUNCHER_TEST_EXIT"
	// grandModeEnv is the mode the middle child starts its own child in;
	// noDeathSigEnv makes it start it without a parent-death signal.
	grandModeEnv  = "LAUNCHER_TEST_GRANDMODE"
	noDeathSigEnv = "LAUNCHER_TEST_NO_PDEATHSIG"
)

func TestMain(m *testing.M) {
	if mode, ok := os.LookupEnv(modeEnv); ok {
		os.Exit(runChild(mode))
	}
	goleak.VerifyTestMain(m)
}

// runChild is the main of a child process. Children report problems on
// stderr and by exit status 100, which no test expects.
func runChild(mode string) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := childModes[mode](ctx); err != nil {
		fmt.Fprintf(os.Stderr, "child %s: %v\n", mode, err)
		return 100
	}
	code, _ := strconv.Atoi(os.Getenv(exitEnv))
	return code
}

var childModes map[string]func(ctx context.Context) error

func init() {
	childModes = map[string]func(ctx context.Context) error{
		// echo answers one message on "ctl" and exits once the parent
		// closes its end.
		"echo": func(ctx context.Context) error {
			p, err := acceptPipe(ctx, "ctl")
			if err != nil {
				return err
			}
			m, err := readMessage(ctx, p)
			if err != nil {
				return err
			}
			if err := send(p, "echo:"+string(m.Payload)); err != nil {
				return err
			}
			return awaitPeerClosed(ctx, p)
		},
		// noaccept never accepts its invitation.
		"noaccept": func(context.Context) error { return block() },
		// exitearly fails before accepting, saying why on stderr.
		"exitearly": func(context.Context) error {
			fmt.Fprintln(os.Stderr, "child: cannot open config: no such file")
			os.Exit(3)
			return nil
		},
		// stream sends 1000 messages, then waits to be killed.
		"stream": func(ctx context.Context) error {
			p, err := acceptPipe(ctx, "ctl")
			if err != nil {
				return err
			}
			for i := range 1000 {
				if err := send(p, strconv.Itoa(i)); err != nil {
					return err
				}
			}
			return block()
		},
		// leavegroup joins its parent's process group, out of the one the
		// launcher made for it, then exits with status 0 on SIGTERM.
		"leavegroup": func(ctx context.Context) error {
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGTERM)
			pgid, err := syscall.Getpgid(os.Getppid())
			if err != nil {
				return err
			}
			if err := syscall.Setpgid(0, pgid); err != nil {
				return err
			}
			p, err := acceptPipe(ctx, "ctl")
			if err != nil {
				return err
			}
			if err := send(p, "ready"); err != nil {
				return err
			}
			<-sig
			return nil
		},
		// term exits with status 0 on SIGTERM.
		"term": func(ctx context.Context) error {
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGTERM)
			p, err := acceptPipe(ctx, "ctl")
			if err != nil {
				return err
			}
			if err := send(p, "ready"); err != nil {
				return err
			}
			<-sig
			return nil
		},
		// termsay answers SIGTERM with a last message, then exits 0 once
		// it is written.
		"termsay": func(ctx context.Context) error {
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGTERM)
			p, err := acceptPipe(ctx, "ctl")
			if err != nil {
				return err
			}
			if err := send(p, "ready"); err != nil {
				return err
			}
			<-sig
			if err := send(p, "goodbye"); err != nil {
				return err
			}
			// Closing the node writes what is queued.
			return mage.DefaultNode().Close()
		},
		// termignore ignores SIGTERM and its parent going away.
		"termignore": func(ctx context.Context) error {
			signal.Ignore(syscall.SIGTERM)
			p, err := acceptPipe(ctx, "ctl")
			if err != nil {
				return err
			}
			if err := send(p, "ready"); err != nil {
				return err
			}
			return block()
		},
		// spawn starts a grandchild in its process group, sends its pid,
		// then waits to be killed, or, with exitEnv set, exits once the
		// parent closes its end.
		"spawn": func(ctx context.Context) error {
			p, err := acceptPipe(ctx, "ctl")
			if err != nil {
				return err
			}
			g := exec.Command(os.Args[0])
			g.Env = append(os.Environ(), modeEnv+"=block")
			if err := g.Start(); err != nil {
				return err
			}
			if err := send(p, strconv.Itoa(g.Process.Pid)); err != nil {
				return err
			}
			if os.Getenv(exitEnv) == "" {
				return block()
			}
			return awaitPeerClosed(ctx, p)
		},
		// spawnsetsid starts a grandchild that leaves the child's session
		// and process group (setsid), sends its pid, and waits to be
		// stopped or killed.
		"spawnsetsid": func(ctx context.Context) error {
			p, err := acceptPipe(ctx, "ctl")
			if err != nil {
				return err
			}
			g := exec.Command(os.Args[0])
			g.Env = append(os.Environ(), modeEnv+"=block")
			g.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			if err := g.Start(); err != nil {
				return err
			}
			if err := send(p, strconv.Itoa(g.Process.Pid)); err != nil {
				return err
			}
			return block()
		},
		// middlebad hands its pipe "ctl" on to a grandchild it starts with
		// the launcher in mode "oversize", and waits to be killed. This
		// process is not the broker, so it registers the grandchild with
		// the broker, its parent.
		"middlebad": func(ctx context.Context) error {
			p, err := acceptPipe(ctx, "ctl")
			if err != nil {
				return err
			}
			inv := invitation.New(nil)
			if err := inv.AttachPipe("ctl", p); err != nil {
				return err
			}
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), modeEnv+"=oversize")
			if _, err := launcher.Start(ctx, cmd, launcher.Options{Invitation: inv}); err != nil {
				return err
			}
			return block()
		},
		// oversize writes a message of 4 KiB on "ctl", more than the
		// broker in the tests that use it allows, and waits to be killed.
		"oversize": func(ctx context.Context) error {
			p, err := acceptPipe(ctx, "ctl")
			if err != nil {
				return err
			}
			if err := p.WriteMessage(&mage.Message{Payload: make([]byte, 4096)}); err != nil {
				return err
			}
			return block()
		},
		// block waits to be killed.
		"block": func(context.Context) error { return block() },
		// acceptblock accepts, then waits to be killed, whatever its parent
		// does.
		"acceptblock": func(ctx context.Context) error {
			_, err := acceptPipe(ctx, "ctl")
			if err != nil {
				return err
			}
			return block()
		},
		// exitwithparent accepts and exits when its parent is gone.
		"exitwithparent": func(ctx context.Context) error {
			_, err := invitation.AcceptWith(ctx, invitation.AcceptOptions{ExitWhenParentGone: true})
			if err != nil {
				return err
			}
			return block()
		},
		// middle starts a child of its own with the launcher, in the mode
		// grandModeEnv names, prints its pid on stdout, and waits to be
		// killed.
		"middle": func(ctx context.Context) error {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), modeEnv+"="+os.Getenv(grandModeEnv))
			c, err := launcher.Start(ctx, cmd, launcher.Options{
				Pipes:               []string{"ctl"},
				NoParentDeathSignal: os.Getenv(noDeathSigEnv) != "",
			})
			if err != nil {
				return err
			}
			fmt.Println(c.Pid())
			return block()
		},
		// stderr writes an hclog JSON line and a plain line to stderr, and
		// exits once the parent closes its end.
		"stderr": func(ctx context.Context) error {
			p, err := acceptPipe(ctx, "ctl")
			if err != nil {
				return err
			}
			log := hclog.New(&hclog.LoggerOptions{Name: "worker", Output: os.Stderr, JSONFormat: true, Level: hclog.Trace})
			log.Warn("disk almost full", "free_mb", 12, "volume", "/data")
			fmt.Fprintln(os.Stderr, "plain old line")
			fmt.Fprintln(os.Stderr, `{"not":"hclog"}`)
			return awaitPeerClosed(ctx, p)
		},
		// bad sends one message and waits to be killed.
		"bad": func(ctx context.Context) error {
			p, err := acceptPipe(ctx, "ctl")
			if err != nil {
				return err
			}
			if err := send(p, "garbage"); err != nil {
				return err
			}
			return block()
		},
	}
}

// acceptPipe accepts the invitation and returns the pipe called name.
func acceptPipe(ctx context.Context, name string) (mage.MessagePipe, error) {
	acc, err := invitation.Accept(ctx)
	if err != nil {
		return mage.MessagePipe{}, err
	}
	p, ok := acc.Pipe(name)
	if !ok {
		return mage.MessagePipe{}, fmt.Errorf("no pipe %q", name)
	}
	return p, nil
}

// block waits for a signal that nobody sends: the process waits to be
// killed. (A bare select{} would be reported as a deadlock.)
func block() error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR2)
	<-sig
	return errors.New("unexpected SIGUSR2")
}

func send(p mage.MessagePipe, s string) error {
	return p.WriteMessage(&mage.Message{Payload: []byte(s)})
}

// readMessage waits for the next message on p.
func readMessage(ctx context.Context, p mage.MessagePipe) (*mage.Message, error) {
	for {
		m, err := p.ReadMessage()
		if !errors.Is(err, mage.ErrNoMessage) {
			return m, err
		}
		select {
		case <-p.Ready():
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// awaitPeerClosed reads and drops messages until the other end is closed.
func awaitPeerClosed(ctx context.Context, p mage.MessagePipe) error {
	for {
		_, err := readMessage(ctx, p)
		if errors.Is(err, mage.ErrPeerClosed) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
