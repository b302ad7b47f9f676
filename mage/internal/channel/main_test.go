package channel

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(echoChildEnv); mode != "" {
		os.Exit(runEchoChild(mode))
	}
	goleak.VerifyTestMain(m)
}
