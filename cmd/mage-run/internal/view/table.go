package view

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/tree"
)

// Counters are the messages an instance's node has sent and received, as
// last read from it.
type Counters struct {
	In, Out uint64
}

// CountersFunc returns the last counters read for an instance's row, and
// whether any were.
type CountersFunc func(r tree.Row) (Counters, bool)

// writeTable writes rows as an aligned table: live for the running view,
// or the summary at the end.
func writeTable(w io.Writer, rows []tree.Row, counters CountersFunc, now time.Time, summary bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if summary {
		fmt.Fprintln(tw, "PROCESS\tRESULT\tRESTARTS\tMSGS IN\tMSGS OUT\tLAST EXIT\tREADY")
	} else {
		fmt.Fprintln(tw, "PROCESS\tPID\tSTATE\tRESTARTS\tUPTIME\tMSGS IN\tMSGS OUT")
	}
	for _, r := range rows {
		name := strings.Repeat("  ", r.Depth) + r.Instance
		in, out := "-", "-"
		if counters != nil {
			if c, ok := counters(r); ok {
				in, out = strconv.FormatUint(c.In, 10), strconv.FormatUint(c.Out, 10)
			}
		}
		if summary {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", name, result(r), r.Restarts, in, out, lastExit(r), readiness(r))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", name, pid(r), state(r), r.Restarts, uptime(r, now), in, out)
	}
	_ = tw.Flush()
}

func pid(r tree.Row) string {
	if r.Pid == 0 {
		return "-"
	}
	return strconv.Itoa(r.Pid)
}

func state(r tree.Row) string {
	switch {
	case r.State == tree.StateEnded:
		return r.Outcome.String()
	case r.State == tree.StateRunning && r.Ready:
		return "ready"
	}
	return r.State.String()
}

// readiness says, in the summary, how long the last run that got ready
// took to, "never" for an instance that ran but was never ready, and "-"
// for one that never ran.
func readiness(r tree.Row) string {
	switch {
	case r.EverReady:
		return "after " + round(r.ReadyAfter)
	case r.LastExit != nil || r.Pid != 0:
		return "never"
	}
	return "-"
}

func round(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func result(r tree.Row) string {
	if r.State != tree.StateEnded {
		return r.State.String()
	}
	return r.Outcome.String()
}

func uptime(r tree.Row, now time.Time) string {
	if r.Since.IsZero() {
		return "-"
	}
	d := now.Sub(r.Since)
	switch {
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}

func lastExit(r tree.Row) string {
	if r.LastExit == nil {
		return "-"
	}
	return r.LastExit.String()
}

// WriteSummary writes the table shown when the tree has ended.
func WriteSummary(w io.Writer, rows []tree.Row, counters CountersFunc) {
	writeTable(w, rows, counters, time.Now(), true)
}
