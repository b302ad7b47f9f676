package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/demo"
)

// Demo limits and defaults.
const (
	defaultWorkers  = 3
	maxWorkers      = 64
	maxJobs         = 1000000
	defaultRate     = 20
	defaultDuration = 10 * time.Second
	defaultGrace    = 2 * time.Second
)

// notifyFunc relays SIGINT and SIGTERM to ch until the returned function is
// called; signal.Notify in the real program, a fake in tests.
type notifyFunc func(ch chan<- os.Signal) (stop func())

func notifySignals(ch chan<- os.Signal) func() {
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	return func() { signal.Stop(ch) }
}

// demoCommand is `mage-run demo`.
func demoCommand(notify notifyFunc) *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run the built-in demo tree: a parent, a service and workers exchanging typed calls",
		Description: "mage-run runs its own binary as a parent process, a service process and\n" +
			"--workers worker processes that the parent launches through the supervisor\n" +
			"interface. The parent passes each worker a pipe to the service; workers call\n" +
			"the service with replies. With --jobs N every worker does N jobs and the tree\n" +
			"ends by itself; otherwise it runs for --duration or until interrupted, and is\n" +
			"stopped in order. It first says what it shows; workers and the service log their\n" +
			"calls every second. --print-spec shows the spec it runs.",
		Flags: append(logFlags(),
			&cli.IntFlag{Name: "workers", Value: defaultWorkers, Usage: fmt.Sprintf("worker processes (1 to %d)", maxWorkers)},
			&cli.IntFlag{Name: "jobs", Usage: fmt.Sprintf("jobs per worker (0 to %d; 0: until stopped)", maxJobs)},
			&cli.IntFlag{Name: "rate", Value: defaultRate, Usage: "most jobs a second per worker (0: no limit)"},
			&cli.DurationFlag{Name: "duration", Value: defaultDuration, Usage: "without --jobs, stop the tree after this long (0: run until interrupted)"},
			&cli.DurationFlag{Name: "grace", Value: defaultGrace, Usage: "how long a stopped process may take to exit before it is killed"},
			&cli.BoolFlag{Name: "trace", Usage: "log every message each process sends and receives"},
			&cli.StringFlag{Name: "view", Value: "auto", Usage: "live, plain, json or auto (live on a terminal)"},
			&cli.BoolFlag{Name: "print-spec", Usage: "print the demo's spec and exit"},
			&cli.StringFlag{Name: "notify-ready", Usage: "append a line to this existing file (or named pipe) once the tree is up"},
			// Shows a failing tree: the service answers this worker wrongly.
			&cli.StringFlag{Name: "lie-to", Hidden: true},
		),
		Action: func(c *cli.Context) error {
			cfg, stopAfter, err := demoConfigFrom(c)
			if err != nil {
				return err
			}
			if c.Bool("print-spec") {
				fmt.Fprint(c.App.Writer, cfg.Text())
				return nil
			}
			s, err := cfg.Spec()
			if err != nil {
				return &statusError{code: exitCannotRun, msg: err.Error()}
			}
			sv, err := newSupervision(c, notify)
			if err != nil {
				return err
			}
			sv.spec, sv.title, sv.stopAfter = s, "mage-run demo", stopAfter
			sv.about = cfg.About(stopAfter)
			return sv.run()
		},
	}
}

// demoConfigFrom reads the demo's flags.
func demoConfigFrom(c *cli.Context) (demo.Config, time.Duration, error) {
	cfg := demo.Config{
		Workers: c.Int("workers"),
		Jobs:    c.Int("jobs"),
		Rate:    c.Int("rate"),
		Grace:   c.Duration("grace"),
		LieTo:   c.String("lie-to"),
	}
	if c.NArg() > 0 {
		return cfg, 0, usageError("demo takes no arguments, got %q", c.Args().First())
	}
	switch {
	case cfg.Workers < 1 || cfg.Workers > maxWorkers:
		return cfg, 0, usageError("--workers must be from 1 to %d", maxWorkers)
	case cfg.Jobs < 0 || cfg.Jobs > maxJobs:
		return cfg, 0, usageError("--jobs must be from 0 to %d", maxJobs)
	case cfg.Rate < 0:
		return cfg, 0, usageError("--rate must not be negative")
	case cfg.Grace <= 0:
		return cfg, 0, usageError("--grace must be positive")
	case c.Duration("duration") < 0:
		return cfg, 0, usageError("--duration must not be negative")
	}
	exe, err := os.Executable()
	if err != nil {
		return cfg, 0, &statusError{code: exitCannotRun, msg: err.Error()}
	}
	cfg.Exe = exe
	var stopAfter time.Duration
	if cfg.Jobs == 0 {
		stopAfter = c.Duration("duration")
	}
	return cfg, stopAfter, nil
}
