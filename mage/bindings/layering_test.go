package bindings_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestRuntimeDoesNotImportBindings keeps the layering of DESIGN.md: the
// runtime carries messages and must build without the bindings, so that
// mage stays the runtime alone.
func TestRuntimeDoesNotImportBindings(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", "github.com/mage-ipc/mage/mage").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 || deps[len(deps)-1] != "github.com/mage-ipc/mage/mage" {
		t.Fatalf("go list -deps printed no runtime package: %q", out)
	}
	for _, dep := range deps {
		if dep == "github.com/mage-ipc/mage/mage/bindings" {
			t.Fatalf("package mage depends on %s", dep)
		}
	}
}
