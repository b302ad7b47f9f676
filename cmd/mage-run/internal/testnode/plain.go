package testnode

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mage-ipc/mage/supervisor"
)

// runPlain runs a role of a process that does not use mage (testnode
// -plain): it never accepts an invitation.
//
//	crash CODE   exit with CODE at once
//	wait         signal readiness, then run until SIGTERM, SIGINT, SIGHUP or SIGUSR1
//	listen [SICK]       serve HTTP on a port of its own choosing, announce
//	                    "listening on ADDR" on stderr, signal readiness, run
//	                    until signalled; /healthz answers 503 while the file
//	                    SICK exists (which it removes as it starts)
//	flap FILE N UPTIME  append a line to FILE; if it then has fewer than N lines,
//	                    run for UPTIME and exit 1, else exit 0 (a run counter
//	                    across restarts)
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
	case "listen":
		return n.listen(args)
	case "flap":
		return n.flap(args)
	case "printenv":
		n.printEnv(args)
		return 0
	case "env":
		n.printEnv(args)
		fallthrough
	case "wait":
		sigs := make(chan os.Signal, 1)
		// Never stopped: mage-run signals the process and its group, so a
		// second signal may follow the first, and must not kill it.
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1)
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

// flap counts its runs in a file: the first N-1 runs each last UPTIME (a
// Go duration) and fail, the Nth succeeds.
func (n *node) flap(args []string) int {
	file, want := arg(args, 0), arg(args, 1)
	limit, err := strconv.Atoi(want)
	uptime, derr := time.ParseDuration(arg(args, 2))
	if err != nil || derr != nil || file == "" {
		fmt.Fprintln(n.stderr, "testnode: flap: want FILE N UPTIME")
		return 2
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintln(n.stderr, "testnode: flap:", err)
		return 2
	}
	defer f.Close()
	fmt.Fprintln(f, "run")
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(n.stderr, "testnode: flap:", err)
		return 2
	}
	runs := strings.Count(string(data), "\n")
	if runs >= limit {
		fmt.Fprintf(n.stderr, "testnode: run %d: done\n", runs)
		return 0
	}
	// How long the run lasts is what the scenario is about, not a wait
	// for something else to happen.
	time.Sleep(uptime)
	fmt.Fprintf(n.stderr, "testnode: run %d: failing after %v\n", runs, uptime)
	return 1
}

// listen serves /healthz on a port the system picks, and says which.
func (n *node) listen(args []string) int {
	sick := arg(args, 0)
	if sick != "" {
		if err := os.Remove(sick); err != nil && !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintln(n.stderr, "testnode: listen:", err)
			return 2
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(n.stderr, "testnode: listen:", err)
		return 2
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if sick != "" {
			if _, err := os.Stat(sick); err == nil {
				http.Error(w, "sick", http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Minute}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	fmt.Fprintf(n.stderr, "testnode: listening on %s\n", l.Addr())
	n.signalReady()
	sigs := make(chan os.Signal, 1)
	// Not stopped either, as in wait.
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-sigs:
	case err := <-done:
		fmt.Fprintln(n.stderr, "testnode: listen:", err)
		return 1
	}
	_ = srv.Close()
	<-done
	return 0
}
