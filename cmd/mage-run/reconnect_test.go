package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/reconnectnode"
)

// envReconnectNode names the copy of this test binary that plays
// reconnectnode in the scenarios of testdata/scripts-reconnect: run with
// it set, the binary is that program, before TestMain.
const envReconnectNode = "RECONNECTNODE"

// envReconnectRole marks a run of this binary as reconnectnode.
const envReconnectRole = "RECONNECTNODE_ROLE"

func init() {
	if os.Getenv(envReconnectRole) != "" {
		os.Exit(reconnectnode.Main(os.Args[1:], os.Stdout, os.Stderr))
	}
}

// TestReconnectScripts runs the scenarios of a reconnecting Remote under
// mage-run: a process started by mage-run re-executes this test binary as
// reconnectnode (its path is in $RECONNECTNODE).
func TestReconnectScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/scripts-reconnect",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			// A wrapper sets the role, so that the spec's command is a
			// plain program name.
			wrapper := filepath.Join(env.WorkDir, "reconnectnode")
			script := "#!/bin/sh\n" + envReconnectRole + "=1 exec " + quote(os.Args[0]) + " \"$@\"\n"
			if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
				return err
			}
			env.Setenv(envReconnectNode, wrapper)
			env.Setenv("GORACE", "atexit_sleep_ms=0")
			return nil
		},
	})
}

// quote quotes s for sh.
func quote(s string) string {
	out := "'"
	for _, r := range s {
		if r == '\'' {
			out += `'\''`
			continue
		}
		out += string(r)
	}
	return out + "'"
}
