package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestHostileScripts runs the scenarios of testdata/scripts-hostile: a
// hostile child (mage/internal/hostile, built here as the program
// "hostilechild") that speaks the wire by hand inside a tree mage-run
// supervises next to healthy processes. The package is internal to mage/,
// so the program is built from source rather than linked into this test
// binary.
func TestHostileScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program with the go command")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	bin := t.TempDir()
	build := exec.Command(goTool, "build", "-o", filepath.Join(bin, "hostilechild"), "github.com/mage-ipc/mage/mage/internal/hostile/hostilechild")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the hostile child: %v\n%s", err, out)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/scripts-hostile",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", bin+string(os.PathListSeparator)+env.Getenv("PATH"))
			env.Setenv("GORACE", "atexit_sleep_ms=0")
			return nil
		},
	})
}
