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

// writeTable writes rows as the aligned summary table shown at the end.
func writeTable(w io.Writer, rows []tree.Row, counters CountersFunc) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROCESS\tRESULT\tRESTARTS\tMSGS IN\tMSGS OUT\tLAST EXIT\tREADY\tCPU TIME\tMAX RSS")
	for _, r := range rows {
		name := strings.Repeat("  ", r.Depth) + r.Instance
		in, out := "-", "-"
		if counters != nil {
			if c, ok := counters(r); ok {
				in, out = strconv.FormatUint(c.In, 10), strconv.FormatUint(c.Out, 10)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", name, result(r), r.Restarts, in, out, lastExit(r), readiness(r), cpuTime(r), peakRSS(r))
	}
	_ = tw.Flush()
}

// cpuTime is the CPU time the instance's processes used ("1.25s"), "-"
// when none was sampled.
func cpuTime(r tree.Row) string {
	if !r.HasUsage {
		return "-"
	}
	return r.CPUTime.Round(10 * time.Millisecond).String()
}

// peakRSS is the largest resident memory a sample of the instance's
// processes saw, as rss spells it; "-" when none was sampled.
func peakRSS(r tree.Row) string {
	if !r.HasUsage {
		return "-"
	}
	return bytesText(r.PeakRSS)
}

// cpu is the share of one CPU the process used over the last sample, as
// a percentage ("12.5%"; above 100% on several cores); "-" unsampled.
func cpu(r tree.Row) string {
	if !r.HasStats {
		return "-"
	}
	return strconv.FormatFloat(r.CPU*100, 'f', 1, 64) + "%"
}

// rss is the process's resident memory at the last sample, in binary
// units ("512K", "12.4M", "1.1G"); "-" unsampled.
func rss(r tree.Row) string {
	if !r.HasStats {
		return "-"
	}
	return bytesText(r.RSS)
}

func bytesText(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + "B"
	}
	v, suffix := float64(n)/unit, "K"
	for _, s := range []string{"M", "G", "T"} {
		if v < unit {
			break
		}
		v, suffix = v/unit, s
	}
	if v < 10 {
		return strconv.FormatFloat(v, 'f', 1, 64) + suffix
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + suffix
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
	writeTable(w, rows, counters)
}
