package main

import (
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/mage-ipc/mage/invitation"
)

func TestMain(m *testing.M) {
	// The example re-executes its own binary as the network process; under
	// test that binary is the test binary.
	if _, invited := os.LookupEnv(invitation.EnvVar); invited {
		os.Exit(run(os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}

func TestExample(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run(&stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{
		"fetched /index.html: status 200, 500 bytes",
		"fetched /missing: status 404",
		"network process exited cleanly",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
}
