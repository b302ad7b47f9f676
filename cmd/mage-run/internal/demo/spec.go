package demo

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/spec"
)

// EnvRole selects the demo role a process of mage-run's binary plays.
// The other variables configure the roles.
const (
	EnvRole    = "MAGE_RUN_DEMO_ROLE"
	envWorkers = "MAGE_RUN_DEMO_WORKERS"
	envJobs    = "MAGE_RUN_DEMO_JOBS"
	envRate    = "MAGE_RUN_DEMO_RATE"
	envLieTo   = "MAGE_RUN_DEMO_LIE_TO"
)

// The roles.
const (
	RoleParent  = "parent"
	RoleService = "service"
	RoleWorker  = "worker"
)

// Config is what the demo's flags choose.
type Config struct {
	// Exe is the program that plays the roles: mage-run's own binary.
	Exe string
	// Workers is how many workers the parent launches.
	Workers int
	// Jobs is how many jobs each worker does; 0 means until stopped.
	Jobs int
	// Rate caps a worker's jobs a second; 0 means as fast as replies come.
	Rate int
	// Grace is each process's stop timeout.
	Grace time.Duration
	// LieTo names a worker instance the service answers wrongly, to show
	// a failing tree.
	LieTo string
}

// Text returns the demo's spec, as a user would write it.
func (c Config) Text() string {
	exe := strconv.Quote(c.Exe)
	grace := strconv.Quote(c.Grace.String())
	var b strings.Builder
	fmt.Fprintf(&b, `# mage-run's demo tree: a parent, its service, and workers it launches.
process "parent" {
  description  = %q
  command      = [%s]
  env          = { %s = %q, %s = "%d", %s = "%d", %s = "%d" }
  stop_timeout = %s

  process "service" {
    description  = %q
    command      = [%s]
    env          = { %s = %q, %s = %q }
    stop_timeout = %s
  }

  process "worker" {
    description  = %q
    command      = [%s]
    env          = { %s = %q }
    on_demand    = true
    after        = ["service"]
    stop_timeout = %s
  }
}

# The parent talks to its service over this pipe; it reaches each worker
# through the pipe Supervisor.Launch returns.
pipe {
  from = "parent.service"
  to   = "service.parent"
}
`,
		c.describe(RoleParent), exe, EnvRole, RoleParent, envWorkers, c.Workers, envJobs, c.Jobs, envRate, c.Rate, grace,
		c.describe(RoleService), exe, EnvRole, RoleService, envLieTo, c.LieTo, grace,
		c.describe(RoleWorker), exe, EnvRole, RoleWorker, grace)
	return b.String()
}

// Spec returns the demo's spec, parsed.
func (c Config) Spec() (*spec.Spec, error) {
	s, diags := spec.Parse("demo.hcl", []byte(c.Text()))
	if diags.HasErrors() {
		return nil, fmt.Errorf("demo: the built-in spec is invalid: %s", diags.Error())
	}
	return s, nil
}
