package launcher_test

import (
	"context"
	"os/exec"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/launcher"
	"github.com/mage-ipc/mage/mage"
)

// A parent starts a network process with one pipe, "net", sends it a
// request, and stops it politely. The child calls invitation.Accept in its
// main and finds the other end of "net" there.
func Example() {
	ctx := context.Background()
	logger := hclog.New(&hclog.LoggerOptions{Name: "browser"})

	child, err := launcher.Start(ctx, exec.Command("./netproc"), launcher.Options{
		Name:          "netproc",
		Pipes:         []string{"net"},
		Logger:        logger,
		CaptureStderr: true,
		OnExit: func(e launcher.Exit) {
			logger.Info("network process gone", "exit", e.String())
		},
	})
	if err != nil {
		// A *launcher.StartError: the exit status and the last lines of the
		// child's stderr are in the message. The child has been reaped.
		logger.Error("network process did not start", "error", err)
		return
	}

	net, _ := child.Pipe("net")
	if err := net.WriteMessage(&mage.Message{Payload: []byte("https://example.com")}); err != nil {
		logger.Error("request not sent", "error", err)
	}

	// Close the connection and send SIGTERM; SIGKILL after five seconds.
	_ = child.Stop(5 * time.Second)
	logger.Info("stopped", "exit", child.Wait().String())
}
