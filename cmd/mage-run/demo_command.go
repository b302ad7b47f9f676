package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"
)

// Demo limits and defaults.
const (
	defaultWorkers = 3
	defaultJobs    = 5
	maxWorkers     = 64
	maxJobs        = 100000
	defaultGrace   = 2 * time.Second
	defaultTimeout = 30 * time.Second
)

// notifyFunc relays SIGINT and SIGTERM to ch until the returned function is
// called; signal.Notify in the real program, a fake in tests.
type notifyFunc func(ch chan<- os.Signal) (stop func())

func notifySignals(ch chan<- os.Signal) func() {
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	return func() { signal.Stop(ch) }
}

// demoCommand is `mage-run demo`. notify is how it learns of signals.
func demoCommand(notify notifyFunc) *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run a demo tree: a service and workers talking over pipes the parent passes between them",
		Description: "mage-run starts itself as one service process and --workers worker processes.\n" +
			"For each worker it makes a pipe and sends one end to the service and the other\n" +
			"to the worker; each worker sends --jobs jobs to the service over it and checks\n" +
			"the answers. Exit status: 0 when every worker succeeded, 1 otherwise,\n" +
			"128+signal when interrupted.",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "workers", Value: defaultWorkers, Usage: fmt.Sprintf("number of worker processes (1 to %d)", maxWorkers)},
			&cli.IntFlag{Name: "jobs", Value: defaultJobs, Usage: fmt.Sprintf("jobs each worker sends to the service (1 to %d)", maxJobs)},
			&cli.DurationFlag{Name: "timeout", Value: defaultTimeout, Usage: "stop the tree and fail after this long"},
			&cli.DurationFlag{Name: "grace", Value: defaultGrace, Usage: "how long a stopped process may take to exit before it is killed"},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "trace, debug, info, warn or error"},
			// Shows a failing worker: the service answers this worker wrongly.
			&cli.IntFlag{Name: "lie-to", Hidden: true},
		},
		Action: func(c *cli.Context) error {
			cfg, err := demoConfigFrom(c)
			if err != nil {
				return err
			}
			level := hclog.LevelFromString(c.String("log-level"))
			if level == hclog.NoLevel {
				return &statusError{code: exitUsage, msg: fmt.Sprintf("unknown log level %q", c.String("log-level"))}
			}
			log := hclog.New(&hclog.LoggerOptions{Name: "mage-run", Output: c.App.ErrWriter, Level: level})
			exe, err := os.Executable()
			if err != nil {
				return &statusError{code: exitFailed, msg: err.Error()}
			}
			sigs := make(chan os.Signal, 1)
			stop := notify(sigs)
			defer stop()
			d := newDemo(cfg, exe, c.App.Writer, log, sigs)
			return d.run(c.Context)
		},
	}
}

// demoConfig is what the demo's flags say.
type demoConfig struct {
	workers int
	jobs    int
	lieTo   int
	grace   time.Duration
	timeout time.Duration
}

func demoConfigFrom(c *cli.Context) (demoConfig, error) {
	cfg := demoConfig{
		workers: c.Int("workers"),
		jobs:    c.Int("jobs"),
		lieTo:   c.Int("lie-to"),
		grace:   c.Duration("grace"),
		timeout: c.Duration("timeout"),
	}
	if c.NArg() > 0 {
		return cfg, &statusError{code: exitUsage, msg: fmt.Sprintf("demo takes no arguments, got %q", c.Args().First())}
	}
	if cfg.workers < 1 || cfg.workers > maxWorkers {
		return cfg, &statusError{code: exitUsage, msg: fmt.Sprintf("--workers must be from 1 to %d", maxWorkers)}
	}
	if cfg.jobs < 1 || cfg.jobs > maxJobs {
		return cfg, &statusError{code: exitUsage, msg: fmt.Sprintf("--jobs must be from 1 to %d", maxJobs)}
	}
	if cfg.grace <= 0 || cfg.timeout <= 0 {
		return cfg, &statusError{code: exitUsage, msg: "--grace and --timeout must be positive"}
	}
	return cfg, nil
}
