package demo

import (
	"fmt"
	"time"
)

// describe says what a process of role does, for its description in the
// spec.
func (c Config) describe(role string) string {
	switch role {
	case RoleParent:
		return fmt.Sprintf("launches %s on demand and hands each a Calculator pipe to the service", plural(c.Workers, "worker"))
	case RoleService:
		return "answers Calculator.Square for every worker, on the pipes the parent handed it"
	case RoleWorker:
		pace := "as fast as the replies come"
		if c.Rate > 0 {
			pace = fmt.Sprintf("up to %d times a second", c.Rate)
		}
		return "calls Square (with a reply) " + pace + " and checks every answer"
	}
	return ""
}

// About explains the demo in a few lines, for the top of the screen:
// its processes, the calls between them, restarts, and how it ends.
// stopAfter is when mage-run stops the tree (0: it does not).
func (c Config) About(stopAfter time.Duration) []string {
	lines := []string{
		fmt.Sprintf("mage-run demo: this binary in three roles, a tree of a parent, a service and %s.", plural(c.Workers, "worker")),
		"  parent   " + c.describe(RoleParent),
		"  service  " + c.describe(RoleService),
		"  worker   " + c.describe(RoleWorker),
		"Calls: the parent reaches the service over the pipe the spec declares (parent.service to",
		"  service.parent; see --print-spec) and each worker over the pipe Launch returned; workers",
		"  call the service directly. MSGS counts the messages; workers and the service log their",
		"  calls every second.",
		"Restarts: mage-run restarts a parent or service that fails (policy on-failure; RESTARTS",
		"  counts them); a worker, launched on demand, is never restarted.",
	}
	switch {
	case c.Jobs > 0:
		lines = append(lines, fmt.Sprintf("It ends by itself once every worker has had %s answered.", plural(c.Jobs, "job")))
	case stopAfter > 0:
		lines = append(lines, fmt.Sprintf("It runs for %s, then mage-run stops it in order.", stopAfter))
	default:
		lines = append(lines, "It runs until you stop it.")
	}
	lines = append(lines, "Ctrl-C stops it in order, workers first; a second Ctrl-C kills every process.")
	return lines
}

// plural writes n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
