package tree

import (
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/testnode"
)

// envTestNode makes this test binary play testnode, for the processes of
// the trees the tests run.
const envTestNode = "TREE_TEST_NODE"

func TestMain(m *testing.M) {
	if os.Getenv(envTestNode) != "" {
		os.Exit(testnode.Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	if role := os.Getenv(envStatsChild); role != "" {
		os.Exit(statsChild(role))
	}
	// A child built with -race sleeps a second before exiting, for late
	// reports; these children report without it.
	if err := os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")); err != nil {
		panic(err)
	}
	// lumberjack v2.2.1 never ends the goroutine it starts for a log
	// file (natefinch/lumberjack#56); see logFile.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("gopkg.in/natefinch/lumberjack%2ev2.(*Logger).millRun"))
}
