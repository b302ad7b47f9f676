package testnode

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/mage-ipc/mage/supervisor"
)

// runPlain runs a role of a process that does not use mage (testnode
// -plain): it never accepts an invitation.
//
//	crash CODE   exit with CODE at once
//	wait         signal readiness, then run until SIGTERM, SIGINT, SIGHUP or SIGUSR1
//	printenv NAME...  print NAME=value for each variable (or NAME unset), and exit 0
//	env NAME...       printenv, then wait
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
	case "printenv":
		n.printEnv(args)
		return 0
	case "env":
		n.printEnv(args)
		fallthrough
	case "wait":
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1)
		defer signal.Stop(sigs)
		n.signalReady()
		sig := <-sigs
		fmt.Fprintf(n.stderr, "testnode: %s stopped by %s\n", os.Getenv(supervisor.EnvInstance), unix.SignalName(sig.(syscall.Signal)))
		return 0
	}
	fmt.Fprintf(n.stderr, "testnode: unknown plain role %q\n", role)
	return 2
}

// printEnv prints NAME=value, or NAME unset, for each name, one a line.
func (n *node) printEnv(names []string) {
	for _, name := range names {
		if v, ok := os.LookupEnv(name); ok {
			fmt.Fprintf(n.stdout, "%s=%s\n", name, v)
		} else {
			fmt.Fprintf(n.stdout, "%s unset\n", name)
		}
	}
}
