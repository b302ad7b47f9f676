package launcher_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/launcher"
	"github.com/mage-ipc/mage/mage"
)

// A parent starts a child with one pipe, "ctl", sends it a request, reads
// the answer and lets the child end by closing the pipe. The child calls
// invitation.Accept in its main and finds the other end of "ctl" there.
// Here the child is this test binary re-executed in its "echo" mode (see
// TestMain); in a program it would be exec.Command("./netproc"). To stop a
// child that does not end by itself, call Stop(grace): it closes the
// connection and sends SIGTERM, then SIGKILL after the grace.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logger := hclog.NewNullLogger() // a program passes its own

	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), modeEnv+"=echo", "GORACE=atexit_sleep_ms=0")
	child, err := launcher.Start(ctx, cmd, launcher.Options{
		Name:          "echo",
		Pipes:         []string{"ctl"},
		Logger:        logger,
		CaptureStderr: true,
		OnExit: func(e launcher.Exit) {
			logger.Info("child gone", "exit", e.String())
		},
	})
	if err != nil {
		// A *launcher.StartError: the exit status and the last lines of the
		// child's stderr are in the message. The child has been reaped.
		fmt.Println(err)
		return
	}

	ctl, _ := child.Pipe("ctl")
	if err := ctl.WriteMessage(&mage.Message{Payload: []byte("hello")}); err != nil {
		fmt.Println(err)
	}
	m, err := readMessage(ctx, ctl)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(m.Payload))

	_ = ctl.Close() // the echo child exits once its pipe closes
	fmt.Println("success:", child.Wait().Success())
	// Output:
	// echo:hello
	// success: true
}
