package main

import (
	"bufio"
	"flag"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

var updateScripts = flag.Bool("update-scripts", false, "rewrite the expected files of failing cmp commands in testdata/scripts")

// readyTimeout bounds waitready: a scenario whose processes never get
// ready fails instead of hanging.
const readyTimeout = 2 * time.Minute

// TestScripts runs the scenarios in testdata/scripts, each with mage-run
// and testnode (this test binary, see TestMain) on its PATH.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/scripts",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *updateScripts,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"mkfifo":    cmdMkfifo,
			"waitready": cmdWaitReady,
		},
	})
}

// cmdMkfifo makes named pipes: mkfifo NAME...
func cmdMkfifo(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: mkfifo NAME...")
	}
	for _, name := range args {
		ts.Check(syscall.Mkfifo(ts.MkAbs(name), 0o600))
	}
}

// cmdWaitReady waits until N lines "ready INSTANCE" have been written to
// the named pipe NAME: waitready NAME N. The processes of a scenario
// write them (testnode -ready, mage-run --notify-ready) once set up, so
// a script goes on when they are, never after a guessed delay.
func cmdWaitReady(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitready NAME N")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	// Opened for writing too, so that reading waits for writers rather
	// than seeing the end of the file before the first one comes.
	f, err := os.OpenFile(ts.MkAbs(args[0]), os.O_RDWR, 0)
	ts.Check(err)
	defer f.Close()
	ts.Check(f.SetReadDeadline(time.Now().Add(readyTimeout)))
	r := bufio.NewReader(f)
	for got := 0; got < want; {
		line, err := r.ReadString('\n')
		if err != nil {
			ts.Fatalf("waitready %s: %d of %d ready: %v", args[0], got, want, err)
		}
		if strings.HasPrefix(line, "ready") {
			got++
			ts.Logf("%s", strings.TrimSpace(line))
		}
	}
}
