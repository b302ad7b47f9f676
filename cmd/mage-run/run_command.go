package main

import (
	"fmt"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/control"
)

// runCommand is `mage-run run SPEC`.
func runCommand(notify notifyFunc) *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run the tree of processes a spec describes, and supervise it",
		ArgsUsage: "SPEC",
		Description: "Starts every process of the spec with its pipes, restarts processes by their\n" +
			"policies, and stops the tree in order (children before parents) on SIGINT or\n" +
			"SIGTERM; a second signal kills everything. 'mage-run help spec' describes the\n" +
			"spec format.",
		Flags: append(logFlags(),
			&cli.BoolFlag{Name: "trace", Usage: "log every message each process sends and receives"},
			&cli.StringFlag{Name: "view", Value: "auto", Usage: "live (a table of the tree that keys act on), plain (a line per change), json (a JSON object per change, for scripts) or auto (live on a terminal)"},
			&cli.DurationFlag{Name: "stop-after", Usage: "stop the tree in order after this long (0: never)"},
			&cli.StringFlag{Name: "notify-ready", Usage: "append a line to this existing file (or named pipe) once every process started with the tree is ready"},
			&cli.StringFlag{Name: "socket", Usage: "serve the control interface (mage-run ctl) on this socket (default: one found from the spec's directory)"},
			&cli.BoolFlag{Name: "no-control", Usage: "do not serve the control interface"},
		),
		Action: func(c *cli.Context) error {
			path, s, err := loadSpecArg(c)
			if err != nil {
				return err
			}
			sv, err := newSupervision(c, notify)
			if err != nil {
				return err
			}
			sv.spec = s
			sv.title = "mage-run " + path
			if !c.Bool("no-control") {
				addr, err := control.AddressFor(s.Dir)
				if p := c.String("socket"); p != "" {
					addr, err = control.AddressAt(p)
				}
				if err != nil {
					return usageError("%v", err)
				}
				sv.control = &addr
			}
			return sv.run()
		},
	}
}

// logFlags are the logging flags of the commands that run a tree.
func logFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text, json, or console (\"name | line\": each line of each process prefixed by its name, as foreman prints)"},
		&cli.StringFlag{Name: "log-level", Value: "info", Usage: "trace, debug, info, warn or error"},
		&cli.StringFlag{Name: "color", Value: "auto", Usage: "colour console prefixes: auto (on a terminal, unless NO_COLOR is set), always or never"},
		&cli.StringFlag{Name: "log-dir", Usage: "write the output of each process the spec gives no log block to DIR/NAME.log, rotated at 100 MB, 5 old files kept"},
	}
}

// newSupervision reads the flags shared by run and demo.
func newSupervision(c *cli.Context, notify notifyFunc) (supervision, error) {
	sv := supervision{
		trace:       c.Bool("trace"),
		view:        c.String("view"),
		stdout:      c.App.Writer,
		stderr:      c.App.ErrWriter,
		notify:      notify,
		stopAfter:   c.Duration("stop-after"),
		notifyReady: c.String("notify-ready"),
	}
	switch f := c.String("log-format"); f {
	case "text":
	case "json":
		sv.logs.json = true
	case "console":
		sv.logs.console = true
	default:
		return sv, usageError("unknown log format %q: want text, json or console", f)
	}
	switch sv.logs.color = c.String("color"); sv.logs.color {
	case "auto", "always", "never":
	default:
		return sv, usageError("unknown --color %q: want auto, always or never", sv.logs.color)
	}
	if dir := c.String("log-dir"); dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return sv, usageError("--log-dir %s: %v", dir, err)
		}
		sv.logs.dir = abs
	}
	name := c.String("log-level")
	sv.logs.level = hclog.LevelFromString(name)
	if sv.logs.level == hclog.NoLevel || name == "off" {
		return sv, usageError("unknown log level %q: want trace, debug, info, warn or error", name)
	}
	switch sv.view {
	case "auto", "live", "plain", "json":
	default:
		return sv, usageError("unknown view %q: want auto, live, plain or json", sv.view)
	}
	if sv.stopAfter < 0 {
		return sv, usageError("--stop-after must not be negative")
	}
	return sv, nil
}

func usageError(format string, args ...any) error {
	return &statusError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}
