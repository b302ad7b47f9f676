// Command hostilechild is the hostile child as a program of its own, for
// the scenarios that run it under mage-run (testdata/scripts-hostile): it
// accepts its invitation from the environment and runs the attack named
// by MAGE_HOSTILE_MODE (see package hostile).
package main

import (
	"os"

	"github.com/mage-ipc/mage/mage/internal/hostile"
)

func main() { os.Exit(hostile.Main()) }
