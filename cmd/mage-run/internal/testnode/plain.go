package testnode

import (
	"fmt"
	"os"
	"strconv"

	"github.com/mage-ipc/mage/supervisor"
)

// runPlain runs a role of a process that does not use mage (testnode
// -plain): it never accepts an invitation.
//
//	crash CODE   exit with CODE at once
//	wait         signal readiness, then run until SIGTERM or SIGINT
//	env NAME...  print NAME=value for each variable (or NAME unset), then wait
func (n *node) runPlain(role string, args []string) int {
	switch role {
	case "crash":
		code, err := strconv.Atoi(arg(args, 0))
		if err != nil {
			fmt.Fprintln(n.stderr, "testnode: crash: want an exit code")
			return 2
		}
		fmt.Fprintf(n.stderr, "testnode: exiting with status %d\n", code)
		return code
	case "env":
		for _, name := range args {
			if v, ok := os.LookupEnv(name); ok {
				fmt.Fprintf(n.stdout, "%s=%s\n", name, v)
			} else {
				fmt.Fprintf(n.stdout, "%s unset\n", name)
			}
		}
		fallthrough
	case "wait":
		n.signalReady()
		<-n.stopCtx.Done()
		fmt.Fprintf(n.stderr, "testnode: %s stopped\n", os.Getenv(supervisor.EnvInstance))
		return 0
	}
	fmt.Fprintf(n.stderr, "testnode: unknown plain role %q\n", role)
	return 2
}
