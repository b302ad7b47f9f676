package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"
)

// printSummary prints a table of every process started: pid, how it ended,
// the messages it sent and received on its pipe to its sibling (as it
// reported them), and its result.
func (d *demo) printSummary() {
	d.say("")
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROCESS\tPID\tEXIT\tMSGS OUT\tMSGS IN\tRESULT")
	for _, p := range d.procs {
		exit := "running"
		if p.exit != nil {
			exit = p.exit.String()
		}
		out, in := "-", "-"
		if p.report != nil {
			if p.worker == 0 {
				out, in = strconv.Itoa(p.report[1]), strconv.Itoa(p.report[0])
			} else {
				out, in = strconv.Itoa(p.report[0]), strconv.Itoa(p.report[1])
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", p.label, p.child.Pid(), exit, out, in, d.result(p))
	}
	_ = tw.Flush()
}

// result says in a word or two how p did.
func (d *demo) result(p *demoProc) string {
	switch {
	case p.succeeded(d.cfg):
		return "ok"
	case p.reportErr != nil || p.report == nil:
		return "no report"
	case p.worker > 0 && p.report[2] > 0:
		return fmt.Sprintf("%d wrong answers", p.report[2])
	}
	return "failed"
}
