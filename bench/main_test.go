package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain lets the test binary serve as every child: the harness
// re-executes os.Executable, which under go test is this binary.
func TestMain(m *testing.M) {
	if role, ok := os.LookupEnv(envChild); ok {
		os.Exit(childMain(role))
	}
	goleak.VerifyTestMain(m)
}
