package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/control"
)

// ctlTimeout bounds one ctl call.
const ctlTimeout = 30 * time.Second

// exitCtlFailed is ctl's status when the tree cannot be reached or
// refuses the request.
const exitCtlFailed = 1

// ctlCommand is `mage-run ctl [--socket PATH] ACTION [NAME]`.
func ctlCommand() *cli.Command {
	return &cli.Command{
		Name:  "ctl",
		Usage: "ask a running tree for its status, logs or events, or restart, stop, start or scale its processes",
		Description: "Talks to the tree that 'mage-run run' serves on its control socket. Run from\n" +
			"the spec's directory it finds that tree by itself; --socket names another.\n" +
			"Only the user that runs the tree can reach it.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "socket", Usage: "the tree's control socket (default: the one of the spec in the current directory)"},
			&cli.StringFlag{Name: "token-file", Usage: "the token file (default: beside the socket)"},
		},
		// Reached with no action, or an unknown one.
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usageError("ctl needs an action: want %s", commandList(c.Command.Subcommands))
			}
			return usageError("unknown ctl action %q: want %s", c.Args().First(), commandList(c.Command.Subcommands))
		},
		HideHelpCommand: true,
		Subcommands: []*cli.Command{
			ctlStatusCommand(),
			ctlAction("restart", "NAME", "stop a process and start it again at once (not counted as a failure)"),
			ctlAction("stop", "NAME", "stop a process for good, its children first"),
			ctlAction("start", "NAME", "start again a process that has ended"),
			ctlLogsCommand(),
			ctlScaleCommand(),
			ctlEventsCommand(),
		},
	}
}

func ctlEventsCommand() *cli.Command {
	return &cli.Command{
		Name:  "events",
		Usage: "print every change of state of the tree's processes as JSON lines, until interrupted or the tree ends",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "notify-ready", Usage: "append a line to this existing file (or named pipe) once following, for scripts"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return usageError("ctl events takes no arguments")
			}
			return runCtlWith(c, "events", "", func(ctx context.Context, client *control.Client) error {
				return ctlEvents(c, client)
			})
		},
	}
}

// eventPrinter prints each event of Control.Events as a JSON line, in
// the shape of run --view json.
type eventPrinter struct {
	enc *json.Encoder
}

func (p *eventPrinter) Event(at int64, instance, state string, pid, restarts int32, detail string) {
	_ = p.enc.Encode(struct {
		Type     string    `json:"type"`
		Time     time.Time `json:"time"`
		Instance string    `json:"instance"`
		State    string    `json:"state"`
		Pid      int32     `json:"pid,omitempty"`
		Restarts int32     `json:"restarts"`
		Detail   string    `json:"detail,omitempty"`
	}{"state", time.UnixMilli(at).UTC(), instance, state, pid, restarts, detail})
}

func ctlEvents(c *cli.Context, client *control.Client) error {
	mine, theirs := client.CreatePipe()
	r := control.BindEventSink(mine, &eventPrinter{enc: json.NewEncoder(c.App.Writer)})
	defer r.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	callCtx, cancel := context.WithTimeout(ctx, ctlTimeout)
	err := client.Events(callCtx, theirs)
	cancel()
	if err != nil {
		return err
	}
	if f := c.String("notify-ready"); f != "" {
		if err := appendLine(f, "ready ctl"); err != nil {
			return err
		}
	}
	select {
	case <-r.Done():
	case <-ctx.Done():
	}
	return nil
}

func ctlScaleCommand() *cli.Command {
	return &cli.Command{
		Name:      "scale",
		Usage:     "run N instances of a replicated process (count > 1 in the spec): start new ones or stop the last",
		ArgsUsage: "NAME N",
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usageError("ctl scale takes two arguments, the process name and the number of instances")
			}
			n, err := strconv.Atoi(c.Args().Get(1))
			if err != nil || n < 0 {
				return usageError("ctl scale: %q is not a number of instances", c.Args().Get(1))
			}
			return runCtlWith(c, "scale", c.Args().First(), func(ctx context.Context, client *control.Client) error {
				return client.Scale(ctx, c.Args().First(), int32(min(n, math.MaxInt32)))
			})
		},
	}
}

func ctlStatusCommand() *cli.Command {
	c := ctlAction("status", "", "show every process of the tree: state, pid, CPU, RSS, restarts, uptime, last exit")
	c.Flags = []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print a JSON array of objects, for scripts"}}
	return c
}

// maxLogLines is the most lines ctl logs -n asks for.
const maxLogLines = 1000

func ctlLogsCommand() *cli.Command {
	c := ctlAction("logs", "NAME", "print the last lines a process wrote to stdout and stderr; -f follows")
	c.Flags = []cli.Flag{
		&cli.IntFlag{Name: "n", Value: 100, Usage: fmt.Sprintf("how many of the last lines (0 to %d)", maxLogLines)},
		&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "then print new lines as they come, until interrupted or the tree ends"},
		&cli.StringFlag{Name: "notify-ready", Usage: "with -f, append a line to this existing file (or named pipe) once following, for scripts"},
	}
	return c
}

// logPrinter prints the lines of a Follow.
type logPrinter struct {
	out io.Writer
}

func (p *logPrinter) Line(text string) { fmt.Fprintln(p.out, text) }

// ctlLogs prints the instance's last lines, and follows it with -f.
func ctlLogs(c *cli.Context, client *control.Client, instance string) error {
	n := c.Int("n")
	if n < 0 || n > maxLogLines {
		return usageError("-n must be from 0 to %d", maxLogLines)
	}
	mine, theirs := client.CreatePipe()
	r := control.BindLogSink(mine, &logPrinter{out: c.App.Writer})
	defer r.Close()
	// Not ctl's call timeout: following lasts as long as the tree.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	callCtx, cancel := context.WithTimeout(ctx, ctlTimeout)
	err := client.Follow(callCtx, instance, int32(n), c.Bool("follow"), theirs)
	cancel()
	if err != nil {
		return err
	}
	if f := c.String("notify-ready"); f != "" && c.Bool("follow") {
		if err := appendLine(f, "ready ctl"); err != nil {
			return err
		}
	}
	// The lines come before the sink closes; Done says it has.
	select {
	case <-r.Done():
	case <-ctx.Done():
	}
	return nil
}

func ctlAction(name, args, usage string) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: args,
		Action: func(c *cli.Context) error {
			want := 0
			if args != "" {
				want = 1
			}
			if c.NArg() != want {
				if want == 0 {
					return usageError("ctl %s takes no arguments", name)
				}
				return usageError("ctl %s takes one argument, the instance name", name)
			}
			return runCtl(c, name, c.Args().First())
		},
	}
}

func runCtl(c *cli.Context, action, instance string) error {
	return runCtlWith(c, action, instance, func(ctx context.Context, client *control.Client) error {
		switch action {
		case "status":
			return ctlStatus(ctx, c, client)
		case "restart":
			return client.Restart(ctx, instance)
		case "stop":
			return client.Stop(ctx, instance)
		case "start":
			return client.Start(ctx, instance)
		}
		return ctlLogs(c, client, instance)
	})
}

// runCtlWith connects to the tree and runs call.
func runCtlWith(c *cli.Context, action, target string, call func(context.Context, *control.Client) error) error {
	addr, err := ctlAddress(c)
	if err != nil {
		return &statusError{code: exitCtlFailed, msg: err.Error()}
	}
	tokenFile := c.String("token-file")
	if tokenFile == "" {
		tokenFile = addr.Token
	}
	token, err := control.ReadToken(tokenFile)
	if errors.Is(err, os.ErrNotExist) {
		err = fmt.Errorf("%w (no token at %s)", control.ErrNoTree, tokenFile)
	}
	if err != nil {
		return &statusError{code: exitCtlFailed, msg: err.Error()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), ctlTimeout)
	defer cancel()
	client, err := control.Dial(ctx, addr, token)
	if err != nil {
		return &statusError{code: exitCtlFailed, msg: err.Error()}
	}
	defer client.Close()
	if err := call(ctx, client); err != nil {
		var status *statusError
		if errors.As(err, &status) {
			return err
		}
		return &statusError{code: exitCtlFailed, msg: "ctl " + action + ": " + err.Error()}
	}
	if action != "status" && action != "logs" && action != "events" {
		fmt.Fprintf(c.App.Writer, "%s: %s requested\n", target, action)
	}
	return nil
}

// ctlAddress is --socket's address, or that of the spec directory the
// command runs in.
func ctlAddress(c *cli.Context) (control.Address, error) {
	// The flags are ctl's, one level up from the action.
	if path := c.String("socket"); path != "" {
		return control.AddressAt(path)
	}
	return control.AddressFor(".")
}

func ctlStatus(ctx context.Context, c *cli.Context, client *control.Client) error {
	names, depths, states, pids, restarts, uptimes, exits, cpus, rss, descriptions, err := client.Status(ctx)
	if err != nil {
		return err
	}
	n := len(names)
	if len(depths) != n || len(states) != n || len(pids) != n || len(restarts) != n || len(uptimes) != n || len(exits) != n {
		return fmt.Errorf("malformed status: %d names but other columns of other lengths", n)
	}
	// A tree of version 0 sends no stats and no descriptions.
	stats, err := statusStats(n, cpus, rss, descriptions)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		type entry struct {
			Instance    string   `json:"instance"`
			Depth       int32    `json:"depth"`
			State       string   `json:"state"`
			Pid         int32    `json:"pid,omitempty"`
			Restarts    int32    `json:"restarts"`
			UptimeMS    int64    `json:"uptime_ms,omitempty"`
			LastExit    string   `json:"last_exit,omitempty"`
			CPU         *float64 `json:"cpu,omitempty"`
			RSS         *int64   `json:"rss,omitempty"`
			Description string   `json:"description,omitempty"`
		}
		out := make([]entry, n)
		for i := range names {
			out[i] = entry{names[i], depths[i], states[i], pids[i], restarts[i], uptimes[i], exits[i], nil, nil, stats[i].description}
			if st := stats[i]; st.sampled {
				out[i].CPU, out[i].RSS = &st.cpu, &st.rss
			}
		}
		return json.NewEncoder(c.App.Writer).Encode(out)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROCESS\tSTATE\tPID\tCPU\tRSS\tRESTARTS\tUPTIME\tLAST EXIT")
	for i := range names {
		pid, cpu, mem, up, exit := "-", "-", "-", "-", "-"
		if pids[i] > 0 {
			pid = fmt.Sprint(pids[i])
		}
		if st := stats[i]; st.sampled {
			cpu, mem = formatCPU(st.cpu), formatBytes(st.rss)
		}
		if uptimes[i] > 0 {
			up = (time.Duration(uptimes[i]) * time.Millisecond).Round(100 * time.Millisecond).String()
		}
		if exits[i] != "" {
			exit = exits[i]
		}
		depth := min(max(int(depths[i]), 0), 64)
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", strings.Repeat("  ", depth), names[i], states[i], pid, cpu, mem, restarts[i], up, exit)
	}
	return tw.Flush()
}

// instanceStats is what Status says of an instance's process since
// version 1 of Control.
type instanceStats struct {
	// sampled is set when cpu and rss are a sample.
	sampled     bool
	cpu         float64
	rss         int64
	description string
}

// statusStats checks and pairs the columns of Status that version 1
// added: each empty (an older tree) or of n entries. A CPU share that is
// not a finite number from 0 to the share of every CPU a machine could
// have, or a negative RSS, counts as no sample.
func statusStats(n int, cpus []float64, rss []int64, descriptions []string) ([]instanceStats, error) {
	for _, l := range []int{len(cpus), len(rss), len(descriptions)} {
		if l != 0 && l != n {
			return nil, fmt.Errorf("malformed status: %d names but %d entries of stats or descriptions", n, l)
		}
	}
	if len(cpus) != len(rss) {
		return nil, fmt.Errorf("malformed status: %d CPU shares but %d RSS values", len(cpus), len(rss))
	}
	out := make([]instanceStats, n)
	for i := range out {
		if len(descriptions) == n {
			out[i].description = descriptions[i]
		}
		if len(cpus) == n && cpus[i] >= 0 && cpus[i] <= maxCPUShare && rss[i] >= 0 {
			out[i] = instanceStats{sampled: true, cpu: cpus[i], rss: rss[i], description: out[i].description}
		}
	}
	return out, nil
}

// maxCPUShare bounds the CPU share a tree may report for one process:
// far more cores than any machine has. Also false for NaN.
const maxCPUShare = 1 << 16

// formatCPU writes a share of one CPU as a percentage: 0.125 is "12.5%".
func formatCPU(share float64) string {
	return strconv.FormatFloat(share*100, 'f', 1, 64) + "%"
}

// formatBytes writes n bytes in binary units, to three significant
// digits: "812KiB", "45.3MiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	v := float64(n)
	suffix := "B"
	for _, s := range []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"} {
		if v < unit {
			break
		}
		v /= unit
		suffix = s
	}
	switch {
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64) + suffix
	case v < 100:
		return strconv.FormatFloat(v, 'f', 1, 64) + suffix
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + suffix
}
