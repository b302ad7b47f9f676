package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/demo"
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// Exit statuses other than a failed process's own (docs/mage-run.md has
// the whole table). The 12x codes follow timeout(1) and env(1).
const (
	exitOK    = 0
	exitUsage = 2 // a usage error or an invalid spec
	// exitCannotRun: mage-run itself failed, or a process could not be
	// started and has no status of its own.
	exitCannotRun = 125
	// exitCannotExec: a process's program exists but cannot be run.
	exitCannotExec = 126
	// exitNotFound: a process's program does not exist.
	exitNotFound = 127
)

// statusError ends run with a given status and an optional message. An
// empty message prints nothing. Any other error from the CLI (an unknown
// command or flag) is a usage error.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

// run is mage-run's main, minus the process: it returns the exit status.
// When the environment selects a demo role, this process is one of the
// demo's children and runs that role instead of the CLI.
func run(args []string, stdout, stderr io.Writer) int {
	return runWith(args, stdout, stderr, notifySignals)
}

// runWith is run with the source of signals injected, for tests.
func runWith(args []string, stdout, stderr io.Writer, notify notifyFunc) int {
	if role, ok := os.LookupEnv(demo.EnvRole); ok {
		return demo.RunRole(role, stderr)
	}
	app := newApp(stdout, stderr, notify)
	err := app.Run(args)
	if err == nil {
		return exitOK
	}
	var status *statusError
	if errors.As(err, &status) {
		if status.msg != "" {
			fmt.Fprintf(stderr, "mage-run: %s\n", status.msg)
		}
		return status.code
	}
	fmt.Fprintf(stderr, "mage-run: %v\n", err)
	return exitUsage
}

// newApp builds the CLI. Its exit handler is replaced so that app.Run
// never calls os.Exit: run decides the status.
func newApp(stdout, stderr io.Writer, notify notifyFunc) *cli.App {
	app := &cli.App{
		Name:    "mage-run",
		Usage:   "launch, wire and supervise trees of processes that talk over mage pipes",
		Version: version(),
		// urfave/cli's own help command calls an unknown topic "No help
		// topic"; ours (helpCommand) makes it a usage error.
		HideHelpCommand: true,
		Writer:          stdout,
		ErrWriter:       stderr,
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return &statusError{code: exitUsage, msg: err.Error()}
		},
		// Reached with no command, or an unknown one: both usage errors.
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				cli.HelpPrinter(c.App.ErrWriter, cli.AppHelpTemplate, c.App)
				return usageError("no command given: want %s", commandList(c.App.Commands))
			}
			return usageError("unknown command %q: want %s", c.Args().First(), commandList(c.App.Commands))
		},
		Commands: []*cli.Command{runCommand(notify), checkCommand(), graphCommand(), ctlCommand(), demoCommand(notify)},
	}
	app.Commands = append(app.Commands, helpCommand())
	return app
}
